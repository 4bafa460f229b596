package engine

import (
	"fmt"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Co-admins: any node the roster marks as admin holds the network secret
// and may invite, accept and remove. Sharing the secret is the granting
// admin's job (handOverKeys); concurrent roster changes converge by the
// rule in netmap/merge.go.

// SetAdmin shares (admin true) or withdraws admin rights of the member
// peer names in network. Withdrawing is honest about its limit: the
// former admin's node drops the secret if it follows the protocol, but a
// node that does not still holds it.
func (e *Engine) SetAdmin(network, peer string, admin bool) (hostname string, err error) {
	e.mu.Lock()
	n, err := e.adminNetworkLocked(network, "change admins")
	e.mu.Unlock()
	if err != nil {
		return "", err
	}
	m, err := e.resolveMember(n, peer)
	if err != nil {
		return "", err
	}
	defer e.flushSaved() // after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state.ByID(n.ID) != n || !n.IsAdmin() {
		return "", fmt.Errorf("no longer an admin of %q", network)
	}
	changed, err := n.SetAdmin(m.Node, admin, time.Now())
	if err != nil {
		return "", err
	}
	if !changed {
		if admin {
			return "", fmt.Errorf("%s is already an admin of %q", m.Hostname, n.Name)
		}
		return "", fmt.Errorf("%s is not an admin of %q", m.Hostname, n.Name)
	}
	e.saveLocked()
	e.gossipRosterLocked(n.ID, key.NodePublic{})
	if p := e.peers[m.Node]; p != nil && admin {
		if pc := p.cur.Load(); pc != nil { // queued after the roster
			e.sendCtrl(pc, &ctrlMsg{Type: msgAdminKey, AdminKey: &adminKey{Network: n.ID, Secret: n.Secret}})
		}
	}
	e.watchers.notify()
	e.log.Info("admin rights changed", "network", n.Name, "node", m.Node.ShortString(), "admin", admin)
	return m.Hostname, nil
}

// handOverKeys sends p (on pc) the secret of every network this node
// admins in which the roster marks p as a co-admin: on every new
// connection, so a hand-over missed while p was away happens later.
func (e *Engine) handOverKeys(p *peer, pc *peerConn) {
	e.mu.Lock()
	var msgs []*ctrlMsg
	for _, n := range e.state.Networks {
		if n.IsAdmin() && n.Roster.AdminOf(p.key) {
			msgs = append(msgs, &ctrlMsg{Type: msgAdminKey, AdminKey: &adminKey{Network: n.ID, Secret: n.Secret}})
		}
	}
	e.mu.Unlock()
	for _, m := range msgs {
		e.sendCtrl(pc, m)
	}
}

// handleAdminKey adopts a network secret from a co-admin, if our roster
// marks both it and this node as admins.
func (e *Engine) handleAdminKey(from *peer, k adminKey) {
	defer e.flushSaved() // after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.state.ByID(k.Network)
	if n == nil || n.IsAdmin() || !n.Roster.AdminOf(from.key) {
		return
	}
	if err := n.AdoptSecret(k.Secret, e.self); err != nil {
		e.log.Warn("network secret refused", "network", n.Name, "peer", from.key.ShortString(), "err", err)
		return
	}
	e.log.Info("now an admin of the network", "network", n.Name, "from", from.key.ShortString(), "generation", n.Generation())
	// Changes this node signed under a key a concurrent rekey replaced.
	merged, err := n.MergeLost(time.Now())
	if err != nil {
		e.log.Warn("roster merge after rekey", "network", n.Name, "err", err)
	}
	e.saveLocked()
	e.watchers.notify()
	if merged {
		e.recomputeLocked()
		e.gossipRosterLocked(n.ID, key.NodePublic{})
	}
}

// coAdminLocked follows a roster just installed in n (old was the one
// before): a node no longer marked admin drops the secret; an admin whose
// own changes the new roster superseded re-applies them (netmap.Merge).
// It reports whether it signed a merged roster.
func (e *Engine) coAdminLocked(n *netmap.Network, old *netmap.Roster) (merged bool) {
	if !n.Roster.AdminOf(e.self) {
		if n.IsAdmin() || n.AwaitsKey() {
			n.DropSecret()
			e.log.Info("admin rights withdrawn; network secret dropped", "network", n.Name)
		}
		return false
	}
	if !n.IsAdmin() {
		if n.AwaitsKey() {
			e.log.Info("network rekeyed by another admin; waiting for its new secret", "network", n.Name)
		}
		return false
	}
	merged, err := n.Merge(old, time.Now())
	if err != nil {
		e.log.Warn("roster merge", "network", n.Name, "err", err)
	} else if merged {
		e.log.Info("concurrent roster changes merged", "network", n.Name, "version", n.Roster.Version)
	}
	return merged
}
