package relay

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
)

// stateLog records a Conn's state reports.
type stateLog struct {
	ch chan stateReport
}

type stateReport struct {
	s   State
	err error
}

func newStateLog() *stateLog { return &stateLog{ch: make(chan stateReport, 1000)} }

func (l *stateLog) onState(s State, err error) { l.ch <- stateReport{s, err} }

// wait returns the first report of state want within timeout.
func (l *stateLog) wait(t *testing.T, want State, timeout time.Duration) stateReport {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case r := <-l.ch:
			if r.s == want {
				return r
			}
		case <-deadline:
			t.Fatalf("no %v state within %v", want, timeout)
		}
	}
}

func newTestConn(t *testing.T, url string, k key.NodePrivate, opts ConnOptions) (*Conn, *stateLog) {
	t.Helper()
	log := newStateLog()
	opts.OnState = log.onState
	opts.ClientOptions = clientOpts(url, opts.ClientOptions)
	c := NewConn(url, k, opts)
	t.Cleanup(func() { c.Close() })
	return c, log
}

func TestConnExchange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, url := testServer(t, ServerConfig{})
		a, b := key.NewNode(), key.NewNode()
		ib := newInbox()
		ca, la := newTestConn(t, url, a, ConnOptions{ClientOptions: slowOpts(url, ClientOptions{})})
		_, lb := newTestConn(t, url, b, ConnOptions{ClientOptions: ib.options()})
		la.wait(t, StateConnected, 5*time.Second)
		lb.wait(t, StateConnected, 5*time.Second)
		if err := ca.Send(b.Public(), []byte("managed")); err != nil {
			t.Fatal(err)
		}
		ib.expectPacket(t, a.Public(), "managed")
		enginetest.WaitFor(t, 5*time.Second, "a latency measurement", func() bool { return ca.Latency() > 0 })
		if ca.State() != StateConnected || ca.URL() != url {
			t.Errorf("State %v URL %q", ca.State(), ca.URL())
		}

		ca.Close()
		if r := la.wait(t, StateClosed, time.Second); r.err != nil {
			t.Errorf("closed with %v", r.err)
		}
		if err := ca.Send(b.Public(), []byte("x")); !errors.Is(err, ErrNotConnected) {
			t.Errorf("Send after Close: %v, want ErrNotConnected", err)
		}
		ca.Close() // idempotent
	})
}

func TestConnReconnectsAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, url := newLab(t)
		s1 := NewServer(ServerConfig{})
		served := make(chan error, 1)
		ln := l.listen(t)
		go func() { served <- s1.Serve(ln) }()

		a, b := key.NewNode(), key.NewNode()
		ib := newInbox()
		ca, la := newTestConn(t, url, a, ConnOptions{})
		_, lb := newTestConn(t, url, b, ConnOptions{ClientOptions: ib.options()})
		la.wait(t, StateConnected, 5*time.Second)
		lb.wait(t, StateConnected, 5*time.Second)

		s1.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve returned %v", err)
		}
		if r := la.wait(t, StateConnecting, 5*time.Second); r.err == nil {
			t.Error("lost connection reported without a reason")
		}
		if err := ca.Send(b.Public(), []byte("x")); !errors.Is(err, ErrNotConnected) {
			t.Errorf("Send while down: %v, want ErrNotConnected", err)
		}
		// Stay down long enough for the backoff to grow to its cap.
		time.Sleep(1500 * time.Millisecond)

		restarted := time.Now()
		serveOn(t, l.listen(t), ServerConfig{})
		la.wait(t, StateConnected, 5*time.Second)
		lb.wait(t, StateConnected, 5*time.Second)
		if d := time.Since(restarted); d > 5*time.Second {
			t.Errorf("reconnected %v after the restart, want within 5 s", d)
		}
		if err := ca.Send(b.Public(), []byte("after restart")); err != nil {
			t.Fatal(err)
		}
		ib.expectPacket(t, a.Public(), "after restart")
	})
}

func TestConnRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{Allow: func(key.NodePublic) bool { return false }})
		c, log := newTestConn(t, url, key.NewNode(), ConnOptions{RefusedBackoff: time.Hour})
		r := log.wait(t, StateConnecting, 5*time.Second)
		var se *ServerError
		if !errors.As(r.err, &se) {
			t.Fatalf("refusal reported as %v, want a ServerError", r.err)
		}
		// The refused node waits RefusedBackoff instead of hammering.
		time.Sleep(time.Minute) // virtual time
		if n := s.Stats().AuthFailures; n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
		start := time.Now()
		c.Close() // interrupts the wait
		if d := time.Since(start); d > time.Second {
			t.Errorf("Close took %v", d)
		}
	})
}

// silentRelay completes handshakes and then ignores everything, like a
// relay whose process hangs.
func silentRelay(t *testing.T) string {
	t.Helper()
	l, url := newLab(t)
	ln := l.listen(t)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			br := bufio.NewReader(c)
			if _, err := http.ReadRequest(br); err != nil {
				continue
			}
			c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: rayfish-relay\r\nConnection: Upgrade\r\n\r\n"))
			challenge := newChallenge()
			writeTestFrame(c, FrameServerChallenge, challenge)
			if _, _, err := ReadFrame(br, make([]byte, 1024)); err != nil {
				continue
			}
			writeTestFrame(c, FrameServerInfo, ServerInfo{MaxFrame: DefaultMaxFrame}.appendTo(nil))
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return url
}

func TestConnDetectsDeadRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		url := silentRelay(t)
		_, log := newTestConn(t, url, key.NewNode(), ConnOptions{
			PingInterval: 50 * time.Millisecond,
			PingTimeout:  100 * time.Millisecond,
		})
		log.wait(t, StateConnected, 5*time.Second)
		r := log.wait(t, StateConnecting, 5*time.Second)
		if !errors.Is(r.err, context.DeadlineExceeded) {
			t.Errorf("dead relay reported as %v, want a ping timeout", r.err)
		}
		// It keeps trying: the silent relay accepts again.
		log.wait(t, StateConnected, 5*time.Second)
	})
}
