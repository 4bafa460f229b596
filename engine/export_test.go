package engine

import (
	"time"

	"github.com/rayfish/rayfish/engine/netmap"
)

// CreateNetwork creates a network with this node as its admin, under no
// hostname of its own (the local API calls CreateNetworkAs).
func (e *Engine) CreateNetwork(name string, open bool) (*netmap.Network, error) {
	return e.CreateNetworkAs(name, open, "")
}

// Invite issues an invite code for the named network, bound to no
// hostname (the local API calls InviteAs).
func (e *Engine) Invite(name string, kind netmap.InviteKind, ttl time.Duration) (string, netmap.Invite, error) {
	return e.InviteAs(name, kind, ttl, "")
}

// BulkSessions counts registered bulk receiving sessions.
func (e *Engine) BulkSessions() int { return e.dp.BulkSessions() }
