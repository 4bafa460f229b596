package magicconn

import (
	"net/netip"
	"slices"
	"testing"
)

// TestMappedEndpoint: the gateway's mapping is advertised right after
// the local addresses, once, and goes when cleared.
func TestMappedEndpoint(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.newNode("a", easy, nodeOpts{noQUIC: true})
	a.waitHome(t)
	before, _ := a.mc.Endpoints()
	mapped := netip.AddrPortFrom(natlabAddr("198.18.77.1"), 40000)
	a.mc.SetMappedEndpoint(mapped)
	a.mc.SetMappedEndpoint(mapped)
	eps, _ := a.mc.Endpoints()
	if len(eps) != len(before)+1 || eps[1] != mapped || eps[0] != before[0] {
		t.Fatalf("endpoints %v, want %v with %v second", eps, before, mapped)
	}
	a.mc.SetMappedEndpoint(netip.AddrPort{})
	if eps, _ := a.mc.Endpoints(); slices.Contains(eps, mapped) {
		t.Fatalf("cleared mapping still advertised: %v", eps)
	}
	if a.mc.LocalPort() != a.pc.LocalAddrPort().Port() {
		t.Errorf("LocalPort %d, socket %v", a.mc.LocalPort(), a.pc.LocalAddrPort())
	}
}
