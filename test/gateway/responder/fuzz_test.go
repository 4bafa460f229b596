package responder

import (
	"net/netip"
	"testing"
)

// FuzzHandlePMP: any datagram on port 5351 gets a bounded answer (or
// none) and never a panic.
func FuzzHandlePMP(f *testing.F) {
	src := netip.MustParseAddrPort("192.168.1.2:5000")
	pcp := make([]byte, 60)
	pcp[0], pcp[1], pcp[4+3] = 2, 1, 100
	a16 := netip.AddrFrom4([4]byte{192, 168, 1, 2}).As16()
	copy(pcp[8:24], a16[:])
	pcp[24+12], pcp[24+17] = 17, 99
	f.Add(pcp)
	f.Add([]byte{0, 0})
	f.Add([]byte{0, 1, 0, 0, 0, 99, 0, 99, 0, 0, 14, 16})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := New(Config{External: netip.MustParseAddr("198.18.0.1"), NATPMP: true, PCP: true})
		r := s.HandlePMP(b, src)
		if len(r) > 1100 {
			t.Fatalf("answer of %d bytes", len(r))
		}
		if len(s.Mappings()) > 1 {
			t.Fatalf("one datagram made %d mappings", len(s.Mappings()))
		}
	})
}
