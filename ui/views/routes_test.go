//go:build gui

package views

import (
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestPeerDetailsRoutes: the details of a peer show the routes it
// carries for us and its exit node offer, and follow the stream.
func TestPeerDetailsRoutes(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	h.fake.SetFirewall(fwState())
	d := h.win.peers.details
	h.win.peers.list.Select(0) // nas
	h.fake.WaitCall(t, "Firewall")
	if v := rowValue(d.rows, "Routes"); v != "" {
		t.Fatalf("routes row %q for a peer without routes", v)
	}
	nas := h.ctl.Model().Peers()[0]
	nas.Routes, nas.ExitNodeOffer, nas.ExitNodeApproved = []string{"192.168.1.0/24"}, true, true
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &nas})
	h.q.RunUntil(t, func() bool { return rowValue(d.rows, "Routes") != "" })
	if rowValue(d.rows, "Routes") != "192.168.1.0/24" || rowValue(d.rows, "Exit node") != "offered and approved" {
		t.Errorf("rows %v", d.rows.shown)
	}
}
