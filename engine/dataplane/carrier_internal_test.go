package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/bulk"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/router"
)

// recordCarrier is a Carrier that keeps copies of what it is sent.
type recordCarrier struct {
	mu   sync.Mutex
	pkts [][]byte
}

func (c *recordCarrier) Send(pkts [][]byte, r *Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range pkts {
		c.pkts = append(c.pkts, slices.Clone(p))
		r.Sent(p)
	}
}

func (c *recordCarrier) Kind() string { return "record" }

func (c *recordCarrier) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pkts)
}

// TestSenderUsesCarrier: a peer's sender hands its queue to the carrier
// set last, in order; offline, the packets are counted as peer_offline;
// Close stops the sender.
func TestSenderUsesCarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
		pl, _ := testPlane(t, self, other)
		p := pl.NewPeer(key.NewNode().Public())
		var b router.Builder[*Peer]
		b.AddLocal(self)
		b.Add(other, p)
		pl.SetRoutes(&b)

		first, second := &recordCarrier{}, &recordCarrier{}
		p.SetCarrier(first)
		for i := range 3 {
			pl.outbound(enginetest.UDPPacket(self, other, 1, uint16(i), 10))
		}
		pl.flushOut()
		synctest.Wait()
		if first.count() != 3 {
			t.Fatalf("first carrier got %d packets, want 3", first.count())
		}
		for i, pkt := range first.pkts {
			if port := int(pkt[22])<<8 | int(pkt[23]); port != i {
				t.Errorf("packet %d has port %d: order lost", i, port)
			}
		}
		if !p.SwapCarrier(first, second) || p.SwapCarrier(first, second) {
			t.Fatal("SwapCarrier must swap once, from the current carrier only")
		}
		pl.outbound(enginetest.UDPPacket(self, other, 1, 2, 10))
		pl.flushOut()
		synctest.Wait()
		if first.count() != 3 || second.count() != 1 || p.Carrier() != Carrier(second) {
			t.Errorf("after the swap: first %d, second %d packets", first.count(), second.count())
		}
		if tx, _ := p.Bytes(); tx != 4*38 {
			t.Errorf("tx bytes %d, want %d", tx, 4*38)
		}
		if _, out := pl.Packets(); out != 4 {
			t.Errorf("%d packets out, want 4", out)
		}

		// Queued, then offline before the sender runs.
		sb := pl.getBatch()
		sb.bufs[0], sb.n = pl.getBuf(), 1
		p.SetCarrier(nil)
		p.enqueue(sb)
		synctest.Wait()
		if got := pl.Drops()["peer_offline"]; got != 1 {
			t.Errorf("peer_offline %d, want 1", got)
		}
		if p.queued.Load() != 0 {
			t.Errorf("%d packets still counted as queued", p.queued.Load())
		}
		p.Close()
		p.Close() // idempotent
		synctest.Wait()
	})
}

// fakeConn is a DatagramConn that fails as told.
type fakeConn struct {
	err  error
	sent int
}

func (c *fakeConn) SendDatagram(b []byte) error {
	if c.err == nil {
		c.sent++
	}
	return c.err
}

// TestDatagrams: each packet is one datagram; a datagram too large for
// the path is answered with ICMP into the TUN, other errors are counted.
func TestDatagrams(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pkt := enginetest.UDPPacket(self, other, 1, 2, 1000)
	tests := []struct {
		name   string
		err    error
		sent   int
		reason string
		icmp   bool
	}{
		{"sent", nil, 2, "", false},
		{"too large", &quic.DatagramTooLargeError{MaxDatagramPayloadSize: 900}, 0, "too_big", true},
		{"failed", errors.New("closed"), 0, "send_failed", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, p := testPlane(t, self, other)
			c := &fakeConn{err: tc.err}
			d := &Datagrams{Conn: c}
			d.Send([][]byte{pkt, pkt}, &p.report)
			if c.sent != tc.sent {
				t.Errorf("%d sent, want %d", c.sent, tc.sent)
			}
			if tc.reason != "" && pl.Drops()[tc.reason] != 2 {
				t.Errorf("drops %v, want 2 %s", pl.Drops(), tc.reason)
			}
			if got := len(pl.tunq) > 0; got != tc.icmp {
				t.Errorf("ICMP into the TUN: %v, want %v", got, tc.icmp)
			}
			if d.Kind() != "datagram" {
				t.Errorf("kind %q", d.Kind())
			}
		})
	}
}

// segWriter records the trains a Bulk carrier writes.
type segWriter struct {
	trains [][]byte
	segs   []int
}

func (w *segWriter) WriteSegments(b []byte, seg int, _ net.Addr) error {
	w.trains = append(w.trains, slices.Clone(b))
	w.segs = append(w.segs, seg)
	return nil
}

