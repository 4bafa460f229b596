package engine

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/router"
)

// testEngine builds an engine with a data plane but no sockets, and one
// peer that owns peerAddr.
func testEngine(t testing.TB, self, peerAddr netip.Addr) (*Engine, *peer) {
	t.Helper()
	e := &Engine{cfg: Config{StateDir: t.TempDir()}, log: slog.New(slog.DiscardHandler)}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	t.Cleanup(e.cancel)
	if err := e.initFilter(); err != nil {
		t.Fatal(err)
	}
	// Let everything through: these tests are about the engine's own checks.
	e.fw.Update(func(rs *firewall.Ruleset, _ *firewall.Suggested) error {
		return rs.SetDefault(firewall.In, firewall.Allow)
	})
	e.startDataPlane()
	e.isUp.Store(true)
	p := &peer{e: e, key: key.NewNode().Public(), sendq: make(chan *pbatch, peerQueueLen), done: make(chan struct{})}
	p.cur.Store(&peerConn{})
	var b router.Builder[*peer]
	b.Add(peerAddr, p)
	e.routes.Install(&b)
	ours := map[netip.Addr]bool{self: true}
	e.ourAddr.Store(&ours)
	return e, p
}

func TestDataPathAllocs(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	e, p := testEngine(t, self, other)
	out := enginetest.UDPPacket(self, other, 1, 2, 1200)
	in := enginetest.UDPPacket(other, self, 2, 1, 1200)
	allocs := testing.AllocsPerRun(1000, func() {
		e.outbound(out)
		e.flushOut()
		e.putBatch(<-p.sendq)
		p.queued.Store(0) // what the sender does after the batch
		e.inbound(p, in)
		e.putBuf(<-e.tunq)
	})
	if allocs != 0 {
		t.Errorf("data path allocates %v per packet pair", allocs)
	}
	if e.drops.snapshot()["backpressure"] != 0 {
		t.Error("unexpected drops")
	}
}

func TestDropReasons(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	stranger := netip.MustParseAddr("100.64.1.4")
	tests := []struct {
		name   string
		run    func(e *Engine, p *peer)
		reason string
	}{
		{"no peer", func(e *Engine, p *peer) { e.outbound(enginetest.UDPPacket(self, stranger, 1, 2, 10)) }, "no_peer"},
		{"queue full", func(e *Engine, p *peer) {
			for range peerQueueLen + 1 { // each flush is a batch of one
				e.outbound(enginetest.UDPPacket(self, other, 1, 2, 10))
				e.flushOut()
			}
		}, "backpressure"},
		{"no free batch", func(e *Engine, p *peer) {
			for e.getBatch() != nil {
			}
			e.outbound(enginetest.UDPPacket(self, other, 1, 2, 10))
		}, "backpressure"},
		{"malformed", func(e *Engine, p *peer) { e.outbound([]byte{0x45, 0}) }, "malformed"},
		{"spoofed", func(e *Engine, p *peer) { e.inbound(p, enginetest.UDPPacket(stranger, self, 1, 2, 10)) }, "spoofed_source"},
		{"not for us", func(e *Engine, p *peer) { e.inbound(p, enginetest.UDPPacket(other, stranger, 1, 2, 10)) }, "not_for_us"},
		{"offline", func(e *Engine, p *peer) {
			p.cur.Store(nil)
			e.outbound(enginetest.UDPPacket(self, other, 1, 2, 10))
		}, "peer_offline"},
		{"down", func(e *Engine, p *peer) {
			e.isUp.Store(false)
			e.outbound(enginetest.UDPPacket(self, other, 1, 2, 10))
		}, "down"},
		{"too big", func(e *Engine, p *peer) { e.outbound(enginetest.UDPPacket(self, other, 1, 2, TUNMTU)) }, "too_big"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, p := testEngine(t, self, other)
			tc.run(e, p)
			if got := e.drops.snapshot()[tc.reason]; got != 1 {
				t.Errorf("%s = %d, drops %v", tc.reason, got, e.drops.snapshot())
			}
		})
	}
}

