package netmap

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// Bounds of the removal and revocation lists a roster carries.
const (
	// MaxRemoved is the most removals a roster remembers; the oldest go
	// first.
	MaxRemoved = 1024
	// MaxRevoked is the most revoked invites a roster remembers; expired
	// ones go first.
	MaxRevoked = 1024
	// maxInviteIDLen bounds a revoked invite id (a prefix of a hex hash).
	maxInviteIDLen = 64
)

// Errors from removal and revocation.
var (
	ErrRemovedMember = errors.New("this node was removed from the network; an invite issued before the removal cannot readmit it (ask an admin for a new one)")
	ErrInviteRevoked = errors.New("invite code has been revoked by an admin")
	ErrNotMember     = errors.New("node is not a member of the network")
	ErrRemoveSelf    = errors.New("an admin cannot remove itself; use ray leave")
)

// Removal records that Node went at Time: removed by an admin, or Left
// (which old invites may undo).
type Removal struct {
	Node key.NodePublic `json:"node"`
	Time time.Time      `json:"time"`
	Left bool           `json:"left,omitempty"`
}

// RevokedInvite records an invite revoked by an admin; it is forgotten
// once it has expired.
type RevokedInvite struct {
	ID      string    `json:"id"`
	Expires time.Time `json:"expires"`
}

func (r *Roster) checkRemovals() error {
	if len(r.Removed) > MaxRemoved {
		return fmt.Errorf("roster has %d removals, limit %d", len(r.Removed), MaxRemoved)
	}
	if len(r.Revoked) > MaxRevoked {
		return fmt.Errorf("roster has %d revoked invites, limit %d", len(r.Revoked), MaxRevoked)
	}
	for _, rm := range r.Removed {
		if rm.Node.IsZero() {
			return errors.New("roster removal has no node key")
		}
	}
	for _, rv := range r.Revoked {
		if rv.ID == "" || len(rv.ID) > maxInviteIDLen {
			return fmt.Errorf("roster has an invalid revoked invite id %q", rv.ID)
		}
	}
	return nil
}

// RemovedAt reports when node was last removed by an admin (not when it
// left).
func (r *Roster) RemovedAt(node key.NodePublic) (time.Time, bool) {
	rm, ok := r.removal(node)
	if !ok || rm.Left {
		return time.Time{}, false
	}
	return rm.Time, true
}

// Dropped reports whether r ends node's membership for good: the network
// was dissolved, or node left or was removed. A node merely missing from
// r lost a concurrent admission that its admin merges back (merge.go).
func (r *Roster) Dropped(node key.NodePublic) bool {
	if r.Dissolved {
		return true
	}
	if _, ok := r.Member(node); ok {
		return false
	}
	_, ok := r.removal(node)
	return ok
}

// removal returns node's last removal or leave.
func (r *Roster) removal(node key.NodePublic) (Removal, bool) {
	for i := len(r.Removed) - 1; i >= 0; i-- {
		if r.Removed[i].Node == node {
			return r.Removed[i], true
		}
	}
	return Removal{}, false
}

// recordRemoval replaces node's removal record with rm, dropping the
// oldest records beyond MaxRemoved.
func (r *Roster) recordRemoval(rm Removal) {
	r.forgetRemoval(rm.Node)
	r.Removed = append(r.Removed, rm)
	if over := len(r.Removed) - MaxRemoved; over > 0 {
		r.Removed = slices.Delete(r.Removed, 0, over)
	}
}

// IsRevoked reports whether the invite with the given id was revoked.
func (r *Roster) IsRevoked(id string) bool {
	return slices.ContainsFunc(r.Revoked, func(rv RevokedInvite) bool { return rv.ID == id })
}

// forgetRemoval drops node's removal records (recordRemoval replaces
// them).
func (r *Roster) forgetRemoval(node key.NodePublic) {
	r.Removed = slices.DeleteFunc(r.Removed, func(rm Removal) bool { return rm.Node == node })
}

// RemoveMember is an admin removing node (ray remove): unlike a leave, it
// is recorded in the roster, so invites issued before now cannot readmit
// node. A removed admin loses its admin mark with its membership.
// Removing this node (self), a non-member or the last admin is an error
// and changes nothing.
func (n *Network) RemoveMember(node, self key.NodePublic, now time.Time) error {
	if err := n.requireAdmin(); err != nil {
		return err
	}
	if node == self {
		return ErrRemoveSelf
	}
	i, ok := n.Roster.find(node)
	if !ok {
		return fmt.Errorf("network %q: node %s: %w", n.Name, node.ShortString(), ErrNotMember)
	}
	if n.Roster.Members[i].Admin && len(n.Roster.Admins()) == 1 {
		return fmt.Errorf("network %q: %w", n.Name, ErrLastAdmin)
	}
	r := n.Roster.clone()
	r.Members = slices.Delete(r.Members, i, i+1)
	r.recordRemoval(Removal{Node: node, Time: now.UTC()})
	return n.commit(r, now)
}

