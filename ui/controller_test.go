package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/localapi/client"
	"github.com/rayfish/rayfish/ui/state"
	"github.com/rayfish/rayfish/ui/uitest"
)

func newTestController(t *testing.T, f *uitest.FakeClient, start func(context.Context) error) (*Controller, *uitest.Queue) {
	t.Helper()
	q := uitest.NewQueue()
	c := New(Config{
		Client:      f,
		AppVersion:  "1.0.0",
		Dispatch:    q.Dispatch,
		StartDaemon: start,
		// Reconnects happen only when the test calls Reconnect.
		MinBackoff: time.Hour,
	})
	t.Cleanup(func() {
		c.Close()
		c.Close() // idempotent
	})
	return c, q
}

func snap(st string) apitype.WatchEvent {
	return apitype.WatchEvent{Type: apitype.EventSnapshot, Status: &apitype.Status{
		Version: "1.0.0",
		State:   st,
		Self:    apitype.Self{ID: "self", Hostname: "laptop", IPv4: netip.MustParseAddr("100.64.0.1")},
	}}
}

// connect starts c and feeds it a snapshot with the given state.
func connect(t *testing.T, c *Controller, f *uitest.FakeClient, q *uitest.Queue, st string) {
	t.Helper()
	c.Start()
	f.WaitCall(t, "Version")
	f.WaitCall(t, "Watch")
	f.Send(snap(st))
	q.RunUntil(t, func() bool { return c.Model().DaemonReachable() })
}

func TestWatchAppliesEvents(t *testing.T) {
	f := uitest.NewFakeClient()
	f.SetVersion(apitype.Version{Version: "1.1.0", APIVersion: apitype.APIVersion})
	c, q := newTestController(t, f, nil)
	var changes int
	c.OnChange(func(*state.Model) { changes++ })
	c.Start()
	c.Start() // a second Start does nothing
	f.WaitCall(t, "Version")
	f.WaitCall(t, "Watch")

	f.Send(snap(apitype.StateDown))
	q.RunNext(t)
	m := c.Model()
	if m.Conn() != state.Disconnected || changes != 1 {
		t.Fatalf("after snapshot: Conn=%v changes=%d", m.Conn(), changes)
	}
	if v, ok := m.DaemonVersion(); !ok || v.Version != "1.1.0" {
		t.Errorf("daemon version = %+v, %v; want the Version answer", v, ok)
	}
	if !m.VersionMismatch() {
		t.Error("app 1.0.0 with daemon 1.1.0: no mismatch shown")
	}

	f.Send(apitype.WatchEvent{Type: apitype.EventState, State: apitype.StateUp})
	q.RunNext(t)
	if m.Conn() != state.Connected || changes != 2 {
		t.Fatalf("after state event: Conn=%v changes=%d", m.Conn(), changes)
	}
	f.NoCall(t)
}

func TestReconnectAfterDaemonGone(t *testing.T) {
	f := uitest.NewFakeClient()
	c, q := newTestController(t, f, nil)
	connect(t, c, f, q, apitype.StateUp)

	// The daemon exits: the stream ends, the model says so.
	f.SetDown(true)
	f.EndWatch(io.EOF)
	q.RunNext(t)
	m := c.Model()
	if m.Conn() != state.DaemonUnavailable {
		t.Fatalf("Conn = %v after stream end", m.Conn())
	}
	if n := m.TakeNotices(); len(n) != 1 || n[0].Kind != state.NoticeDaemonStopped {
		t.Errorf("notices = %+v", n)
	}

	// A reconnect attempt while it is still down keeps it unavailable.
	c.Reconnect()
	f.WaitCall(t, "Version")
	q.RunNext(t)
	if m.Conn() != state.DaemonUnavailable || !strings.Contains(m.LastError(), "not running") {
		t.Fatalf("Conn = %v, err %q", m.Conn(), m.LastError())
	}

	// It comes back.
	f.SetDown(false)
	c.Reconnect()
	f.WaitCall(t, "Version")
	f.WaitCall(t, "Watch")
	f.Send(snap(apitype.StateDown))
	q.RunNext(t)
	if m.Conn() != state.Disconnected {
		t.Fatalf("Conn = %v after daemon came back", m.Conn())
	}
}

