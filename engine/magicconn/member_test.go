package magicconn

import (
	"context"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/disco"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/relay"
)

// listenCount listens on a new natlab host at ip and counts the datagrams
// it receives until the test ends.
func listenCount(t *testing.T, w *world, name string, ip netip.Addr) (netip.AddrPort, *atomic.Int64) {
	t.Helper()
	pc, err := w.net.NewHost(name, ip).Listen(7000)
	if err != nil {
		t.Fatal(err)
	}
	return pc.LocalAddrPort(), enginetest.CountDatagrams(t, pc)
}

// TestNonMemberNamesNothing is issue 12 H2 in magicconn: a key the caller
// did not vouch for with SetPeer gets answers (a pong where its ping came
// from) but is never pinged, and the addresses it names in call-me-maybes
// (over UDP or a relay) are never contacted. Once SetPeer vouches for it,
// they are.
func TestNonMemberNamesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", public, nodeOpts{noQUIC: true})
		a.waitHome(t)
		decoyAddr, decoyRx := listenCount(t, w, "decoy", natlabAddr("198.18.3.1"))
		strangerPC, err := w.net.NewHost("stranger", natlabAddr("198.18.3.2")).Listen(7000)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { strangerPC.Close() })
		s := key.NewNode()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sr, err := relay.Dial(ctx, w.relayURL, s, relay.ClientOptions{DialContext: w.net.NewHost("stranger-tcp", natlabAddr("198.18.3.3")).DialContext})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sr.Close() })
		aAddr := netip.AddrPortFrom(a.host.IPs()[0], a.pc.Port())
		cmm := func() []byte {
			return disco.Encode(s, a.pub, &disco.CallMeMaybe{Endpoints: []netip.AddrPort{decoyAddr}})
		}

		strangerPC.WriteToUDPAddrPort(disco.Encode(s, a.pub, &disco.Ping{TxID: disco.NewTxID()}), aAddr)
		strangerPC.WriteToUDPAddrPort(cmm(), aAddr)
		if err := sr.Send(a.pub, cmm()); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, 5*time.Second, "the stranger's messages to be handled", func() bool {
			d := a.mc.Stats().Disco
			return d.PongsSent >= 1 && a.mc.Stats().Drops.NotMember >= 2
		})
		time.Sleep(2 * testTiming().minPingGap) // pings would go out at once; give them time to arrive
		st := a.mc.Stats()
		t.Logf("stranger: %d pings sent, %d datagrams at the address it named, %d call-me-maybes refused",
			st.Disco.PingsSent, decoyRx.Load(), st.Drops.NotMember)
		if st.Disco.PingsSent != 0 || decoyRx.Load() != 0 {
			t.Errorf("a non-member made us send %d pings, %d datagrams to the address it named", st.Disco.PingsSent, decoyRx.Load())
		}
		if st.Drops.NotMember != 2 {
			t.Errorf("NotMember drops %d, want 2", st.Drops.NotMember)
		}

		// QUIC for it goes only where it last spoke from, not to every
		// address it pinged from.
		other, err := w.net.NewHost("stranger2", natlabAddr("198.18.3.3")).Listen(7000)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		other.WriteToUDPAddrPort(disco.Encode(s, a.pub, &disco.Ping{TxID: disco.NewTxID()}), aAddr)
		enginetest.WaitFor(t, 5*time.Second, "the second ping", func() bool { return a.mc.Stats().Disco.PongsSent >= 2 })
		a.mc.mu.RLock()
		spray := a.mc.peers[s.Public()].route.Load().spray
		a.mc.mu.RUnlock()
		if len(spray) != 1 || spray[0].addr != other.LocalAddrPort() {
			t.Errorf("a non-member's packets go to %v, want only %v", spray, other.LocalAddrPort())
		}

		// Vouched for, the same key's call-me-maybe is followed.
		a.mc.SetPeer(s.Public(), nil, "")
		if err := sr.Send(a.pub, cmm()); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, 5*time.Second, "a member's named address to be pinged", func() bool { return decoyRx.Load() > 0 })
	})
}

