package magicconn

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quic-go/quic-go"
)

// TestRouteKeepsTrust: whenever maintenance trusts a peer's direct path,
// so does the data path. The route's deadline is set at a pong with the
// trust window of that moment; when the window grows later (data ends
// and the short busy window gives way to the quiet one), a route left
// as it was ran out while the path stayed chosen, and with no relay the
// data path dropped every packet (drop_no_path) until the next pong:
// the first pings of make bench-scale that failed.
func TestRouteKeepsTrust(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newDataSim(t)
		s.busy = false
		for range int(3 * time.Minute / s.c.t.tick) {
			s.run(s.c.t.tick)
			if s.p.best != nil && !s.trustedNow() {
				t.Fatalf("%v after data: maintenance trusts the path, the data path does not (until %v, now %v)",
					time.Since(s.start)-6*time.Minute, s.p.route.Load().trustUntil, s.c.now())
			}
		}
		if s.lostT != 0 {
			t.Errorf("path lost at %v", s.lostT)
		}
	})
}

// TestRestingPeers: maintenance that skips resting peers does exactly
// what visiting every peer every tick does (the same pings at the same
// ticks, the path lost at the same moment), through calm, data, a lost
// pong, a dead path and a peer going idle, and visits a calm peer on
// few ticks.
func TestRestingPeers(t *testing.T) {
	type step func(s *quietSim)
	calm := func(d time.Duration) step { return func(s *quietSim) { s.run(d) } }
	set := func(f func(s *quietSim)) step { return f }
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"calm", []step{calm(10 * time.Minute)}},
		{"data, then calm", []step{calm(5 * time.Minute), set(func(s *quietSim) { s.busy = true }), calm(time.Minute),
			set(func(s *quietSim) { s.busy = false }), calm(4 * time.Minute)}},
		{"lost pongs", []step{calm(5 * time.Minute), set(func(s *quietSim) { s.drop = 3 }), calm(2 * time.Minute)}},
		{"dead calm path", []step{calm(5 * time.Minute), set(func(s *quietSim) { s.down = true }), calm(3 * time.Minute)}},
		{"dies as data begins", []step{calm(5 * time.Minute), set(func(s *quietSim) { s.down, s.busy = true, true }), calm(time.Minute)}},
		{"idle, then back", []step{calm(2 * time.Minute), set(func(s *quietSim) { s.down = true }), calm(2 * time.Minute),
			set(func(s *quietSim) { s.down = false }), calm(2 * time.Minute)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var runs [2]*quietSim
			for i := range runs {
				synctest.Test(t, func(t *testing.T) {
					s := newQuietSim(t)
					s.rest = i == 1
					for _, f := range tt.steps {
						f(s)
					}
					runs[i] = s
				})
			}
			every, rest := runs[0], runs[1]
			if !slices.Equal(every.pings, rest.pings) || every.lostT != rest.lostT {
				t.Errorf("resting changed maintenance:\nevery tick: pings %v, lost at %v\nresting:    pings %v, lost at %v",
					every.pings, every.lostT, rest.pings, rest.lostT)
			}
			t.Logf("%d pings; visited on %d of %d ticks", len(rest.pings), rest.visits, every.visits)
			if tt.name == "calm" && rest.visits*10 > every.visits {
				t.Errorf("a calm peer visited on %d of %d ticks, want under a tenth", rest.visits, every.visits)
			}
		})
	}
}

// TestCalmTick: with the production timers, maintenance of a calm peer
// waits longer than a tick, and data that begins is seen at once, not
// at the next wake-up (the heartbeat under data, and failover, start
// from it).
func TestCalmTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, ca, _ := productionPair(t)
		tm := defaultTiming()
		time.Sleep(2 * time.Minute) // QUIC keepalives only: calm
		// The wait is a tick only just before a ping or the end of a
		// trust window.
		long := 0
		for range 100 {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			d := a.mc.maintain(false)
			if d > tm.quietHeartbeat/4 {
				t.Fatalf("calm peer: maintenance waits %v, want at most %v", d, tm.quietHeartbeat/4)
			}
			if d > tm.tick {
				long++
			}
		}
		if long < 80 {
			t.Errorf("calm peer: maintenance waited longer than the tick on %d of 100 ticks, want most", long)
		}
		busy := func() bool {
			a.mc.mu.RLock()
			defer a.mc.mu.RUnlock()
			return a.mc.peers[b.pub].wasBusy
		}
		if busy() {
			t.Fatal("busy before any data")
		}
		s, err := ca.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // no time passes
		if !busy() {
			t.Error("data began, maintenance has not seen it")
		}
		if d := a.mc.maintain(false); d != tm.tick {
			t.Errorf("busy peer: maintenance waits %v, want the tick (%v)", d, tm.tick)
		}
		s.Close()
	})
}

// TestCalmPings: two real Conns with the production timers, a QUIC
// connection that carried data and then only keepalives: from a minute
// after the data, each pings the other every quietMax (20 s), not more.
func TestCalmPings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, ca, cb := productionPair(t)
		tm := defaultTiming()
		exchange(t, ca, cb)
		time.Sleep(time.Minute)
		before := a.mc.Stats().Disco.PingsSent
		time.Sleep(4 * time.Minute)
		n := a.mc.Stats().Disco.PingsSent - before
		t.Logf("%d pings from 1 to 5 minutes after the data", n)
		if want := uint64(4*time.Minute/tm.quietMax) + 1; n > want {
			t.Errorf("%d pings from 1 to 5 minutes after the data, want at most %d (one every %v)", n, want, tm.quietMax)
		}
		alive(t, ca, cb)
	})
}

// productionPair is two nodes with the production timers, a behind an
// easy NAT and b behind a port-restricted one, connected on a direct
// path (inside a synctest bubble).
func productionPair(t *testing.T) (a, b *node, ca, cb *quic.Conn) {
	t.Helper()
	w := newWorld(t)
	tm := defaultTiming()
	a = w.newNode("a", easy, nodeOpts{timing: &tm})
	b = w.newNode("b", portRestricted, nodeOpts{timing: &tm})
	meet(t, a, b)
	ca, cb = connect(t, a, b)
	waitPaths(t, a, b, PathDirect)
	return a, b, ca, cb
}
