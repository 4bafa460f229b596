// Package loopnode starts in-process engines for tests: loopback UDP, a
// fake TUN, no LAN discovery, stopped when the test ends; ServeAPI serves
// one's local API on a unix socket.
package loopnode

import (
	"testing"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/localapi"
	"github.com/rayfish/rayfish/platform/ipc"
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

// ServeAPI serves e's local API on a unix socket at path, as `ray daemon`
// does, until the test ends; then it stops the server and closes e.
func ServeAPI(t testing.TB, e *engine.Engine, path string) {
	t.Helper()
	ln, err := ipc.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := localapi.New(e, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
		e.Close()
	})
}
