package netmap

import "errors"

// ErrJoinPending is returned while a join request waits for an admin.
var ErrJoinPending = errors.New("join request is waiting for an admin's approval")
