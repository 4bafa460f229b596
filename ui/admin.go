package ui

import (
	"context"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Network administration intents. The daemon checks every one (admin
// rights, unknown peers, name collisions); its one-line error reaches done.

// Remove removes peer (hostname, overlay IP or node id) from network.
func (c *Controller) Remove(network, peer string, done func(apitype.RemoveResponse, error)) {
	call(c, c.cfg.CallTimeout, func(ctx context.Context) (apitype.RemoveResponse, error) {
		return c.cfg.Client.Remove(ctx, network, peer)
	}, done)
}

// SetAdmin shares (admin true) or withdraws peer's admin rights in network.
func (c *Controller) SetAdmin(network, peer string, admin bool, done func(apitype.RemoveResponse, error)) {
	call(c, c.cfg.CallTimeout, func(ctx context.Context) (apitype.RemoveResponse, error) {
		return c.cfg.Client.SetAdmin(ctx, network, peer, admin)
	}, done)
}

// Invites lists network's outstanding invites.
func (c *Controller) Invites(network string, done func([]apitype.InviteInfo, error)) {
	call(c, c.cfg.CallTimeout, func(ctx context.Context) ([]apitype.InviteInfo, error) {
		return c.cfg.Client.Invites(ctx, network)
	}, done)
}

// RevokeInvite revokes the invite id of network.
func (c *Controller) RevokeInvite(network, id string, done func(error)) {
	call0(c, func(ctx context.Context) error { return c.cfg.Client.RevokeInvite(ctx, network, id) }, done)
}

// SetHostname renames this device in network.
func (c *Controller) SetHostname(network, name string, done func(error)) {
	call0(c, func(ctx context.Context) error { return c.cfg.Client.SetHostname(ctx, network, name) }, done)
}

// Rekey gives network a new key.
func (c *Controller) Rekey(network string, done func(apitype.RekeyResponse, error)) {
	call(c, c.cfg.CallTimeout, func(ctx context.Context) (apitype.RekeyResponse, error) {
		return c.cfg.Client.Rekey(ctx, network)
	}, done)
}

// DeleteNetwork dissolves network for every member.
func (c *Controller) DeleteNetwork(network string, done func(error)) {
	call0(c, func(ctx context.Context) error { return c.cfg.Client.DeleteNetwork(ctx, network) }, done)
}
