package magicconn

import (
	"net/netip"
	"testing"
	"testing/synctest"

	"github.com/rayfish/rayfish/engine/bulk"
	"github.com/rayfish/rayfish/engine/key"
)

// TestBulkSizeBound: bulk packets longer than any sealed packet can be,
// from a (GRO) socket read or a relay, are dropped and counted before
// OnBulk; the longest possible one is handed over.
func TestBulkSizeBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		var got []int
		n := w.newNode("self", public, nodeOpts{noQUIC: true, noRelay: true, timing: quietTiming(),
			onBulk: func(p []byte) { got = append(got, len(p)) }})
		c, peer := n.mc, key.NewNode().Public()
		dead := deadURL
		c.SetPeer(peer, []netip.AddrPort{netip.MustParseAddrPort("198.18.0.9:41641")}, dead)
		c.mu.Lock()
		rc := c.relayLocked(dead)
		c.mu.Unlock()
		pkt := func(n int) []byte {
			b := make([]byte, n)
			b[0] = bulk.Marker
			return b
		}
		for _, size := range []int{maxBulkLen + 1, 64 << 10} {
			c.receiveBulk(pkt(size), nil) // what the GRO split does
			c.onRelayPacket(rc, peer, pkt(size))
		}
		if len(got) != 0 {
			t.Errorf("OnBulk got oversize packets of %v bytes", got)
		}
		if d := c.Stats().Drops.TooLarge; d != 4 {
			t.Errorf("%d too-large drops, want 4", d)
		}
		c.receiveBulk(pkt(maxBulkLen), nil)
		c.onRelayPacket(rc, peer, pkt(maxBulkLen))
		if len(got) != 2 {
			t.Errorf("OnBulk got %v, want two packets of %d bytes", got, maxBulkLen)
		}
	})
}