func TestPreferredConnection(t *testing.T) {
	lo, hi := key.NodePublic{1}, key.NodePublic{2}
	tests := []struct {
		old, new key.NodePublic
		keepOld  bool
	}{
		{lo, hi, true},  // lower key's dial stays
		{hi, lo, false}, // the lower key's new dial replaces
		{lo, lo, false}, // same dialer: newer wins
		{hi, hi, false},
	}
	for _, tc := range tests {
		// Both sides must agree.
		if got := preferred(lo, hi, tc.old, tc.new); got != tc.keepOld {
			t.Errorf("lo side: old %v new %v: keepOld=%v", tc.old[0], tc.new[0], got)
		}
		if got := preferred(hi, lo, tc.old, tc.new); got != tc.keepOld {
			t.Errorf("hi side: old %v new %v: keepOld=%v", tc.old[0], tc.new[0], got)
		}
	}
}

func TestControlFloodLimit(t *testing.T) {
	now := time.Now()
	pc := &peerConn{tokens: ctrlBurst, lastFill: now}
	n := 0
	for pc.allow(now) {
		n++
	}
	if n != ctrlBurst {
		t.Fatalf("burst %d, want %d", n, ctrlBurst)
	}
	if !pc.allow(now.Add(time.Second)) {
		t.Fatal("no refill after a second")
	}
	pc.tokens = 0
	if pc.allow(now.Add(time.Second)) {
		t.Fatal("allowed beyond the rate")
	}
}

func TestOutboundBatches(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	e, p := testEngine(t, self, other)
	for i := range sendBatch + 2 {
		e.outbound(enginetest.UDPPacket(self, other, 1, uint16(i), 10))
	}
	if len(p.sendq) != 1 {
		t.Fatalf("%d batches queued before the flush, want the one that filled", len(p.sendq))
	}
	e.flushOut()
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
		e.putBatch(sb)
	}
	if len(got) != 2 || got[0] != sendBatch || got[1] != 2 {
		t.Errorf("batches %v, want [%d 2]", got, sendBatch)
	}
	if d := e.drops.snapshot()["backpressure"]; d != 0 {
		t.Errorf("%d backpressure drops", d)
	}
}

// TestPeerQueueBound: a peer's queue is bounded in packets, whatever the
// batches' sizes, so a slow peer cannot hold every buffer.
func TestPeerQueueBound(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	e, p := testEngine(t, self, other)
	pkt := enginetest.UDPPacket(self, other, 1, 2, 10)
	for range peerQueueLen/sendBatch + 1 { // full batches, flushed as they fill
		for range sendBatch {
			e.outbound(pkt)
		}
	}
	if got := e.drops.snapshot()["backpressure"]; got != sendBatch {
		t.Errorf("%d packets dropped, want the one batch past the bound (%d)", got, sendBatch)
	}
	if p.queued.Load() != peerQueueLen || len(p.sendq) != peerQueueLen/sendBatch {
		t.Errorf("queued %d packets in %d batches, want %d in %d", p.queued.Load(), len(p.sendq), peerQueueLen, peerQueueLen/sendBatch)
	}
	// Once the sender takes a batch, there is room again.
	sb := <-p.sendq
	p.queued.Add(-int32(sb.n))
	e.putBatch(sb)
	e.outbound(pkt)
	e.flushOut()
	if p.queued.Load() != peerQueueLen-sendBatch+1 {
		t.Errorf("queued %d after the sender took a batch, want %d", p.queued.Load(), peerQueueLen-sendBatch+1)
	}
}

// BenchmarkOutbound: the TUN reader's work for one 64-packet read (parse,
// route, firewall, copy into a batch, one queue operation), and the
// sender's release of the batch. Reported per packet.
func BenchmarkOutbound(b *testing.B) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	e, p := testEngine(b, self, other)
	pkt := enginetest.UDPPacket(self, other, 1, 2, 1300)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.outbound(pkt)
		if i%sendBatch == sendBatch-1 {
			e.flushOut()
			sb := <-p.sendq
			p.queued.Add(-int32(sb.n))
			e.putBatch(sb)
		}
	}
}

// BenchmarkInbound: a decrypted packet's checks (source, destination,
// firewall) and its hand-off to the TUN writer. Reported per packet.
func BenchmarkInbound(b *testing.B) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	e, p := testEngine(b, self, other)
	pkt := enginetest.UDPPacket(other, self, 2, 1, 1300)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		e.inbound(p, pkt)
		e.putBuf(<-e.tunq)
	}
}
