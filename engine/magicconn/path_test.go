package magicconn

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/magicconn/natlab"
)

// TestPairings connects two nodes with quic-go over every pairing of NATs
// and checks the path each side ends up on.
func TestPairings(t *testing.T) {
	dualSym := placement{nat: &natlab.SymmetricNAT, v6: true}
	tests := []struct {
		name       string
		a, b       placement
		want       string
		wantReason string // for relay paths, a part of a's reason
	}{
		{"easy-easy", easy, easy, PathDirect, ""},
		{"easy-port-restricted", easy, portRestricted, PathDirect, ""},
		{"port-restricted-port-restricted", portRestricted, portRestricted, PathDirect, ""},
		{"easy-address-dependent", easy, addrDependent, PathDirect, ""},
		{"address-dependent-easy", addrDependent, easy, PathDirect, ""},
		{"public-symmetric", public, symmetric, PathDirect, ""},
		{"symmetric-easy", symmetric, easy, PathDirect, ""},
		{"dual-stack-symmetric-symmetric", dualSym, dualSym, PathDirect, ""},
		{"port-restricted-symmetric", portRestricted, symmetric, PathRelay, "peer behind address-dependent NAT"},
		{"symmetric-symmetric", symmetric, symmetric, PathRelay, "both nodes are behind address-dependent NATs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t)
				a := w.newNode("a", tt.a, nodeOpts{})
				b := w.newNode("b", tt.b, nodeOpts{})
				meet(t, a, b)
				ca, cb := connect(t, a, b)
				exchange(t, ca, cb)

				if tt.want == PathDirect {
					pa := waitPath(t, 5*time.Second, a, b, PathDirect)
					waitPath(t, 5*time.Second, b, a, PathDirect)
					if pa.RTT <= 0 || pa.LastPong.IsZero() || pa.Reason != "" {
						t.Errorf("direct path info %+v", pa)
					}
					before := a.mc.Stats()
					exchange(t, ca, cb)
					after := a.mc.Stats()
					if after.DirectTx.Packets <= before.DirectTx.Packets || after.DirectRx.Packets <= before.DirectRx.Packets {
						t.Errorf("no direct traffic: before %+v after %+v", before, after)
					}
					return
				}
				// Give hole punching several rounds; the path must stay on
				// the relay and say why.
				deadline := time.Now().Add(4 * testTiming().retry)
				for time.Now().Before(deadline) {
					for _, pair := range [][2]*node{{a, b}, {b, a}} {
						if p := pair[0].mc.Path(pair[1].pub); p.Kind != PathRelay || p.Reason == "" {
							t.Fatalf("%s -> %s: path %+v, want relay with a reason", pair[0].name, pair[1].name, p)
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
				pa := a.mc.Path(b.pub)
				if !strings.Contains(pa.Reason, tt.wantReason) || pa.Remote != w.relayURL {
					t.Errorf("a's path %+v, want reason %q through %s", pa, tt.wantReason, w.relayURL)
				}
				st := a.mc.Stats()
				if st.RelayTx.Packets == 0 || st.RelayRx.Packets == 0 {
					t.Errorf("no relay traffic: %+v", st)
				}
				alive(t, ca, cb)
			})
		})
	}
}

// TestDefaultTiming checks that with the production timers two nodes
// behind NATs go direct within a few seconds, starting cold: they learn
// each other's relay and reflexive addresses as they go.
func TestDefaultTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		tm := defaultTiming()
		a := w.newNode("a", easy, nodeOpts{timing: &tm})
		b := w.newNode("b", portRestricted, nodeOpts{timing: &tm})
		introduce(a, b)
		introduce(b, a)
		start := time.Now()
		ca, cb := connect(t, a, b)
		waitPaths(t, a, b, PathDirect)
		t.Logf("direct after %v", time.Since(start))
		exchange(t, ca, cb)
	})
}

// TestSameLAN: two nodes behind the same symmetric NAT talk over the LAN.
func TestSameLAN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", symmetric, nodeOpts{})
		b := w.newNode("b", placement{shared: a}, nodeOpts{})
		meet(t, a, b)
		ca, cb := connect(t, a, b)
		p := waitPath(t, 5*time.Second, a, b, PathDirect)
		if want := b.pc.LocalAddrPort().String(); p.Remote != want {
			t.Errorf("path %+v, want the LAN address %s", p, want)
		}
		exchange(t, ca, cb)
	})
}

// TestCutAndRestore cuts a direct path: traffic moves to the relay without
// breaking the QUIC connection, and back when the path returns.
func TestCutAndRestore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", easy, nodeOpts{})
		b := w.newNode("b", portRestricted, nodeOpts{})
		meet(t, a, b)
		ca, cb := connect(t, a, b)
		waitPaths(t, a, b, PathDirect)

		unblock := w.net.Block(a.nat.Public(), b.nat.Public())
		cut := time.Now()
		p := waitPath(t, 5*time.Second, a, b, PathRelay)
		waitPath(t, 5*time.Second, b, a, PathRelay)
		t.Logf("on relay %v after the cut: %s", time.Since(cut), p.Reason)
		if !strings.HasPrefix(p.Reason, "direct path lost") {
			t.Errorf("reason %q", p.Reason)
		}
		exchange(t, ca, cb)
		alive(t, ca, cb)

		unblock()
		waitPaths(t, a, b, PathDirect)
		exchange(t, ca, cb)
		alive(t, ca, cb)
	})
}

