package dataplane

import (
	"encoding/binary"
	"maps"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/bulk"
	"github.com/rayfish/rayfish/engine/enginetest"
)

// testBulk opens p's bulk channel on pl with keys from derive.
func testBulk(t testing.TB, pl *Plane, p *Peer, derive func(uint32) (bulk.Keys, bulk.Keys, error)) *Bulk {
	t.Helper()
	b, err := pl.NewBulk(p, BulkConfig{Derive: derive, Fallback: &Datagrams{}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testBulkSession sets up p's bulk channel on pl (epochs 0 to
// bulkRecvAhead) and returns it, and a Sender of the peer's, at epoch 0,
// whose packets it opens.
func testBulkSession(t testing.TB, pl *Plane, p *Peer) (*bulk.Sender, *Bulk) {
	t.Helper()
	peerSide, ourSide := fakeDerive()
	ch := testBulk(t, pl, p, ourSide)
	send, _, _ := peerSide(0)
	s, err := bulk.NewSender(&send)
	if err != nil {
		t.Fatal(err)
	}
	return s, ch
}

// TestOversizeBulkDropped: an authenticated bulk packet larger than a
// pooled buffer (3 KB, as a relay frame or a GRO read can carry) is
// dropped and counted as malformed; it must not panic the reader. The
// largest packet that fits a buffer still goes through.
func TestOversizeBulkDropped(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	for _, tc := range []struct {
		name      string
		size      int // IP packet length
		malformed uint64
		delivered uint64
	}{
		{"3 KB", 3000, 1, 0},
		{"one past the buffer", MaxPacket + 1, 1, 0},
		{"largest that fits", pbufSize - headroom, 0, 1},
		{"ordinary", 1200, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, p := testPlane(t, self, other)
			s, _ := testBulkSession(t, pl, p)
			pkt := enginetest.UDPPacket(other, self, 1, 2, tc.size-28)
			wire, err := s.Seal(nil, pkt)
			if err != nil {
				t.Fatal(err)
			}
			pl.ReceiveBulk(wire)
			if got := pl.drops.snapshot()["malformed"]; got != tc.malformed {
				t.Errorf("malformed drops %d, want %d", got, tc.malformed)
			}
			if got := pl.pktIn.Load(); got != tc.delivered {
				t.Errorf("%d packets delivered, want %d", got, tc.delivered)
			}
			if tc.delivered == 1 {
				b := <-pl.tunq
				if string(b.packet()) != string(pkt) {
					t.Error("delivered packet differs from the one sealed")
				}
				pl.putBuf(b)
			}
		})
	}
}

// fakeDerive returns the key derivations of the two ends of one
// connection: what one end sends in an epoch, the other receives.
func fakeDerive() (a, b func(uint32) (bulk.Keys, bulk.Keys, error)) {
	keys := func(dir byte, epoch uint32) bulk.Keys {
		k := bulk.Keys{Cipher: bulk.ChaCha20Poly1305}
		k.Key[0], k.Session[0] = dir, dir
		binary.BigEndian.PutUint32(k.Key[1:], epoch)
		binary.BigEndian.PutUint32(k.Session[1:], epoch)
		return k
	}
	a = func(e uint32) (bulk.Keys, bulk.Keys, error) { return keys(1, e), keys(2, e), nil }
	b = func(e uint32) (bulk.Keys, bulk.Keys, error) { return keys(2, e), keys(1, e), nil }
	return a, b
}

// TestBulkRotationOneGoroutine: while the epochs after the peer's new one
// are being registered, further packets in the new epoch start no more
// goroutines (they used to start one each), and the rotation ends with
// the new epoch and the bulkRecvAhead after it registered, the old one
// retired.
func TestBulkRotationOneGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
		pl, p := testPlane(t, self, other)
		peerSide, ourSide := fakeDerive()
		release := make(chan struct{})
		var rotations atomic.Int32
		derive := func(epoch uint32) (bulk.Keys, bulk.Keys, error) {
			if epoch > bulkRecvAhead { // a rotation: hold it until the packets are in
				rotations.Add(1)
				<-release
			}
			return ourSide(epoch)
		}
		pc := testBulk(t, pl, p, derive)
		send, _, _ := peerSide(1)
		s, err := bulk.NewSender(&send)
		if err != nil {
			t.Fatal(err)
		}
		pkt := enginetest.UDPPacket(other, self, 1, 2, 100)
		for range 100 {
			wire, err := s.Seal(nil, pkt)
			if err != nil {
				t.Fatal(err)
			}
			pl.ReceiveBulk(wire)
			pl.putBuf(<-pl.tunq)
		}
		synctest.Wait()
		if n := rotations.Load(); n != 1 {
			t.Errorf("%d rotations started by 100 packets in a new epoch, want 1", n)
		}
		close(release)
		synctest.Wait()
		if got, want := recvEpochs(pc), []uint32{1, 2, 3}; !slices.Equal(got, want) {
			t.Errorf("epochs %v registered, want %v", got, want)
		}
		if pl.BulkSessions() != 3 {
			t.Errorf("%d sessions, want 3", pl.BulkSessions())
		}
		pc.Close()
		if pl.BulkSessions() != 0 {
			t.Errorf("%d sessions after dropBulk", pl.BulkSessions())
		}
	})
}

