package magicdns

import (
	"net/netip"
	"testing"
)

// TestTableNoBare: an entry marked NoBare never takes the bare name, even
// when it comes first; its qualified name still resolves.
func TestTableNoBare(t *testing.T) {
	v4 := netip.MustParseAddr("100.64.3.3")
	first := netip.MustParseAddr("fd72:6179:6669::1")
	second := netip.MustParseAddr("fd72:6179:6669::2")
	tbl := NewTable([]Entry{
		{Network: "work", Hostname: "nas", IPv6: first, NoBare: true},
		{Network: "home", Hostname: "nas", IPv4: v4, IPv6: second},
	})
	tests := []struct {
		name   string
		v4, v6 netip.Addr
	}{
		{"nas.ray", v4, second},
		{"NAS.work.ray.", netip.Addr{}, first},
		{"nas.home.ray", v4, second},
	}
	for _, tc := range tests {
		a4, a6, ok := tbl.Addrs(tc.name)
		if !ok || a4 != tc.v4 || a6 != tc.v6 {
			t.Errorf("%s = %v %v %v, want %v %v", tc.name, a4, a6, ok, tc.v4, tc.v6)
		}
	}
	if name, _ := tbl.reverse(first); name != "nas.work.ray." {
		t.Errorf("PTR of the NoBare entry = %q", name)
	}
	only := NewTable([]Entry{{Network: "work", Hostname: "nas", IPv6: first, NoBare: true}})
	if _, _, ok := only.Addrs("nas.ray"); ok {
		t.Error("a NoBare entry made the bare name")
	}
}
