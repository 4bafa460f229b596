package magicconn

import (
	"log/slog"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/disco"
	"github.com/rayfish/rayfish/engine/key"
)

// quietSim drives one peer's maintenance on virtual time with the
// production timers: a peer that answers pings after 1 ms and sends QUIC
// keepalives every keepaliveEvery, unless the path is down, and sends data while
// busy is set.
type quietSim struct {
	t     *testing.T
	c     *Conn
	p     *peer
	cd    *candidate
	down  bool // pings and keepalives are lost
	drop  int  // the next this many pings are lost
	busy  bool // data flows
	pings []time.Duration
	start time.Time
	lostT time.Duration // when the path was lost, if it was
	// lastKeepalive is when the peer's last QUIC keepalive arrived.
	lastKeepalive time.Time
	// rest skips the peer while it rests, as maintain does, and
	// visits counts the ticks it was not skipped.
	rest   bool
	visits int
}

// keepaliveEvery is the engine's QUIC keepalive period (engine/transport.go).
const keepaliveEvery = 15 * time.Second

func newQuietSim(t *testing.T) *quietSim {
	c := &Conn{t: defaultTiming(), log: slog.New(slog.DiscardHandler), epoch: time.Now().Add(-time.Hour), pings: map[disco.TxID]*pendingPing{}}
	cd := &candidate{addr: netip.MustParseAddrPort("198.18.0.2:41641"), told: true, rtt: time.Millisecond}
	p := &peer{key: key.NewNode().Public(), member: true, known: true, cands: map[netip.AddrPort]*candidate{cd.addr: cd}}
	p.route.Store(emptyRoute)
	s := &quietSim{t: t, c: c, p: p, cd: cd, start: time.Now(), lastKeepalive: time.Now()}
	// The path comes up as it does in life: a ping, a pong.
	now := c.now()
	cd.lastPing, cd.lastPong, cd.lastHeard = now, now, now
	p.lastRecv.Store(int64(now))
	c.chooseLocked(p, now)
	c.updateRouteLocked(p)
	if p.best != cd {
		t.Fatal("no path to start from")
	}
	return s
}

// newDataSim returns a quietSim whose path was calm for 5 minutes, then
// carried data for a minute; the data still flows.
func newDataSim(t *testing.T) *quietSim {
	s := newQuietSim(t)
	s.run(5 * time.Minute)
	s.busy = true
	s.run(time.Minute)
	return s
}

// run advances virtual time by d, one maintenance tick at a time.
func (s *quietSim) run(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		time.Sleep(s.c.t.tick)
		now := s.c.now()
		if !s.down && time.Since(s.lastKeepalive) >= keepaliveEvery {
			s.p.lastRecv.Store(int64(now))
			s.p.lastSend.Store(int64(now))
			s.lastKeepalive = time.Now()
		}
		if s.busy {
			s.p.lastSend.Store(int64(now))
			s.c.noteData(s.p, dataMin, now)
		}
		if s.rest && s.c.restingLocked(s.p, now) {
			continue
		}
		s.visits++
		var out outbox
		s.c.maintainPeerLocked(s.p, now, &out)
		for _, o := range out {
			if _, ok := o.msg.(*disco.Ping); !ok || o.addr != s.cd.addr {
				continue
			}
			s.pings = append(s.pings, time.Since(s.start))
			if s.down || s.drop > 0 {
				s.drop--
				continue
			}
			s.cd.lastPong, s.cd.lastHeard = now, now // the pong, 1 ms later in life
			s.c.updateRouteLocked(s.p)
		}
		if s.p.best == nil && s.lostT == 0 {
			s.lostT = time.Since(s.start)
		}
		if s.rest {
			s.c.restLocked(s.p, now)
		}
	}
}

// pingsIn counts the pings sent in [from, to) since the start.
func (s *quietSim) pingsIn(from, to time.Duration) int {
	n := 0
	for _, at := range s.pings {
		if at >= from && at < to {
			n++
		}
	}
	return n
}

// trustedNow reports whether the data path would use the direct path.
func (s *quietSim) trustedNow() bool {
	r := s.p.route.Load()
	return s.p.best != nil && r.direct.IsValid() && s.c.now() < r.trustUntil
}