// TestBulkRekeyByTime: on virtual time, a sender that sends a little
// (bulk.RekeyMinPackets per epoch) moves to a new epoch every
// bulk.RekeyAfterTime, the receiver follows, keeping the current epoch
// and the two after it. One that sends less stays in its epoch.
func TestBulkRekeyByTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		aAddr, bAddr := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
		a, pb := testPlane(t, aAddr, bAddr) // pb: b, as a's peer
		b, pa := testPlane(t, bAddr, aAddr)
		deriveA, deriveB := fakeDerive()
		pcA, pcB := testBulk(t, a, pb, deriveA), testBulk(t, b, pa, deriveB)
		if err := pcA.StartSend(0); err != nil {
			t.Fatal(err)
		}
		pkt := enginetest.UDPPacket(aAddr, bAddr, 1, 2, 100)
		send := func() {
			t.Helper()
			wire, err := pcA.current().Seal(nil, pkt)
			if err != nil {
				t.Fatal(err)
			}
			b.ReceiveBulk(wire)
			b.putBuf(<-b.tunq)
		}
		for i := range 5 {
			for range bulk.RekeyMinPackets { // far below any packet limit
				send()
				time.Sleep(100 * time.Millisecond)
			}
			synctest.Wait() // b's rotation
			if got := pcA.epoch.Load(); got != uint32(i) {
				t.Fatalf("after %v the sender is in epoch %d, want %d", time.Duration(i)*bulk.RekeyAfterTime, got, i)
			}
			if got, want := recvEpochs(pcB), []uint32{uint32(i), uint32(i) + 1, uint32(i) + 2}; !slices.Equal(got, want) || b.BulkSessions() != 3 {
				t.Fatalf("epoch %d: receiver has epochs %v (%d sessions), want %v", i, got, b.BulkSessions(), want)
			}
			time.Sleep(bulk.RekeyAfterTime - time.Duration(bulk.RekeyMinPackets)*100*time.Millisecond)
		}
		if d := b.drops.snapshot(); d["bulk_unknown_session"]+d["bulk_auth"]+d["bulk_replay"] != 0 {
			t.Errorf("drops across rekeys: %v", d)
		}
		if got, want := b.pktIn.Load(), uint64(5*bulk.RekeyMinPackets); got != want {
			t.Errorf("%d packets delivered, want %d", got, want)
		}
		// Quiet now: one packet per epoch length stays in epoch 5.
		for range 3 {
			time.Sleep(bulk.RekeyAfterTime)
			send()
		}
		if got := pcA.epoch.Load(); got != 5 {
			t.Errorf("a quiet sender moved to epoch %d, want 5", got)
		}
	})
}

