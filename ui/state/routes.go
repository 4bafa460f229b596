package state

import (
	"strings"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// ExitChoice is one entry of the tray's Exit node menu.
type ExitChoice struct {
	ID       string
	Hostname string
	Online   bool
	Selected bool
}

// ExitNode returns the exit node in use (nil: none).
func (m *Model) ExitNode() *apitype.ExitNode { return m.exitNode }

// ExitChoices lists the peers an admin approved as exit nodes, in peer
// order, with the one in use marked. An exit node in use that is no
// longer approved is listed too, so that the user sees it selected.
func (m *Model) ExitChoices() []ExitChoice {
	var out []ExitChoice
	for _, p := range m.peers {
		sel := m.exitNode != nil && m.exitNode.ID == p.ID
		if !p.ExitNodeApproved && !sel {
			continue
		}
		out = append(out, ExitChoice{ID: p.ID, Hostname: peerName(p), Online: p.Online, Selected: sel})
	}
	return out
}

// ExitNodeText describes the exit node state in one line ("" for none).
func (m *Model) ExitNodeText() string {
	x := m.exitNode
	if x == nil {
		return ""
	}
	if x.State == apitype.ExitStateOnline {
		return "All traffic goes through " + x.Hostname
	}
	return "Exit node " + x.Hostname + " is " + x.State + ": internet traffic is blocked until it returns or you choose None"
}

// routeRows are a peer's exit node and subnet route rows for PeerRows.
func routeRows(p apitype.Peer) []Row {
	var rows []Row
	switch {
	case p.ExitNodeApproved:
		rows = append(rows, Row{Label: "Exit node", Value: "offered and approved"})
	case p.ExitNodeOffer:
		rows = append(rows, Row{Label: "Exit node", Value: "offered, not approved by an admin"})
	}
	if len(p.Routes) > 0 {
		rows = append(rows, Row{Label: "Routes", Value: strings.Join(p.Routes, ", ")})
	}
	return rows
}