func TestQuietBackoff(t *testing.T) {
	t.Run("a calm path backs off to quietMax and stays trusted", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newQuietSim(t)
			for range 600 {
				s.run(time.Second)
				if !s.trustedNow() {
					t.Fatalf("direct path untrusted at %v", time.Since(s.start))
				}
			}
			first, last := s.pingsIn(0, time.Minute), s.pingsIn(9*time.Minute, 10*time.Minute)
			if first < 5 || last > 4 {
				t.Errorf("pings in the first minute %d (want the fast heartbeat at first), in the tenth %d (want ≤ 4)", first, last)
			}
			total := len(s.pings)
			if total > 50 {
				t.Errorf("%d pings in 10 minutes; without backoff 150", total)
			}
			t.Logf("%d pings in 10 quiet minutes: %d in the first, %d in the tenth", total, first, last)
		})
	})
	t.Run("data pings every heartbeat at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newQuietSim(t)
			s.run(5 * time.Minute)
			s.busy = true
			at := time.Since(s.start)
			s.run(10 * time.Second)
			if n := s.pingsIn(at, at+10*time.Second); n < 8 {
				t.Errorf("%d pings in the first 10 s of data, want one a second", n)
			}
			if !s.trustedNow() || s.lostT != 0 {
				t.Errorf("path untrusted under data (lost at %v, data from %v)", s.lostT, at)
			}
		})
	})
	t.Run("after data the backoff counts calm from the last data", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newDataSim(t)
			s.busy = false
			end := time.Since(s.start)
			s.run(2 * time.Minute)
			// The peer is busy for c.t.active (45 s) after the data; a
			// path pinged every second all that time is calm, and the
			// heartbeat is already backed off when it is quiet again
			// (counting from the end of the busy window: 7 pings).
			from, to := end+50*time.Second, end+110*time.Second
			n := s.pingsIn(from, to)
			t.Logf("%d pings from 50 s to 110 s after the data stopped", n)
			if n > 4 {
				t.Errorf("%d pings from 50 s to 110 s after the data stopped, want ≤ 4", n)
			}
			if !s.trustedNow() || s.lostT != 0 {
				t.Errorf("path lost at %v", s.lostT)
			}
		})
	})
	t.Run("a path under data that dies is given up within trust", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newDataSim(t)
			s.down = true
			at := time.Since(s.start)
			s.run(10 * time.Second)
			if s.lostT == 0 || s.lostT-at > s.c.t.trust+s.c.t.tick {
				t.Errorf("path died at %v, given up at %v (want within %v)", at, s.lostT, s.c.t.trust)
			}
		})
	})
	t.Run("a calm path that dies as data begins is given up within the hot window", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newQuietSim(t)
			s.run(5 * time.Minute)
			s.busy, s.down = true, true
			at := time.Since(s.start)
			s.run(10 * time.Second)
			if s.lostT == 0 || s.lostT-at > s.c.t.hotTrust+s.c.t.tick {
				t.Errorf("data began on a dead path at %v, given up at %v (want within %v)", at, s.lostT, s.c.t.hotTrust+s.c.t.tick)
			}
		})
	})
	t.Run("a lost pong is retried at the fast heartbeat", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newQuietSim(t)
			s.run(5 * time.Minute)
			s.drop = 1
			n := len(s.pings)
			for len(s.pings) == n {
				s.run(time.Second)
			}
			lost := s.pings[n]
			s.run(6 * time.Second)
			if len(s.pings) < n+2 || s.pings[n+1]-lost > s.c.t.quietHeartbeat+time.Second {
				t.Errorf("after the ping at %v was lost, the next came at %v", lost, s.pings[n:])
			}
			if !s.trustedNow() || s.lostT != 0 {
				t.Errorf("one lost pong lost the path: trusted %v, lost at %v", s.trustedNow(), s.lostT)
			}
		})
	})
	t.Run("a dead calm path is given up as fast as before", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newQuietSim(t)
			s.run(10 * time.Minute)
			s.down = true
			at := time.Since(s.start)
			s.run(30 * time.Second)
			if s.lostT == 0 || s.lostT-at > s.c.t.quietSilence+s.c.t.quietTrust {
				t.Errorf("path died at %v, given up at %v (want within %v)", at, s.lostT, s.c.t.quietSilence+s.c.t.quietTrust)
			}
			t.Logf("given up %v after it died", s.lostT-at)
		})
	})
	t.Run("a new path starts at the fast heartbeat", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newQuietSim(t)
			s.run(5 * time.Minute)
			s.p.pathSince = s.c.now() // as chooseLocked sets it on a change
			at := time.Since(s.start)
			s.run(20 * time.Second)
			if n := s.pingsIn(at, at+20*time.Second); n < 4 {
				t.Errorf("%d pings in the 20 s after a path change, want the fast heartbeat", n)
			}
		})
	})
}