// FuzzOnBulk feeds the bulk receive path arbitrary bytes, and arbitrary
// plaintexts sealed with the session's genuine keys (any size a Sender
// accepts). Nothing may panic, and every packet is either delivered or
// counted as exactly one drop.
func FuzzOnBulk(f *testing.F) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	for _, n := range []int{0, 20, 1200, pbufSize - headroom, 3000} {
		f.Add(enginetest.UDPPacket(other, self, 1, 2, max(n-28, 0)), true)
	}
	f.Add([]byte{bulk.Marker}, false)
	f.Add(make([]byte, 5000), false)
	pl, p := testPlane(f, self, other)
	s, _ := testBulkSession(f, pl, p)
	f.Fuzz(func(t *testing.T, b []byte, seal bool) {
		wire := b
		if seal {
			var err error
			if wire, err = s.Seal(nil, b); err != nil {
				return // over bulk.MaxPacket: no sender makes it
			}
		}
		before := pl.pktIn.Load() + dropTotal(pl)
		pl.ReceiveBulk(wire)
		if got := pl.pktIn.Load() + dropTotal(pl) - before; got != 1 {
			t.Fatalf("packet counted %d times (delivered or dropped), want once", got)
		}
		for len(pl.tunq) > 0 {
			pl.putBuf(<-pl.tunq)
		}
	})
}

func dropTotal(pl *Plane) uint64 {
	var n uint64
	for i := range pl.drops {
		n += pl.drops[i].Load()
	}
	return n
}

// TestOversizeDatagramDropped: the QUIC datagram carrier has the same
// bound as the bulk channel: a packet larger than a pooled buffer is
// dropped and counted as malformed.
func TestOversizeDatagramDropped(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pl, p := testPlane(t, self, other)
	pl.Receive(p, enginetest.UDPPacket(other, self, 1, 2, 3000))
	if got := pl.drops.snapshot()["malformed"]; got != 1 || pl.pktIn.Load() != 0 {
		t.Errorf("malformed drops %d, delivered %d; want 1 and 0", got, pl.pktIn.Load())
	}
}

// TestBulkPathAllocs: receiving on the bulk channel (session lookup,
// open, checks, hand-off to the TUN writer) and the sender's per-batch
// rekey check allocate nothing.
func TestBulkPathAllocs(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pl, p := testPlane(t, self, other)
	s, pc := testBulkSession(t, pl, p)
	pkt := enginetest.UDPPacket(other, self, 1, 2, 1200)
	wire := make([]byte, 0, len(pkt)+bulk.Overhead)
	if err := pc.StartSend(0); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		w, _ := s.Seal(wire, pkt)
		pl.ReceiveBulk(w)
		pl.putBuf(<-pl.tunq)
		_ = pc.current()
	})
	if allocs != 0 {
		t.Errorf("bulk path allocates %v per packet", allocs)
	}
	if pl.pktIn.Load() < 1000 {
		t.Errorf("only %d packets delivered", pl.pktIn.Load())
	}
}

// recvEpochs returns the epochs b can receive, in order.
func recvEpochs(b *Bulk) []uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.recvs))
}

// TestBulkLostEpoch: when none of an epoch's packets reach the receiver
// (all lost), the sender's next epoch still opens.
func TestBulkLostEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		aAddr, bAddr := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
		b, pa := testPlane(t, bAddr, aAddr)
		deriveA, deriveB := fakeDerive()
		pcB := testBulk(t, b, pa, deriveB)
		pkt := enginetest.UDPPacket(aAddr, bAddr, 1, 2, 100)
		for epoch, delivered := range []bool{true, false, true, true} {
			send, _, _ := deriveA(uint32(epoch))
			s, err := bulk.NewSender(&send)
			if err != nil {
				t.Fatal(err)
			}
			wire, err := s.Seal(nil, pkt)
			if err != nil {
				t.Fatal(err)
			}
			if !delivered {
				continue
			}
			b.ReceiveBulk(wire)
			synctest.Wait()
			if b.pktIn.Load() == 0 {
				t.Fatalf("epoch %d not opened; drops %v", epoch, b.drops.snapshot())
			}
			b.pktIn.Store(0)
			b.putBuf(<-b.tunq)
		}
		if got, want := recvEpochs(pcB), []uint32{3, 4, 5}; !slices.Equal(got, want) {
			t.Errorf("epochs %v registered, want %v", got, want)
		}
	})
}
