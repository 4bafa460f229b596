package dataplane

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/router"
)

// segTUN hands out one batch as a GSO read would: a packet in bufs[0] and,
// in bufs[1], a segment the kernel says is longer than the buffer (cut to
// a larger MTU than ours); then it reads like the fake TUN it wraps.
type segTUN struct {
	*enginetest.TUN
	pkt  []byte
	done atomic.Bool
}

func (t *segTUN) BatchSize() int { return 4 }

func (t *segTUN) Read(bufs [][]byte, sizes []int, off int) (int, error) {
	if t.done.Swap(true) {
		return t.TUN.Read(bufs, sizes, off)
	}
	sizes[0] = copy(bufs[0][off:], t.pkt)
	sizes[1] = len(bufs[1]) - off + 1
	return 2, nil
}

// TestTUNReadBuffers: only the first buffer of a batch is read-sized (a
// whole packet lands there); a segment too long for the others is
// counted as malformed, and the rest of the batch still goes out.
func TestTUNReadBuffers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
		fw := firewall.New(firewall.Config{})
		dev := &segTUN{TUN: enginetest.NewTUN(), pkt: enginetest.UDPPacket(self, other, 1, 2, 100)}
		pl := New(Config{TUN: dev, MTU: testMTU, Firewall: fw})
		p := pl.NewPeer(key.NewNode().Public())
		var b router.Builder[*Peer]
		b.AddLocal(self)
		b.Add(other, p)
		pl.SetRoutes(&b)
		rc := &recordCarrier{}
		p.SetCarrier(rc)
		pl.SetUp(true)
		pl.Start()
		synctest.Wait()
		if got := pl.Drops()["malformed"]; got != 1 {
			t.Errorf("malformed %d, want 1 (the segment longer than its buffer)", got)
		}
		if rc.count() != 1 {
			t.Errorf("%d packets sent, want the 1 whole one", rc.count())
		}
		pl.Close()
	})
}
