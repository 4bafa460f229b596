package router

import (
	"net/netip"
	"testing"
)

func TestDefaultPeerNeverOwnsOverlay(t *testing.T) {
	var b Builder[string]
	b.Add(netip.MustParseAddr("100.64.0.2"), "peer")
	b.SetDefault("exit")
	var tb Table[string]
	tb.Install(&b)
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"198.18.77.10", true},
		{"2001:db8::1", true},
		{"100.64.0.2", false},        // another peer's
		{"100.64.0.9", false},        // no one's, but overlay
		{"fd72:6179:6669::9", false}, // likewise
		{"100.100.100.53", false},    // magic DNS
	} {
		if got := tb.Owns("exit", netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("exit owns %s = %v, want %v", tc.addr, got, tc.want)
		}
	}
}