// TestBulkCarrier: before StartSend the fallback carries the packets;
// after it, equal-size packets leave as one train the peer opens, and a
// different size starts a new train.
func TestBulkCarrier(t *testing.T) {
	aAddr, bAddr := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	a, pb := testPlane(t, aAddr, bAddr)
	b, pa := testPlane(t, bAddr, aAddr)
	deriveA, deriveB := fakeDerive()
	fallback := &recordCarrier{}
	w := &segWriter{}
	ch, err := a.NewBulk(pb, BulkConfig{Writer: w, Derive: deriveA, Fallback: fallback})
	if err != nil {
		t.Fatal(err)
	}
	testBulk(t, b, pa, deriveB)
	small := enginetest.UDPPacket(aAddr, bAddr, 1, 2, 100)
	big := enginetest.UDPPacket(aAddr, bAddr, 1, 2, 1000)

	ch.Send([][]byte{small}, &pb.report)
	if fallback.count() != 1 || len(w.trains) != 0 || ch.Kind() != "record" {
		t.Fatalf("before StartSend: fallback %d, trains %d, kind %q", fallback.count(), len(w.trains), ch.Kind())
	}
	if err := ch.StartSend(0); err != nil {
		t.Fatal(err)
	}
	ch.Send([][]byte{small, small, small, big}, &pb.report)
	if fallback.count() != 1 || ch.Kind() != "bulk" {
		t.Fatalf("after StartSend: fallback %d, kind %q", fallback.count(), ch.Kind())
	}
	// Three small ones share a train; the big one does not fit it.
	if len(w.trains) != 2 || len(w.trains[0]) != 3*w.segs[0] {
		t.Fatalf("trains of %v bytes in segments %v, want 3 small packets, then the big one", lens(w.trains), w.segs)
	}
	for i, train := range w.trains {
		for off := 0; off < len(train); off += w.segs[i] {
			b.ReceiveBulk(train[off:min(off+w.segs[i], len(train))])
		}
	}
	if in, _ := b.Packets(); in != 4 {
		t.Errorf("receiver delivered %d packets, want 4; drops %v", in, b.Drops())
	}
	ch.Close()
	ch.Close() // idempotent
	ch.Send([][]byte{small}, &pb.report)
	if fallback.count() != 2 {
		t.Error("a closed bulk channel does not fall back to datagrams")
	}
}

func lens(bs [][]byte) []int {
	var n []int
	for _, b := range bs {
		n = append(n, len(b))
	}
	return n
}

// TestExitNodeInbound: the plane's source check follows the table: an
// exit peer may send from any address no one else owns, others only from
// theirs; every destination must still be ours.
func TestExitNodeInbound(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	internet := netip.MustParseAddr("192.0.2.7")
	tests := []struct {
		name     string
		exit     bool
		src, dst netip.Addr
		reason   string // "" = delivered
	}{
		{"own address", false, other, self, ""},
		{"internet without exit", false, internet, self, "spoofed_source"},
		{"internet from exit", true, internet, self, ""},
		{"exit to not ours", true, internet, internet, "not_for_us"},
		{"exit from our address", true, self, self, "spoofed_source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, p := testPlane(t, self, other)
			var b router.Builder[*Peer]
			b.AddLocal(self)
			b.Add(other, p)
			if tc.exit {
				b.SetDefault(p)
			}
			pl.SetRoutes(&b)
			pl.Receive(p, enginetest.UDPPacket(tc.src, tc.dst, 1, 2, 10))
			in, _ := pl.Packets()
			if tc.reason == "" && in != 1 {
				t.Errorf("not delivered: drops %v", pl.Drops())
			}
			if tc.reason != "" && pl.Drops()[tc.reason] != 1 {
				t.Errorf("drops %v, want one %s", pl.Drops(), tc.reason)
			}
		})
	}
}

// TestDeliverDNS: a forwarded DNS reply goes into the TUN; one larger
// than a pooled buffer is dropped and counted.
func TestDeliverDNS(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pl, _ := testPlane(t, self, other)
	reply := enginetest.UDPPacket(key.MagicDNSv4, self, 53, 1000, 100)
	pl.DeliverDNS(reply)
	if len(pl.tunq) != 1 || string((<-pl.tunq).packet()) != string(reply) {
		t.Error("reply not queued for the TUN as sent")
	}
	pl.DeliverDNS(make([]byte, MaxPacket+1))
	if len(pl.tunq) != 0 || pl.Drops()["backpressure"] != 1 {
		t.Errorf("oversize reply: %d queued, drops %v", len(pl.tunq), pl.Drops())
	}
}

// TestBulkTrainScratch: a peer sent lone packets keeps a one-packet
// scratch train (most peers of a large mesh: a ping now and then); its
// first batch grows it to a full GSO train once, the largest packet
// still fits either, and sending allocates nothing after that.
func TestBulkTrainScratch(t *testing.T) {
	aAddr, bAddr := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	a, pb := testPlane(t, aAddr, bAddr)
	deriveA, _ := fakeDerive()
	w := &segWriter{}
	ch, err := a.NewBulk(pb, BulkConfig{Writer: w, Derive: deriveA, Fallback: &recordCarrier{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ch.Close)
	if err := ch.StartSend(0); err != nil {
		t.Fatal(err)
	}
	largest := enginetest.UDPPacket(aAddr, bAddr, 1, 2, MaxPacket-28)
	ch.Send([][]byte{largest}, &pb.report)
	if c := cap(ch.train); c > pbufSize+bulk.Overhead {
		t.Errorf("a lone packet took a %d-byte train", c)
	}
	batch := [][]byte{largest, largest, largest}
	ch.Send(batch, &pb.report)
	if c := cap(ch.train); c < gsoTrainMax {
		t.Errorf("a batch has a %d-byte train, want a full one", c)
	}
	if len(w.trains) != 2 || len(w.trains[0]) != w.segs[0] || len(w.trains[1]) != 3*w.segs[1] {
		t.Errorf("trains of %v bytes in segments %v, want the lone packet, then the three", lens(w.trains), w.segs)
	}
	ch.cfg.Writer = nopWriter{} // segWriter's copies allocate
	if n := testing.AllocsPerRun(100, func() {
		ch.Send(batch[:1], &pb.report)
		ch.Send(batch, &pb.report)
	}); n != 0 {
		t.Errorf("sending allocates %v per round once the train is grown", n)
	}
}

// nopWriter sends trains nowhere.
type nopWriter struct{}

func (nopWriter) WriteSegments([]byte, int, net.Addr) error { return nil }
