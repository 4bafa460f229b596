package dataplane

import (
	"net/netip"
	"testing"

	"github.com/rayfish/rayfish/engine/enginetest"
)

// TestBulkReorderedCounted: bulk packets that arrive after a newer one
// are delivered and counted (Reordered); a duplicate is dropped
// as bulk_replay, not delivered twice; packets in order count nothing.
func TestBulkReorderedCounted(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pl, p := testPlane(t, self, other)
	s, _ := testBulkSession(t, pl, p)
	pkt := enginetest.UDPPacket(other, self, 1, 2, 100)
	var wires [][]byte
	for range 5 {
		w, err := s.Seal(nil, pkt)
		if err != nil {
			t.Fatal(err)
		}
		wires = append(wires, w)
	}
	deliver := func(i int) {
		pl.ReceiveBulk(wires[i])
		for len(pl.tunq) > 0 {
			pl.putBuf(<-pl.tunq)
		}
	}
	for _, i := range []int{0, 1} { // in order
		deliver(i)
	}
	if got := pl.Reordered(); got != 0 {
		t.Fatalf("reordered %d after packets in order", got)
	}
	for _, i := range []int{4, 2, 3, 3} { // 2 and 3 late, then 3 again
		deliver(i)
	}
	late, replays := pl.Reordered(), pl.Drops()["bulk_replay"]
	if late != 2 || replays != 1 || pl.pktIn.Load() != 5 {
		t.Errorf("reordered %d, replays %d, delivered %d; want 2, 1, 5", late, replays, pl.pktIn.Load())
	}
}