// TestRebind: b's NAT forgets its mappings (a reboot, a new mobile
// network), so b appears at a new port; the connection survives and the
// path is direct again, at the new address.
func TestRebind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", easy, nodeOpts{})
		b := w.newNode("b", portRestricted, nodeOpts{})
		meet(t, a, b)
		ca, cb := connect(t, a, b)
		old := waitPath(t, 5*time.Second, a, b, PathDirect)

		b.nat.Reset()
		b.mc.NetworkChanged()
		enginetest.WaitFor(t, 8*time.Second, "a direct path to b's new address", func() bool {
			p := a.mc.Path(b.pub)
			return p.Kind == PathDirect && p.Remote != old.Remote
		})
		waitPath(t, 5*time.Second, b, a, PathDirect)
		exchange(t, ca, cb)
		alive(t, ca, cb)
	})
}

// TestMove: b moves to another network (new IP behind another NAT); the
// connection survives, through the relay, then direct again.
func TestMove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", easy, nodeOpts{})
		b := w.newNode("b", easy, nodeOpts{})
		meet(t, a, b)
		ca, cb := connect(t, a, b)
		old := waitPath(t, 5*time.Second, a, b, PathDirect)

		nat2 := w.net.NewNAT("b-nat2", natlabAddr("198.18.1.200"), natlab.PortRestrictedNAT)
		b.host.Move(nat2, natlabAddr("10.200.0.2"))
		b.setLocal()
		b.mc.NetworkChanged()
		enginetest.WaitFor(t, 10*time.Second, "a direct path to b's new network", func() bool {
			p := a.mc.Path(b.pub)
			return p.Kind == PathDirect && p.Remote != old.Remote
		})
		if p := a.mc.Path(b.pub); !strings.HasPrefix(p.Remote, "198.18.1.200:") {
			t.Errorf("path %+v, want b's new NAT", p)
		}
		waitPath(t, 5*time.Second, b, a, PathDirect)
		exchange(t, ca, cb)
		alive(t, ca, cb)
	})
}

func TestStatsMap(t *testing.T) {
	s := Stats{
		DirectTx: Traffic{Packets: 3, Bytes: 300},
		RelayRx:  Traffic{Packets: 1, Bytes: 90},
		Drops:    Drops{NoPath: 2, RateLimited: 5, StaleDisco: 4, NotMember: 6},
		Disco:    DiscoStats{PingsSent: 7, CallMeMaybeReceived: 1},
	}
	m := s.Map()
	want := map[string]uint64{
		"direct_tx_packets": 3, "direct_tx_bytes": 300, "relay_rx_packets": 1, "relay_rx_bytes": 90,
		"relay_tx_packets": 0, "drop_no_path": 2, "drop_rate_limited": 5, "drop_write_error": 0,
		"drop_stale_disco": 4, "drop_not_member": 6,
		"disco_pings_sent": 7, "disco_call_me_maybe_received": 1, "disco_stray_pongs": 0,
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok || got != v {
			t.Errorf("%s = %d (present %v), want %d", k, got, ok, v)
		}
	}
	if len(m) != 8+12+7 {
		t.Errorf("%d counters, want 27", len(m))
	}
}

// TestQuietPeer: only data (bulk packets, or QUIC packets of dataMin
// bytes) makes a peer busy; a quiet peer's path is trusted longer, as it
// is pinged less often.
func TestQuietPeer(t *testing.T) {
	c := &Conn{t: *testTiming()}
	p := &peer{}
	now := mono(time.Minute)
	if c.busy(p, now) || c.trustWindow(p, now) != mono(c.t.quietTrust) {
		t.Fatal("a new peer is busy")
	}
	c.noteData(p, dataMin-1, now) // a keepalive
	if c.busy(p, now) {
		t.Error("a keepalive made the peer busy")
	}
	c.noteData(p, dataMin, now)
	if !c.busy(p, now) || c.trustWindow(p, now) != mono(c.t.trust) {
		t.Error("data did not make the peer busy")
	}
	later := now + mono(c.t.active)
	if c.busy(p, later) || c.trustWindow(p, later) != mono(c.t.quietTrust) {
		t.Error("still busy after the active window")
	}
	cd := &candidate{lastPong: later}
	if !c.trusted(p, cd, later+mono(c.t.quietTrust)-1) || c.trusted(p, cd, later+mono(c.t.quietTrust)) {
		t.Error("a quiet peer's candidate is not trusted for exactly quietTrust")
	}
	if c.t.quietHeartbeat >= c.t.quietTrust || defaultTiming().quietHeartbeat*2 >= defaultTiming().quietTrust {
		t.Error("a quiet peer's trust must outlast its heartbeats")
	}
	// A hot peer's dead path is left within 3 s of the cut (issue 16:
	// the last pong came at most a heartbeat before it, and the
	// maintenance tick notices the trust ran out), yet only after four
	// pongs in a row went missing, so 3% loss does not make it flap.
	if d := defaultTiming(); d.hotHeartbeat+d.hotTrust+d.tick > 3*time.Second || d.hotTrust < 4*d.hotHeartbeat || d.trust < 3*d.heartbeat {
		t.Errorf("failover budget: hot heartbeat %v + trust %v + tick %v; busy heartbeat %v, trust %v",
			d.hotHeartbeat, d.hotTrust, d.tick, d.heartbeat, d.trust)
	}
	// Data just now makes the peer hot (shortest trust); a few seconds
	// later it is only busy.
	d := defaultTiming()
	c.t = d
	// Maintenance has seen data flow for a while (data that begins on a
	// calm path is trusted a moment longer: TestTrustUntil).
	p.wasBusy, p.busySince = true, later-mono(time.Minute)
	c.noteData(p, dataMin, later)
	if !c.hot(p, later) || c.trustWindow(p, later) != mono(d.hotTrust) {
		t.Error("data just now did not make the peer hot")
	}
	if at := later + mono(d.hot); c.hot(p, at) || c.trustWindow(p, at) != mono(d.trust) {
		t.Error("still hot after the hot window")
	}
}
