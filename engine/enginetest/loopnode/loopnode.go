// Package loopnode starts in-process engines for tests: loopback UDP, a
// fake TUN, no LAN discovery, stopped when the test ends.
package loopnode

import (
	"testing"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/enginetest"
)

// Start starts an engine named hostname with state in dir and tun as its
// TUN device. The caller closes it (Close is idempotent).
func Start(t testing.TB, dir, hostname string, tun *enginetest.TUN) *engine.Engine {
	t.Helper()
	var e *engine.Engine
	e, err := engine.New(engine.LoopbackConfig(dir, hostname, tun, &e))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	return e
}
