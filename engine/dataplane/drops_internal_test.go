package dataplane

import (
	"net/netip"
	"testing"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/firewall"
)

func TestRecentCounter(t *testing.T) {
	var r recentCounter
	for _, s := range []int64{100, 100, 101, 159} {
		r.add(s)
	}
	tests := []struct {
		now  int64
		want uint64
	}{
		{now: 100, want: 2},
		{now: 101, want: 3},
		{now: 159, want: 4},
		{now: 160, want: 2}, // second 100 is a minute old
		{now: 161, want: 1},
		{now: 218, want: 1},
		{now: 219, want: 0},
	}
	for _, tt := range tests {
		if got := r.sum(tt.now); got != tt.want {
			t.Errorf("sum(%d) = %d, want %d", tt.now, got, tt.want)
		}
	}
	// Second 160 reuses second 100's bucket: the old count is gone.
	r.add(160)
	if got := r.sum(160); got != 3 {
		t.Errorf("after reuse: sum(160) = %d, want 3 (101, 159, 160)", got)
	}
}

func TestRecentCounterAllocs(t *testing.T) {
	var r recentCounter
	s := int64(0)
	if n := testing.AllocsPerRun(1000, func() { s++; r.add(s) }); n != 0 {
		t.Errorf("add allocates %v times", n)
	}
}

// TestFirewallInWindow: an inbound packet the firewall denies is counted
// in the last-minute window shown by status, without allocating.
func TestFirewallInWindow(t *testing.T) {
	self, other := netip.MustParseAddr("100.64.1.2"), netip.MustParseAddr("100.64.1.3")
	pl, p := testPlane(t, self, other)
	pl.cfg.Firewall.Update(func(rs *firewall.Ruleset, _ *firewall.Suggested) error {
		return rs.SetDefault(firewall.In, firewall.Deny)
	})
	in := enginetest.UDPPacket(other, self, 2, 8080, 100)
	allocs := testing.AllocsPerRun(100, func() { pl.Receive(p, in) })
	if allocs != 0 {
		t.Errorf("a firewall drop allocates %v times", allocs)
	}
	got, total := pl.fwInRecent.sum(pl.second()), pl.drops.snapshot()["firewall_in"]
	if got != total || got < 100 {
		t.Errorf("last minute %d, firewall_in %d", got, total)
	}
	if later := pl.fwInRecent.sum(pl.second() + recentWindow); later != 0 {
		t.Errorf("a minute later: %d", later)
	}
}
