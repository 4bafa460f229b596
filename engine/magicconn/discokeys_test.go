package magicconn

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/disco"
	"github.com/rayfish/rayfish/engine/key"
)

// TestDiscoPairs: disco messages are opened with the pair of their
// claimed sender: a member's pair is derived once and kept, a
// non-member's is not kept (its ping is still handled), a message sealed by
// anyone but the claimed sender, replayed, truncated or relayed under
// another key is dropped and counted, and a removed member's pair is
// forgotten at the next maintenance tick.
func TestDiscoPairs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", public, nodeOpts{noQUIC: true, noRelay: true, timing: quietTiming()})
		m, s := key.NewNode(), key.NewNode()
		mAddr := netip.MustParseAddrPort("198.18.55.5:41641")
		sAddr := netip.MustParseAddrPort("198.18.66.6:41641")
		a.mc.SetPeer(m.Public(), []netip.AddrPort{mAddr}, "")
		a.mc.mu.Lock()
		rc := a.mc.relayLocked(deadURL)
		a.mc.mu.Unlock()
		ping := func(from key.NodePrivate) []byte {
			return disco.Encode(from, a.pub, &disco.Ping{TxID: disco.NewTxID()})
		}
		forged := ping(s) // sealed by s, claiming to be m
		mPub := m.Public()
		copy(forged[len(disco.Magic):], mPub[:])
		replayed := ping(m)
		a.mc.handleDiscoUDP(replayed, mAddr)

		for _, tt := range []struct {
			name            string
			send            func()
			pings, bad, old uint64 // what the message adds to the counters
			pairs           int    // disco pairs kept after it
		}{
			{"member", func() { a.mc.handleDiscoUDP(ping(m), mAddr) }, 1, 0, 0, 1},
			{"non-member", func() { a.mc.handleDiscoUDP(ping(s), sAddr) }, 1, 0, 0, 1},
			{"forged member", func() { a.mc.handleDiscoUDP(forged, sAddr) }, 0, 1, 0, 1},
			{"replayed", func() { a.mc.handleDiscoUDP(replayed, sAddr) }, 0, 0, 1, 1},
			{"truncated", func() { a.mc.handleDiscoUDP(ping(m)[:90], mAddr) }, 0, 1, 0, 1},
			{"to another node", func() { a.mc.handleDiscoUDP(disco.Encode(m, s.Public(), &disco.Ping{}), mAddr) }, 0, 1, 0, 1},
			{"relayed under another key", func() { a.mc.handleDiscoRelay(rc, s.Public(), ping(m)) }, 0, 1, 0, 1},
			{"relayed from its sender", func() { a.mc.handleDiscoRelay(rc, m.Public(), ping(m)) }, 1, 0, 0, 1},
		} {
			before := a.mc.Stats()
			tt.send()
			after := a.mc.Stats()
			pings := after.Disco.PingsReceived - before.Disco.PingsReceived
			bad := after.Drops.BadDisco - before.Drops.BadDisco
			old := after.Drops.StaleDisco - before.Drops.StaleDisco
			if pings != tt.pings || bad != tt.bad || old != tt.old {
				t.Errorf("%s: %d pings handled, %d bad, %d stale; want %d, %d, %d", tt.name, pings, bad, old, tt.pings, tt.bad, tt.old)
			}
			if n := a.mc.dk.Len(); n != tt.pairs {
				t.Errorf("%s: %d disco pairs kept, want %d", tt.name, n, tt.pairs)
			}
		}

		a.mc.RemovePeer(m.Public())
		time.Sleep(2 * a.mc.t.tick) // virtual time: two maintenance ticks
		if n := a.mc.dk.Len(); n != 0 {
			t.Errorf("%d disco pairs kept after the member was removed, want 0", n)
		}
	})
}

// TestDiscoOpenNoAllocs: a member's disco message is opened (and a stray
// pong dropped) without allocating.
func TestDiscoOpenNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are unreliable under the race detector")
	}
	w := newWorld(t)
	a := w.newNode("a", public, nodeOpts{noQUIC: true, noRelay: true, timing: quietTiming()})
	m := key.NewNode()
	mAddr := netip.MustParseAddrPort("198.18.55.5:41641")
	a.mc.SetPeer(m.Public(), []netip.AddrPort{mAddr}, "")
	pong := disco.Encode(m, a.pub, &disco.Pong{TxID: disco.NewTxID(), Src: mAddr})
	a.mc.handleDiscoUDP(pong, mAddr) // derives and keeps the pair
	before := a.mc.Stats().Disco.StrayPongs
	if n := testing.AllocsPerRun(200, func() { a.mc.handleDiscoUDP(pong, mAddr) }); n != 0 {
		t.Errorf("%v allocations per disco message", n)
	}
	if got := a.mc.Stats().Disco.StrayPongs - before; got < 200 {
		t.Errorf("%d stray pongs counted, want every one opened and counted", got)
	}
}
