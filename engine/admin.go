package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/engine/internal/atomicfile"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Network administration: removing members, listing and revoking
// invites. Every change is a new roster signed with the network key, so
// every member (and every co-admin) follows it.

// removedReason prefixes the close reason an admin gives a member it
// removed; the network id follows.
const removedReason = "removed "

// deletedReason is the close reason of an admin that deleted the network
// (DeleteNetwork); the network id follows.
const deletedReason = "deleted "

// adminNetworkLocked returns the named network if this node admins it.
func (e *Engine) adminNetworkLocked(name, verb string) (*netmap.Network, error) {
	n, err := e.networkLocked(name)
	if err != nil {
		return nil, err
	}
	if !n.IsAdmin() {
		return nil, fmt.Errorf("only an admin of %q can %s", n.Name, verb)
	}
	return n, nil
}

// resolveMemberLocked finds the member of n that s names: a hostname in
// n's roster first, then anything ResolvePeer accepts.
func (e *Engine) resolveMember(n *netmap.Network, s string) (netmap.Member, error) {
	q := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	q = strings.TrimSuffix(strings.TrimSuffix(q, ".ray"), "."+n.Name)
	e.mu.Lock()
	for _, m := range n.Roster.Members {
		if m.Hostname == q {
			e.mu.Unlock()
			if m.Node == e.self {
				return netmap.Member{}, e.isSelfErr(s)
			}
			return m, nil
		}
	}
	e.mu.Unlock()
	k, err := e.ResolvePeer(s)
	if err != nil {
		return netmap.Member{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := n.Roster.Member(k)
	if !ok {
		return netmap.Member{}, fmt.Errorf("%q (%s) is not a member of %q", s, k.ShortString(), n.Name)
	}
	return m, nil
}

// RemovePeer removes the member peer names from network (admin only). The
// new roster goes to every member, which closes its connections to the
// removed node; the removed node gets it too, so it knows.
func (e *Engine) RemovePeer(network, peer string) (apitype.RemoveResponse, error) {
	e.mu.Lock()
	n, err := e.adminNetworkLocked(network, "remove members")
	e.mu.Unlock()
	if err != nil {
		return apitype.RemoveResponse{}, err
	}
	m, err := e.resolveMember(n, peer)
	if err != nil {
		return apitype.RemoveResponse{}, err
	}
	e.mu.Lock()
	if e.state.ByID(n.ID) != n { // left meanwhile
		e.mu.Unlock()
		return apitype.RemoveResponse{}, fmt.Errorf("no network named %q", network)
	}
	if err := n.RemoveMember(m.Node, e.self, time.Now()); err != nil {
		e.mu.Unlock()
		return apitype.RemoveResponse{}, err
	}
	e.saveLocked()
	e.gossipRosterLocked(n.ID, key.NodePublic{}) // the remaining members
	var removed *peerConn
	if p := e.peers[m.Node]; p != nil {
		removed = p.cur.Load()
	}
	s := n.Signed
	e.mu.Unlock()
	e.flushSaved()
	// Written now, not queued: the connection closes right after (its
	// close reason tells the node too, should the roster be lost).
	if removed != nil {
		select {
		case <-removed.ready:
			e.writeCtrl(removed, &ctrlMsg{Type: msgRoster, Roster: &s})
		default:
		}
	}
	e.mu.Lock()
	e.recomputeClosingLocked(codeNotMember, removedReason+n.ID.String())
	e.mu.Unlock()
	e.log.Info("member removed", "network", n.Name, "node", m.Node.ShortString(), "hostname", m.Hostname)
	e.auditf(audit.MemberRemoved, m.Node, m.Hostname, n.Name, "removed by this admin")
	return apitype.RemoveResponse{ID: m.Node.String(), Hostname: m.Hostname}, nil
}

// removedByClose handles a connection closed by p with the removal
// reason: if p admins that network in our roster, this node was removed
// (the signed roster normally arrives first; this covers its loss).
func (e *Engine) removedByClose(p *peer, reason string) {
	id, ok := closeNetwork(reason, removedReason)
	deleted := false
	if !ok {
		if id, ok = closeNetwork(reason, deletedReason); !ok {
			return
		}
		deleted = true
	}
	e.mu.Lock()
	n := e.state.ByID(id)
	if n == nil {
		e.mu.Unlock()
		return
	}
	if m, ok := n.Roster.Member(p.key); !ok || !m.Admin {
		e.mu.Unlock()
		return
	}
	if deleted {
		e.state.RecordDeleted(n, time.Now())
	}
	e.removedLocked(n)
	e.mu.Unlock()
	e.flushSaved()
}

// closeNetwork parses a close reason of the form prefix+network id.
func closeNetwork(reason, prefix string) (key.NetworkPublic, bool) {
	idText, ok := strings.CutPrefix(reason, prefix)
	if !ok {
		return key.NetworkPublic{}, false
	}
	id, err := key.ParseNetworkPublic(idText)
	return id, err == nil
}

// removedLocked forgets network n, which removed this node, and records
// the removal for status.
func (e *Engine) removedLocked(n *netmap.Network) {
	e.log.Info("removed from network by an admin", "network", n.Name)
	e.state.RecordRemoved(n, time.Now())
	for k := range e.requests {
		if k.network == n.ID {
			delete(e.requests, k)
		}
	}
	e.saveLocked()
	e.recomputeLocked()
	e.auditf(audit.MemberRemoved, e.self, "", n.Name, "this node was removed")
}

// Invites lists the outstanding invites of network (admin only).
func (e *Engine) Invites(network string) ([]apitype.InviteInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.adminNetworkLocked(network, "list invites")
	if err != nil {
		return nil, err
	}
	out := []apitype.InviteInfo{}
	for _, r := range n.LiveInvites(time.Now()) {
		out = append(out, apitype.InviteInfo{ID: r.ID(), Kind: r.Kind.String(), Created: r.Created, Expires: r.Expires, Uses: r.Uses, Hostname: r.Hostname})
	}
	return out, nil
}

// RevokeInvite revokes an outstanding invite of network by id (admin
// only); the revocation travels in the signed roster to every admin.
func (e *Engine) RevokeInvite(network, id string) error {
	defer e.flushSaved() // after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.adminNetworkLocked(network, "revoke invites")
	if err != nil {
		return err
	}
	if err := n.RevokeInvite(strings.ToLower(strings.TrimSpace(id)), time.Now()); err != nil {
		return err
	}
	e.saveLocked()
	e.gossipRosterLocked(n.ID, key.NodePublic{})
	e.log.Info("invite revoked", "network", n.Name, "invite", id)
	return nil
}

// lastAdminLocked reports whether this node holds n's secret and no other
// member is an admin: leaving would lose the secret.
func (e *Engine) lastAdminLocked(n *netmap.Network) bool {
	if !n.IsAdmin() {
		return false
	}
	for _, a := range n.Roster.Admins() {
		if a != e.self {
			return false
		}
	}
	return true
}

// LeaveNetwork leaves network like Leave. The last admin of a network
// with other members must pass force; whenever leaving would lose the
// network secret, it is first written to a 0600 backup file in the state
// directory, whose path is returned. Leaving a network this node was
// removed from forgets the removal notice.
func (e *Engine) LeaveNetwork(name string, force bool) (backup string, err error) {
	e.mu.Lock()
	n, err := e.networkLocked(name)
	if err != nil {
		for _, r := range e.state.Removed {
			if r.Name == strings.ToLower(strings.TrimSpace(name)) {
				e.state.ForgetRemoved(r.ID)
				e.saveLocked()
				e.watchers.notify()
				e.mu.Unlock()
				e.flushSaved()
				return "", nil
			}
		}
		e.mu.Unlock()
		return "", err
	}
	var data []byte
	if e.lastAdminLocked(n) {
		if len(n.Roster.Members) > 1 && !force {
			e.mu.Unlock()
			return "", fmt.Errorf("this node is the last admin of %q: leaving loses the right to admit or remove anyone; make another member admin first, or pass --force (the network secret is then kept in a backup file)", n.Name)
		}
		data, err = json.MarshalIndent(n, "", "\t")
		if err != nil {
			e.mu.Unlock()
			return "", fmt.Errorf("backup of %q: %w", n.Name, err)
		}
		backup = filepath.Join(e.cfg.StateDir, "backup", fmt.Sprintf("%s-%s.json", n.Name, time.Now().UTC().Format("20060102T150405Z")))
	}
	e.mu.Unlock()
	if backup != "" {
		err := os.MkdirAll(filepath.Dir(backup), 0o700)
		if err == nil {
			err = atomicfile.WriteFile(backup, append(data, '\n'), 0o600)
		}
		if err != nil {
			return "", fmt.Errorf("backup of %q (nothing changed): %w", n.Name, err)
		}
	}
	return backup, e.Leave(name)
}

// leaveByClose handles a connection closed by the peer with the leave
// code: the reason names the network it left.
func (e *Engine) leaveByClose(p *peer, reason string) {
	id, ok := closeNetwork(reason, "leave ")
	if !ok {
		return
	}
	e.mu.Lock()
	n := e.state.ByID(id)
	if n == nil || !n.IsAdmin() || !isMember(n, p.key) {
		e.mu.Unlock()
		return
	}
	removed, err := n.Remove(p.key, time.Now())
	if err != nil || !removed {
		e.mu.Unlock()
		return
	}
	e.prunedUnlock(n, p.key, "member left (close code), pruned")
}

// prunedUnlock finishes pruning node, which left network n (an admin's
// roster without it is in place): it saves and applies the roster,
// releases e.mu, and tells the other members.
func (e *Engine) prunedUnlock(n *netmap.Network, node key.NodePublic, msg string) {
	e.saveLocked()
	e.recomputeLocked()
	name, id := n.Name, n.ID
	e.mu.Unlock()
	e.flushSaved()
	e.log.Info(msg, "network", name, "node", node.ShortString())
	e.auditf(audit.MemberRemoved, node, "", name, "left")
	e.gossipRoster(id, key.NodePublic{})
}

// DeleteNetwork dissolves network for every member (admin only): its last
// roster, signed and empty, goes to every connected member, which forgets
// the network and shows that it was deleted. A member offline now keeps
// its old roster but finds no member to talk to.
func (e *Engine) DeleteNetwork(name string) error {
	e.mu.Lock()
	n, err := e.adminNetworkLocked(name, "delete the network")
	if err != nil {
		e.mu.Unlock()
		return err
	}
	members, err := n.Dissolve(time.Now())
	if err != nil {
		e.mu.Unlock()
		return err
	}
	s := n.Signed
	var targets []*peerConn
	for _, m := range members {
		if p := e.peers[m.Node]; p != nil && m.Node != e.self {
			if pc := p.cur.Load(); pc != nil {
				targets = append(targets, pc)
			}
		}
	}
	e.state.RemoveNetwork(n.ID)
	for k := range e.requests {
		if k.network == n.ID {
			delete(e.requests, k)
		}
	}
	e.saveLocked()
	e.mu.Unlock()
	e.flushSaved()
	// Written now, not queued: the connections close right after.
	msg := &ctrlMsg{Type: msgRoster, Roster: &s}
	for _, pc := range targets {
		select {
		case <-pc.ready:
			e.writeCtrl(pc, msg)
		default:
		}
	}
	e.mu.Lock()
	e.recomputeClosingLocked(codeNotMember, deletedReason+n.ID.String())
	e.mu.Unlock()
	e.log.Info("network deleted", "network", n.Name, "members", len(members))
	e.auditf(audit.MemberRemoved, e.self, "", n.Name, "network deleted by this admin")
	return nil
}