func TestWatchAPIErrorIsError(t *testing.T) {
	f := uitest.NewFakeClient()
	f.SetErr("Watch", &client.APIError{Status: 403, Message: "access denied"})
	c, q := newTestController(t, f, nil)
	c.Start()
	f.WaitCall(t, "Version")
	f.WaitCall(t, "Watch")
	q.RunNext(t)
	if c.Model().Conn() != state.Error || c.Model().LastError() != "access denied" {
		t.Fatalf("Conn=%v err=%q", c.Model().Conn(), c.Model().LastError())
	}
}

func TestIntents(t *testing.T) {
	tests := []struct {
		name   string
		do     func(c *Controller, done func(error))
		method string
		args   []any
	}{
		{"up", func(c *Controller, done func(error)) { c.Up(done) }, "Up", nil},
		{"down", func(c *Controller, done func(error)) { c.Down(done) }, "Down", nil},
		{"leave", func(c *Controller, done func(error)) { c.Leave("home", done) }, "Leave", []any{"home"}},
		{"accept", func(c *Controller, done func(error)) { c.Accept("home", "n1", done) }, "Accept", []any{"home", "n1"}},
		{"deny", func(c *Controller, done func(error)) { c.Deny("home", "n1", done) }, "Deny", []any{"home", "n1"}},
		{"create", func(c *Controller, done func(error)) {
			c.Create(apitype.CreateRequest{Name: "lab", Open: true}, func(_ apitype.Network, err error) { done(err) })
		}, "Create", []any{apitype.CreateRequest{Name: "lab", Open: true}}},
		{"invite", func(c *Controller, done func(error)) {
			c.Invite(apitype.InviteRequest{Network: "home"}, func(_ apitype.InviteResponse, err error) { done(err) })
		}, "Invite", []any{apitype.InviteRequest{Network: "home"}}},
		{"join", func(c *Controller, done func(error)) {
			c.Join(apitype.JoinRequestBody{Code: "abc"}, func(_ apitype.JoinResponse, err error) { done(err) })
		}, "Join", []any{apitype.JoinRequestBody{Code: "abc"}}},
		{"set prefs", func(c *Controller, done func(error)) {
			c.SetPrefs(apitype.Prefs{Operator: "me"}, func(_ apitype.Prefs, err error) { done(err) })
		}, "SetPrefs", []any{apitype.Prefs{Operator: "me"}}},
		{"prefs", func(c *Controller, done func(error)) {
			c.Prefs(func(_ apitype.Prefs, err error) { done(err) })
		}, "Prefs", nil},
		{"use exit node", func(c *Controller, done func(error)) { c.UseExitNode("k7gw", done) }, "UseExitNode", []any{"k7gw"}},
		{"exit node off", func(c *Controller, done func(error)) { c.UseExitNode("", done) }, "UseExitNode", []any{""}},
	}
	for _, tt := range tests {
		for _, fail := range []bool{false, true} {
			name := tt.name
			if fail {
				name += " fails"
			}
			t.Run(name, func(t *testing.T) {
				f := uitest.NewFakeClient()
				c, q := newTestController(t, f, nil)
				wantErr := error(nil)
				if fail {
					wantErr = &client.APIError{Status: 400, Message: tt.method + " refused"}
					f.SetErr(tt.method, wantErr)
				}
				var got error
				called := false
				tt.do(c, func(err error) { got, called = err, true })
				call := f.WaitCall(t, tt.method)
				if !reflect.DeepEqual(call.Args, tt.args) {
					t.Errorf("args = %v, want %v", call.Args, tt.args)
				}
				q.RunUntil(t, func() bool { return called })
				if got != wantErr {
					t.Errorf("done(%v), want %v", got, wantErr)
				}
				if fail && c.Model().LastError() != tt.method+" refused" {
					t.Errorf("LastError = %q", c.Model().LastError())
				}
			})
		}
	}
}

