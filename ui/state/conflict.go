package state

import (
	"strings"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// PeerWarning is the peer's warnings in one line, "" if none: an overlay
// address or bare name this node refused to the peer because a node of
// another network held it first.
func PeerWarning(p apitype.Peer) string {
	if len(p.Warnings) == 0 {
		return ""
	}
	return "Warning: " + strings.Join(p.Warnings, "; ")
}

// PeersWithWarnings counts the peers that have warnings.
func (m *Model) PeersWithWarnings() int {
	n := 0
	for _, p := range m.peers {
		if len(p.Warnings) > 0 {
			n++
		}
	}
	return n
}