// LiveInvites returns the invite records that can still be redeemed:
// neither expired, used up nor revoked.
func (n *Network) LiveInvites(now time.Time) []InviteRecord {
	var out []InviteRecord
	for _, rec := range n.Invites {
		if rec.Kind == InviteSingle && rec.Used || !now.Before(rec.Expires) {
			continue
		}
		if n.Roster != nil && n.Roster.IsRevoked(rec.ID()) {
			continue
		}
		out = append(out, rec)
	}
	return out
}

// RevokeInvite revokes the invite whose ID is id (admin only): the id goes into a new signed roster, so that every
// admin refuses it. An unknown id is an error and changes nothing.
func (n *Network) RevokeInvite(id string, now time.Time) error {
	if err := n.requireAdmin(); err != nil {
		return err
	}
	i := slices.IndexFunc(n.Invites, func(r InviteRecord) bool { return r.ID() == id })
	if i < 0 || n.Roster.IsRevoked(id) {
		return fmt.Errorf("network %q has no outstanding invite %q (see ray invites %s)", n.Name, id, n.Name)
	}
	rec := n.Invites[i]
	r := n.Roster.clone()
	r.Revoked = slices.DeleteFunc(r.Revoked, func(rv RevokedInvite) bool { return !now.Before(rv.Expires) })
	if len(r.Revoked) >= MaxRevoked {
		return fmt.Errorf("network %q has %d revoked invites that have not expired yet", n.Name, len(r.Revoked))
	}
	r.Revoked = append(r.Revoked, RevokedInvite{ID: id, Expires: rec.Expires})
	// The record stays (until pruned), so that redeeming the code says
	// "revoked" rather than "unknown".
	return n.commit(r, now)
}

// MaxRemovedNetworks bounds the removals from networks a State remembers.
const MaxRemovedNetworks = 64

// RemovedNetwork records that this node was removed from a network: a
// roster signed by the network's key arrived without it.
type RemovedNetwork struct {
	ID   key.NetworkPublic `json:"id"`
	Name string            `json:"name"`
	Time time.Time         `json:"time"`
	// Deleted: an admin deleted the whole network.
	Deleted bool `json:"deleted,omitempty"`
}

// RecordRemoved forgets network n, which removed this node, and
// remembers the removal.
func (s *State) RecordRemoved(n *Network, now time.Time) {
	s.RemoveNetwork(n.ID)
	deleted := n.Roster != nil && n.Roster.Dissolved || s.wasDeleted(n.ID)
	s.recordRemoved(RemovedNetwork{ID: n.ID, Name: n.Name, Time: now.UTC(), Deleted: deleted})
}

// RecordDeleted records that network n was deleted by an admin whose
// dissolving roster did not reach this node (its connection closed with
// the deletion as the reason); a RecordRemoved that follows keeps it.
func (s *State) RecordDeleted(n *Network, now time.Time) {
	s.recordRemoved(RemovedNetwork{ID: n.ID, Name: n.Name, Time: now.UTC(), Deleted: true})
}

func (s *State) recordRemoved(r RemovedNetwork) {
	if r.ID.IsZero() || !ValidNetworkName(r.Name) {
		return
	}
	s.ForgetRemoved(r.ID)
	s.Removed = append(s.Removed, r)
	if over := len(s.Removed) - MaxRemovedNetworks; over > 0 {
		s.Removed = slices.Delete(s.Removed, 0, over)
	}
}

// wasDeleted reports whether the removal recorded for id is a deletion.
func (s *State) wasDeleted(id key.NetworkPublic) bool {
	for _, r := range s.Removed {
		if r.ID == id {
			return r.Deleted
		}
	}
	return false
}

// ForgetRemoved drops the record of a removal from network id (the node
// joined it again, or its user dismissed the notice); it reports whether
// there was one.
func (s *State) ForgetRemoved(id key.NetworkPublic) bool {
	n := len(s.Removed)
	s.Removed = slices.DeleteFunc(s.Removed, func(r RemovedNetwork) bool { return r.ID == id })
	return len(s.Removed) != n
}

var errWrongSecret = errors.New("the handed-over secret is not this network's key")

// BindInvite binds the single-use invite with the given hash (from
// IssueInvite's record) to hostname: its joiner gets that name (or, if
// another member holds it by then, the name with a suffix).
func (n *Network) BindInvite(hash, hostname string) error {
	if !ValidHostname(hostname) {
		return fmt.Errorf("invalid hostname %q: 1 to 63 characters of a-z, 0-9 and '-'", hostname)
	}
	i := slices.IndexFunc(n.Invites, func(r InviteRecord) bool { return r.Hash == hash })
	if i < 0 {
		return fmt.Errorf("network %q has no invite %s", n.Name, hash)
	}
	if n.Invites[i].Kind != InviteSingle {
		return errors.New("only a single-use invite can be bound to a hostname")
	}
	n.Invites[i].Hostname = hostname
	return nil
}

// Dissolve signs the network's last roster (admin only): no members,
// marked dissolved, so that every member that gets it forgets the
// network. It returns the members it had.
func (n *Network) Dissolve(now time.Time) ([]Member, error) {
	if err := n.requireAdmin(); err != nil {
		return nil, err
	}
	r := n.Roster.clone()
	members := r.Members
	r.Members, r.Dissolved = nil, true
	r.Removed, r.Revoked = nil, nil
	if err := n.commit(r, now); err != nil {
		return nil, err
	}
	return members, nil
}