func TestUpShowsConnecting(t *testing.T) {
	f := uitest.NewFakeClient()
	c, q := newTestController(t, f, nil)
	connect(t, c, f, q, apitype.StateDown)
	m := c.Model()

	f.SetErr("Up", errors.New("no tun device"))
	done := false
	c.Up(func(error) { done = true })
	if m.Conn() != state.Connecting || m.CanConnect() {
		t.Fatalf("right after Up: Conn=%v CanConnect=%v", m.Conn(), m.CanConnect())
	}
	f.WaitCall(t, "Up")
	q.RunUntil(t, func() bool { return done })
	if m.Conn() != state.Disconnected || !m.CanConnect() || m.LastError() != "no tun device" {
		t.Fatalf("after failed Up: Conn=%v CanConnect=%v err=%q", m.Conn(), m.CanConnect(), m.LastError())
	}

	f.SetErr("Up", nil)
	done = false
	c.Up(func(error) { done = true })
	f.WaitCall(t, "Up")
	q.RunUntil(t, func() bool { return done })
	if m.Conn() != state.Connecting {
		t.Fatalf("Up succeeded but no state event yet: Conn=%v", m.Conn())
	}
	f.Send(apitype.WatchEvent{Type: apitype.EventState, State: apitype.StateUp})
	q.RunNext(t)
	if m.Conn() != state.Connected {
		t.Fatalf("after state event: Conn=%v", m.Conn())
	}
}

func TestPing(t *testing.T) {
	f := uitest.NewFakeClient()
	f.SetPingReplies([]apitype.PingReply{{Seq: 1, RTTMs: 3}, {Seq: 2, Error: "timeout"}, {Seq: 3, RTTMs: 4}})
	c, q := newTestController(t, f, nil)
	var replies []apitype.PingReply
	done := false
	c.Ping("nas", func(r apitype.PingReply) { replies = append(replies, r) }, func(err error) {
		if err != nil {
			t.Errorf("ping: %v", err)
		}
		done = true
	})
	call := f.WaitCall(t, "Ping")
	if req := call.Args[0].(apitype.PingRequest); req.Peer != "nas" || req.Count != PingCount {
		t.Errorf("ping request = %+v", req)
	}
	q.RunUntil(t, func() bool { return done })
	if len(replies) != 3 || replies[1].Error != "timeout" {
		t.Errorf("replies = %+v", replies)
	}
}

func TestStartDaemonReconnects(t *testing.T) {
	f := uitest.NewFakeClient()
	f.SetDown(true)
	started := make(chan struct{}, 1)
	c, q := newTestController(t, f, func(context.Context) error {
		f.SetDown(false)
		started <- struct{}{}
		return nil
	})
	c.Start()
	f.WaitCall(t, "Version")
	q.RunNext(t)
	if c.Model().Conn() != state.DaemonUnavailable {
		t.Fatalf("Conn = %v", c.Model().Conn())
	}
	c.StartDaemon(nil)
	<-started
	// The backoff is an hour: only the kick from StartDaemon brings this.
	f.WaitCall(t, "Version")
	f.WaitCall(t, "Watch")
	f.Send(snap(apitype.StateUp))
	q.RunUntil(t, func() bool { return c.Model().Conn() == state.Connected })
}

func TestStartDaemonError(t *testing.T) {
	f := uitest.NewFakeClient()
	c, q := newTestController(t, f, func(context.Context) error { return errors.New("pkexec: dismissed") })
	var got error
	done := false
	c.StartDaemon(func(err error) { got, done = err, true })
	q.RunUntil(t, func() bool { return done })
	if got == nil || got.Error() != "start the rayfish daemon: pkexec: dismissed" {
		t.Errorf("err = %v", got)
	}
}

