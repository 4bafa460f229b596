package localapi_test

import (
	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/localapi"
)

var _ localapi.Backend = (*engine.Engine)(nil)

var _ localapi.RouteBackend = (*engine.Engine)(nil)
