//go:build gui

package views

import (
	"net/netip"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func TestPeerRowWarning(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	row := newPeerRow(h.win.peers)
	p := h.ctl.Model().Peers()[1] // phone, direct
	p.IPv4 = netip.Addr{}
	p.Refused = []netip.Addr{netip.MustParseAddr("100.64.0.4")}
	p.Warnings = []string{"address 100.64.0.4 (network work) refused: printer held it first"}
	row.set(p)
	if want := "Warning: address 100.64.0.4 (network work) refused: printer held it first"; row.reason.Text != want {
		t.Errorf("reason line %q, want %q", row.reason.Text, want)
	}
	if row.addrs.Text != "fd72:6179:6669::4" {
		t.Errorf("addresses %q: the refused IPv4 is shown", row.addrs.Text)
	}
}