func TestIntentAfterClose(t *testing.T) {
	f := uitest.NewFakeClient()
	c, _ := newTestController(t, f, nil)
	c.Start()
	f.WaitCall(t, "Version")
	f.WaitCall(t, "Watch")
	c.Close()
	var got error
	c.Leave("home", func(err error) { got = err })
	if !errors.Is(got, ErrClosed) {
		t.Errorf("err = %v, want ErrClosed", got)
	}
	f.NoCall(t)
}

func TestSocketPath(t *testing.T) {
	t.Setenv(SocketEnv, "")
	if got := SocketPath(""); got != DefaultSocket {
		t.Errorf("default = %q", got)
	}
	t.Setenv(SocketEnv, "/tmp/env.sock")
	if got := SocketPath(""); got != "/tmp/env.sock" {
		t.Errorf("env = %q", got)
	}
	if got := SocketPath("/tmp/flag.sock"); got != "/tmp/flag.sock" {
		t.Errorf("flag = %q", got)
	}
}

// TestWatchBurstOneRedraw: a burst of events (every peer's counters each
// second) that arrives before the UI goroutine runs is applied in order by
// one drain, which tells the listeners once.
func TestWatchBurstOneRedraw(t *testing.T) {
	f := uitest.NewFakeClient()
	f.SetVersion(apitype.Version{Version: "1.0.0", APIVersion: apitype.APIVersion})
	c, q := newTestController(t, f, nil)
	connect(t, c, f, q, apitype.StateUp)
	changes := 0
	c.OnChange(func(*state.Model) { changes++ })
	const n = 50
	for i := range n {
		f.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &apitype.Peer{ID: fmt.Sprintf("p%02d", i), RxBytes: 1}})
	}
	f.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &apitype.Peer{ID: "p00", RxBytes: 2}}) // a later change of p00
	deadline := time.Now().Add(uitest.Timeout)
	for {
		c.evMu.Lock()
		queued := len(c.evs)
		c.evMu.Unlock()
		if queued == n+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events queued, want %d", queued, n+1)
		}
		time.Sleep(time.Millisecond)
	}
	q.RunNext(t)
	if changes != 1 || len(c.Model().Peers()) != n {
		t.Fatalf("%d listener calls, %d peers; want 1 and %d", changes, len(c.Model().Peers()), n)
	}
	if p, _ := c.Model().Peer("p00"); p.RxBytes != 2 {
		t.Errorf("events applied out of order: p00 has %d bytes", p.RxBytes)
	}
}

// TestBusyUntilApplied: an intent counts as busy until its result has run
// on the UI goroutine, not merely until it was handed to Dispatch. A
// headless renderer that waited for !Busy() with an empty queue could
// otherwise take the callback, still see the intent busy and wait for a
// callback that never came (TestCapture's "wait for the window to settle").
func TestBusyUntilApplied(t *testing.T) {
	f := uitest.NewFakeClient()
	ch := make(chan func(), 4)
	c := New(Config{Client: f, AppVersion: "1.0.0", Dispatch: func(fn func()) { ch <- fn }, MinBackoff: time.Hour})
	applied := false
	c.Firewall(func(apitype.FirewallState, error) { applied = true })
	var fn func()
	select {
	case fn = <-ch:
	case <-time.After(uitest.Timeout):
		t.Fatal("the firewall answer was never dispatched")
	}
	c.Close() // waits for the call's goroutine to return
	if !c.Busy() {
		t.Fatal("Busy() false while the answer waits in the UI queue")
	}
	fn()
	if !applied {
		t.Fatal("the dispatched function did not apply the answer")
	}
	if c.Busy() {
		t.Fatal("Busy() still true after the answer was applied")
	}
}
