package state

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func TestPeerWarning(t *testing.T) {
	clean := peer("3", "zeta", true, apitype.PathDirect)
	refused := peer("4", "nas", true, apitype.PathDirect)
	refused.IPv4 = netip.Addr{}
	refused.Refused = []netip.Addr{netip.MustParseAddr("100.64.9.9")}
	refused.Warnings = []string{
		"address 100.64.9.9 (network work) refused: printer (abcdefgh) held it first",
		"name nas.ray refused: printer (abcdefgh) held it first; use nas.work.ray",
	}
	if w := PeerWarning(clean); w != "" {
		t.Errorf("warning for a clean peer: %q", w)
	}
	want := "Warning: address 100.64.9.9 (network work) refused: printer (abcdefgh) held it first; " +
		"name nas.ray refused: printer (abcdefgh) held it first; use nas.work.ray"
	if w := PeerWarning(refused); w != want {
		t.Errorf("PeerWarning = %q, want %q", w, want)
	}
	m := New("dev")
	m.Apply(snapshot(apitype.StateUp, clean, refused))
	if n := m.PeersWithWarnings(); n != 1 {
		t.Errorf("PeersWithWarnings = %d, want 1", n)
	}
	if tip := m.TrayTooltip(); !strings.Contains(tip, "1 peer(s) with refused addresses or names") {
		t.Errorf("tooltip does not mention the refused peer: %q", tip)
	}
	// The IPv6 of a peer whose IPv4 was refused still finds it.
	if got := ids(m.FilterPeers(refused.IPv6.String(), false)); len(got) != 1 || got[0] != "nas" {
		t.Errorf("FilterPeers by IPv6 = %v", got)
	}
}
