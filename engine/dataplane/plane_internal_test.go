package dataplane

import (
	"net/netip"
	"testing"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/router"
)

// testMTU is the engine's TUN MTU.
const testMTU = 1360

// testPlane builds a plane without a TUN, up, with one peer (no sender
// goroutine: tests drain its queue) that owns peerAddr and is online.
func testPlane(t testing.TB, self, peerAddr netip.Addr) (*Plane, *Peer) {
	t.Helper()
	// Let everything through: these tests are about the plane's own checks.
	fw := firewall.New(firewall.Config{})
	fw.Update(func(rs *firewall.Ruleset, _ *firewall.Suggested) error {
		return rs.SetDefault(firewall.In, firewall.Allow)
	})
	pl := New(Config{MTU: testMTU, Firewall: fw})
	pl.Start()
	t.Cleanup(func() { pl.Close() })
	pl.SetUp(true)
	p := pl.newPeer(key.NewNode().Public())
	p.SetCarrier(&Datagrams{})
	var b router.Builder[*Peer]
	b.AddLocal(self)
	b.Add(peerAddr, p)
	pl.SetRoutes(&b)
	return pl, p
}

func TestDataPathAllocs(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pl, p := testPlane(t, self, other)
	out := enginetest.UDPPacket(self, other, 1, 2, 1200)
	in := enginetest.UDPPacket(other, self, 2, 1, 1200)
	allocs := testing.AllocsPerRun(1000, func() {
		pl.outbound(out)
		pl.flushOut()
		pl.putBatch(<-p.sendq)
		p.queued.Store(0) // what the sender does after the batch
		pl.Receive(p, in)
		pl.putBuf(<-pl.tunq)
	})
	if allocs != 0 {
		t.Errorf("data path allocates %v per packet pair", allocs)
	}
	if pl.drops.snapshot()["backpressure"] != 0 {
		t.Error("unexpected drops")
	}
}

func TestDropReasons(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	stranger := netip.MustParseAddr("100.64.1.4")
	tests := []struct {
		name   string
		run    func(pl *Plane, p *Peer)
		reason string
	}{
		{"no peer", func(pl *Plane, p *Peer) { pl.outbound(enginetest.UDPPacket(self, stranger, 1, 2, 10)) }, "no_peer"},
		{"queue full", func(pl *Plane, p *Peer) {
			for range peerQueueLen + 1 { // each flush is a batch of one
				pl.outbound(enginetest.UDPPacket(self, other, 1, 2, 10))
				pl.flushOut()
			}
		}, "backpressure"},
		{"no free batch", func(pl *Plane, p *Peer) {
			for pl.getBatch() != nil {
			}
			pl.outbound(enginetest.UDPPacket(self, other, 1, 2, 10))
		}, "backpressure"},
		{"malformed", func(pl *Plane, p *Peer) { pl.outbound([]byte{0x45, 0}) }, "malformed"},
		{"spoofed", func(pl *Plane, p *Peer) { pl.Receive(p, enginetest.UDPPacket(stranger, self, 1, 2, 10)) }, "spoofed_source"},
		{"not for us", func(pl *Plane, p *Peer) { pl.Receive(p, enginetest.UDPPacket(other, stranger, 1, 2, 10)) }, "not_for_us"},
		{"offline", func(pl *Plane, p *Peer) {
			p.SetCarrier(nil)
			pl.outbound(enginetest.UDPPacket(self, other, 1, 2, 10))
		}, "peer_offline"},
		{"down", func(pl *Plane, p *Peer) {
			pl.isUp.Store(false)
			pl.outbound(enginetest.UDPPacket(self, other, 1, 2, 10))
		}, "down"},
		{"too big", func(pl *Plane, p *Peer) { pl.outbound(enginetest.UDPPacket(self, other, 1, 2, testMTU)) }, "too_big"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, p := testPlane(t, self, other)
			tc.run(pl, p)
			if got := pl.drops.snapshot()[tc.reason]; got != 1 {
				t.Errorf("%s = %d, drops %v", tc.reason, got, pl.drops.snapshot())
			}
		})
	}
}

func TestOutboundBatches(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pl, p := testPlane(t, self, other)
	for i := range sendBatch + 2 {
		pl.outbound(enginetest.UDPPacket(self, other, 1, uint16(i), 10))
	}
	if len(p.sendq) != 1 {
		t.Fatalf("%d batches queued before the flush, want the one that filled", len(p.sendq))
	}
	pl.flushOut()
	var got []int
	for len(p.sendq) > 0 {
		sb := <-p.sendq
		got = append(got, sb.n)
		for i := range sb.n {
			pkt := sb.bufs[i].packet()
			if port := int(pkt[22])<<8 | int(pkt[23]); port != (len(got)-1)*sendBatch+i {
				t.Errorf("batch %d packet %d has port %d: order lost", len(got), i, port)
			}
		}
		pl.putBatch(sb)
	}
	if len(got) != 2 || got[0] != sendBatch || got[1] != 2 {
		t.Errorf("batches %v, want [%d 2]", got, sendBatch)
	}
	if d := pl.drops.snapshot()["backpressure"]; d != 0 {
		t.Errorf("%d backpressure drops", d)
	}
}

// TestPeerQueueBound: a peer's queue is bounded in packets, whatever the
// batches' sizes, so a slow peer cannot hold every buffer.
func TestPeerQueueBound(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pl, p := testPlane(t, self, other)
	pkt := enginetest.UDPPacket(self, other, 1, 2, 10)
	for range peerQueueLen/sendBatch + 1 { // full batches, flushed as they fill
		for range sendBatch {
			pl.outbound(pkt)
		}
	}
	if got := pl.drops.snapshot()["backpressure"]; got != sendBatch {
		t.Errorf("%d packets dropped, want the one batch past the bound (%d)", got, sendBatch)
	}
	if p.queued.Load() != peerQueueLen || len(p.sendq) != peerQueueLen/sendBatch {
		t.Errorf("queued %d packets in %d batches, want %d in %d", p.queued.Load(), len(p.sendq), peerQueueLen, peerQueueLen/sendBatch)
	}
	// Once the sender takes a batch, there is room again.
	sb := <-p.sendq
	p.queued.Add(-int32(sb.n))
	pl.putBatch(sb)
	pl.outbound(pkt)
	pl.flushOut()
	if p.queued.Load() != peerQueueLen-sendBatch+1 {
		t.Errorf("queued %d after the sender took a batch, want %d", p.queued.Load(), peerQueueLen-sendBatch+1)
	}
}

// BenchmarkOutbound: the TUN reader's work for one 64-packet read (parse,
// route, firewall, copy into a batch, one queue operation), and the
// sender's release of the batch. Reported per packet.
func BenchmarkOutbound(b *testing.B) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pl, p := testPlane(b, self, other)
	pkt := enginetest.UDPPacket(self, other, 1, 2, 1300)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pl.outbound(pkt)
		if i%sendBatch == sendBatch-1 {
			pl.flushOut()
			sb := <-p.sendq
			p.queued.Add(-int32(sb.n))
			pl.putBatch(sb)
		}
	}
}

// BenchmarkInbound: a decrypted packet's checks (source, destination,
// firewall) and its hand-off to the TUN writer. Reported per packet.
func BenchmarkInbound(b *testing.B) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pl, p := testPlane(b, self, other)
	pkt := enginetest.UDPPacket(other, self, 2, 1, 1300)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		pl.Receive(p, pkt)
		pl.putBuf(<-pl.tunq)
	}
}
