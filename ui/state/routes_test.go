package state

import (
	"slices"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func TestExitChoices(t *testing.T) {
	m := New("1")
	m.Apply(apitype.WatchEvent{Type: apitype.EventSnapshot, Status: &apitype.Status{State: apitype.StateUp, Peers: []apitype.Peer{
		{ID: "a", Hostname: "gw", Online: true, ExitNodeOffer: true, ExitNodeApproved: true},
		{ID: "b", Hostname: "nas", Online: true, ExitNodeOffer: true},
		{ID: "c", Hostname: "old", Online: false},
	}}})
	if got := m.ExitChoices(); len(got) != 1 || got[0].ID != "a" || !got[0].Online || got[0].Selected {
		t.Errorf("choices %+v, want gw only, not selected", got)
	}
	if m.ExitNodeText() != "" || m.ExitNode() != nil {
		t.Error("exit node text without an exit node")
	}
	// An exit node in use that lost its approval stays listed, selected.
	m.Apply(apitype.WatchEvent{Type: apitype.EventRouting, ExitNode: &apitype.ExitNode{ID: "c", Hostname: "old", State: apitype.ExitStateUnapprov}})
	got := m.ExitChoices()
	if len(got) != 2 || got[1].ID != "c" || !got[1].Selected {
		t.Errorf("choices %+v, want gw and old (selected)", got)
	}
	if txt := m.ExitNodeText(); !strings.Contains(txt, "old is unapproved: internet traffic is blocked") {
		t.Errorf("text %q", txt)
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventRouting})
	if m.ExitNode() != nil {
		t.Error("exit node kept after the daemon cleared it")
	}
}

func TestPeerRowsRoutes(t *testing.T) {
	rows := PeerRows(apitype.Peer{ID: "x", Hostname: "nas", ExitNodeOffer: true, Routes: []string{"192.168.1.0/24", "10.0.0.0/8"}})
	var labels []string
	for _, r := range rows {
		labels = append(labels, r.Label+": "+r.Value)
	}
	for _, want := range []string{"Exit node: offered, not approved by an admin", "Routes: 192.168.1.0/24, 10.0.0.0/8"} {
		if !slices.Contains(labels, want) {
			t.Errorf("rows %q lack %q", labels, want)
		}
	}
	for _, r := range PeerRows(apitype.Peer{ID: "y"}) {
		if r.Label == "Routes" || r.Label == "Exit node" {
			t.Errorf("a peer without offers has row %+v", r)
		}
	}
}