// TestPongReflexiveSources is issue 12 M5: an address of ours from pongs
// is advertised only once two members report it, a member backs at most
// one advertised address, and non-members count for nothing.
func TestPongReflexiveSources(t *testing.T) {
	w := newWorld(t)
	a := w.newNode("a", public, nodeOpts{noQUIC: true, noRelay: true})
	peers := map[string]key.NodePublic{}
	for _, name := range []string{"m1", "m2", "m3", "m4", "x1"} {
		peers[name] = key.NewNode().Public()
		if name[0] == 'm' {
			a.mc.SetPeer(peers[name], nil, "")
		}
	}
	addr := func(s string) netip.AddrPort { return netip.MustParseAddrPort("203.0.113.7:" + s) }
	type report struct{ peer, port string }
	for _, tc := range []struct {
		name    string
		reports []report
		want    []string // ports of the advertised addresses
	}{
		{"one member, many addresses", []report{{"m1", "1"}, {"m1", "2"}, {"m1", "3"}, {"m1", "4"}, {"m1", "5"}}, nil},
		{"two members agree", []report{{"m1", "1"}, {"m2", "1"}}, []string{"1"}},
		{"two members disagree", []report{{"m1", "1"}, {"m2", "2"}}, nil},
		{"a non-member cannot confirm", []report{{"m1", "1"}, {"x1", "1"}}, nil},
		{"a pair holds one slot", []report{{"m1", "1"}, {"m2", "1"}, {"m1", "2"}, {"m2", "2"}, {"m1", "3"}, {"m2", "3"}}, []string{"3"}},
		{"one member moving keeps the slot", []report{{"m1", "1"}, {"m2", "1"}, {"m1", "2"}}, []string{"1"}},
		{"a confirmer cannot confirm a second", []report{{"m1", "1"}, {"m2", "1"}, {"m1", "2"}, {"m3", "2"}}, []string{"1"}},
		{"two fresh members can", []report{{"m1", "1"}, {"m2", "1"}, {"m3", "2"}, {"m4", "2"}}, []string{"1", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.mc.mu.Lock()
			defer a.mc.mu.Unlock()
			a.mc.pongAddrs = nil
			for _, p := range a.mc.peers {
				p.reflexive = reflexive{}
			}
			now := a.mc.now()
			for _, r := range tc.reports {
				p := a.mc.peerLocked(peers[r.peer], false, now)
				a.mc.addPongReflexiveLocked(p, addr(r.port), now)
			}
			var got []string
			for _, r := range a.mc.pongAddrs {
				got = append(got, r.addr.String())
			}
			var want []string
			for _, p := range tc.want {
				want = append(want, addr(p).String())
			}
			if !slices.Equal(got, want) {
				t.Errorf("advertised %v, want %v", got, want)
			}
		})
	}
}

// TestMeetRelay is issue 12 M4 in magicconn: two members behind symmetric
// NATs, neither with a relay of its own, meet through the meet relay,
// which neither takes as home relay or advertises.
func TestMeetRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", symmetric, nodeOpts{noRelay: true})
		b := w.newNode("b", symmetric, nodeOpts{noRelay: true})
		for _, n := range []*node{a, b} {
			n.mc.SetMeetRelay(w.relayURL)
		}
		introduce(a, b)
		introduce(b, a)
		ca, cb := connect(t, a, b)
		exchange(t, ca, cb)
		for _, n := range []*node{a, b} {
			other := b.pub
			if n == b {
				other = a.pub
			}
			if p := n.mc.Path(other); p.Kind != PathRelay || p.Remote != w.relayURL {
				t.Errorf("%s's path %+v, want the meet relay", n.name, p)
			}
			if _, home := n.mc.Endpoints(); home != "" || n.mc.HomeRelay() != "" {
				t.Errorf("%s took the meet relay as home relay %q", n.name, home)
			}
		}

		// A stranger is never routed through it.
		s := key.NewNode().Public()
		a.mc.mu.Lock()
		p := a.mc.peerLocked(s, false, a.mc.now())
		a.mc.updateRouteLocked(p)
		a.mc.mu.Unlock()
		if r := p.route.Load(); r.relayURL != "" {
			t.Errorf("a non-member's route uses relay %q", r.relayURL)
		}
	})
}
