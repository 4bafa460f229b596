// Package netmap is rayfish's membership layer: networks, their signed
// rosters, invite codes, admission of new members, join requests, the
// network key's hand-overs (rekey.go) and removal proofs, and the signed
// statements nodes make about themselves (leave notices, endpoint
// records), plus the state file that persists all of it.
//
// It does no networking and no locking: the engine owns a State, guards it
// with its own mutex, calls these methods from the control protocol and
// saves the State after every change. Everything that arrives from the
// network (rosters, invite codes, statements) is verified here before it
// is believed.
package netmap

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// Errors callers may want to tell apart.
var (
	ErrNotAdmin    = errors.New("this node is not an admin of the network")
	ErrStaleRoster = errors.New("roster is older than the one we have (rollback refused)")
	ErrLastAdmin   = errors.New("cannot remove the last admin of a network")
	ErrNetworkFull = fmt.Errorf("network is full (%d members)", MaxMembers)
)

// Network is one network as this node holds it. Only an admin holds Secret
// (and with it, Invites and Requests); every member holds the latest
// signed roster it has seen.
//
// Methods that change a Network (admin operations, ApplyRoster, Redeem,
// AddRequest...) change it in place; the caller saves the State afterwards.
// A Network is not safe for concurrent use.
type Network struct {
	// Name is the local name of the network, normally the roster's name.
	Name string            `json:"name"`
	ID   key.NetworkPublic `json:"id"`
	// Secret is the network key; zero unless this node is an admin.
	Secret key.NetworkPrivate `json:"secret,omitzero"`
	Signed SignedRoster       `json:"roster"`
	// Roster is Signed, parsed and verified. It is never modified in
	// place: every change installs a new one.
	Roster *Roster `json:"-"`
	// Invites lists outstanding invites (admin only): hashes, never
	// secrets.
	Invites []InviteRecord `json:"invites,omitempty"`
	// Requests lists join requests awaiting a decision (admin only).
	Requests []JoinRequest `json:"requests,omitempty"`
	// lost is the roster this node held as an admin when another admin's
	// rekey replaced its key; it is merged once the new secret arrives
	// (MergeLost). Not persisted: a restart forgets the merge.
	lost *Roster
}

// Create makes a new network named name with a fresh network key; creator
// is its first member and admin, under a sanitized hostname.
func Create(name string, open bool, creator key.NodePublic, hostname string, now time.Time) (*Network, error) {
	name, err := NormalizeNetworkName(name)
	if err != nil {
		return nil, err
	}
	if creator.IsZero() {
		return nil, errors.New("create network: no creator key")
	}
	secret := key.NewNetwork()
	now = now.UTC()
	r := &Roster{
		Network: secret.Public(),
		Name:    name,
		Open:    open,
		Version: 1,
		Issued:  now,
		Members: []Member{{
			Node:     creator,
			Hostname: SanitizeHostname(hostname),
			IPv4:     creator.IPv4(0),
			IPv6:     creator.IPv6(),
			Admin:    true,
			Joined:   now,
		}},
	}
	s, err := r.Sign(secret)
	if err != nil {
		return nil, fmt.Errorf("create network %q: %w", name, err)
	}
	return &Network{Name: name, ID: r.Network, Secret: secret, Signed: s, Roster: r}, nil
}

// FromRoster returns a network joined by receiving its signed roster: s
// must verify against id. The network is named after the roster.
func FromRoster(id key.NetworkPublic, s SignedRoster) (*Network, error) {
	r, err := s.Verify(id)
	if err != nil {
		return nil, err
	}
	if err := r.checkIndexes(); err != nil {
		return nil, err
	}
	return &Network{Name: r.Name, ID: id, Signed: s, Roster: r}, nil
}

// IsAdmin reports whether this node holds the network secret.
func (n *Network) IsAdmin() bool { return !n.Secret.IsZero() }

// ApplyRoster verifies s and installs it if it is newer than the current
// roster. An equal version changes nothing (changed is false, err nil); an
// older one is refused with ErrStaleRoster. A roster under a newer
// network key (a rekey this node follows, see rekey.go) replaces the
// current one whatever its version; one under a replaced key is stale.
func (n *Network) ApplyRoster(s SignedRoster) (changed bool, err error) {
	step, err := n.followChain(s.Chain)
	if err != nil {
		return false, err
	}
	r, err := s.verifyFrom(n.ID, len(s.Chain)) // followChain verified the chain
	if err != nil {
		return false, err
	}
	if err := r.checkIndexes(); err != nil {
		return false, err
	}
	if n.Roster != nil && step == chainSame {
		switch {
		case r.Version < n.Roster.Version:
			return false, fmt.Errorf("%w: got version %d, have %d", ErrStaleRoster, r.Version, n.Roster.Version)
		case r.Version == n.Roster.Version && !winsTie(s, n.Signed):
			return false, nil
		}
	}
	old := n.Roster
	n.Signed, n.Roster = s, r
	if step != chainSame {
		n.keyReplaced(old)
	}
	return true, nil
}

func (n *Network) requireAdmin() error {
	if !n.IsAdmin() {
		return fmt.Errorf("network %q: %w", n.Name, ErrNotAdmin)
	}
	if n.Roster == nil {
		return fmt.Errorf("network %q has no roster", n.Name)
	}
	return nil
}

// commit signs r as the next version of the roster and installs it.
func (n *Network) commit(r *Roster, now time.Time) error {
	r.Version = n.Roster.Version + 1
	r.Issued = now.UTC()
	s, err := r.SignChain(n.Secret, n.Signed.Chain)
	if err != nil {
		return fmt.Errorf("network %q: %w", n.Name, err)
	}
	n.Signed, n.Roster = s, r
	return nil
}

// Admit adds node to the roster (admin only) and returns its entry. An
// existing member is returned as it is, without a new roster version.
//
// The member gets the smallest IPv4 collision index whose address no
// other member uses, and hostname sanitized and, if taken, suffixed with
// -1, -2, ...
func (n *Network) Admit(node key.NodePublic, hostname string, now time.Time) (Member, error) {
	if err := n.requireAdmin(); err != nil {
		return Member{}, err
	}
	if node.IsZero() {
		return Member{}, errors.New("admit: no node key")
	}
	if m, ok := n.Roster.Member(node); ok {
		return m, nil
	}
	if len(n.Roster.Members) >= MaxMembers {
		return Member{}, fmt.Errorf("network %q: %w", n.Name, ErrNetworkFull)
	}
	r := n.Roster.clone()
	ips := make(map[netip.Addr]bool, len(r.Members))
	names := make(map[string]bool, len(r.Members))
	for _, m := range r.Members {
		ips[m.IPv4] = true
		names[m.Hostname] = true
	}
	idx, err := allocIndex(node, func(a netip.Addr) bool { return ips[a] })
	if err != nil {
		return Member{}, fmt.Errorf("network %q: %w", n.Name, err)
	}
	m := Member{
		Node:     node,
		Hostname: uniqueHostname(SanitizeHostname(hostname), func(s string) bool { return names[s] }),
		IPv4:     node.IPv4(idx),
		IPv6:     node.IPv6(),
		Index:    idx,
		Joined:   now.UTC(),
	}
	i, _ := r.find(node)
	r.Members = slices.Insert(r.Members, i, m)
	if err := n.commit(r, now); err != nil {
		return Member{}, err
	}
	return m, nil
}

// allocIndex returns the smallest collision index whose address for node
// is not taken. Every admin computes the same answer from the same roster.
func allocIndex(node key.NodePublic, taken func(netip.Addr) bool) (uint32, error) {
	for i := uint32(0); i <= MaxAddrIndex; i++ {
		if !taken(node.IPv4(i)) {
			return i, nil
		}
	}
	return 0, errors.New("no free IPv4 address for node")
}

// Remove takes node out of the roster (admin only). Removing a
// non-member reports false. The last admin cannot be removed.
func (n *Network) Remove(node key.NodePublic, now time.Time) (removed bool, err error) {
	if err := n.requireAdmin(); err != nil {
		return false, err
	}
	i, ok := n.Roster.find(node)
	if !ok {
		return false, nil
	}
	if n.Roster.Members[i].Admin && len(n.Roster.Admins()) == 1 {
		return false, fmt.Errorf("network %q: %w", n.Name, ErrLastAdmin)
	}
	r := n.Roster.clone()
	r.Members = slices.Delete(r.Members, i, i+1)
	r.recordRemoval(Removal{Node: node, Time: now.UTC(), Left: true})
	if err := n.commit(r, now); err != nil {
		return false, err
	}
	return true, nil
}

// SetAdmin marks or unmarks node as an admin in the roster (admin only).
// Marking is only the roster's record; the engine hands the network
// secret to a new co-admin itself. The last admin cannot be unmarked.
func (n *Network) SetAdmin(node key.NodePublic, admin bool, now time.Time) (changed bool, err error) {
	if err := n.requireAdmin(); err != nil {
		return false, err
	}
	i, ok := n.Roster.find(node)
	if !ok {
		return false, fmt.Errorf("network %q: node %s is not a member", n.Name, node.ShortString())
	}
	if n.Roster.Members[i].Admin == admin {
		return false, nil
	}
	if !admin && len(n.Roster.Admins()) == 1 {
		return false, fmt.Errorf("network %q: %w", n.Name, ErrLastAdmin)
	}
	r := n.Roster.clone()
	r.Members[i].Admin = admin
	if err := n.commit(r, now); err != nil {
		return false, err
	}
	return true, nil
}

// ApplyLeave removes the member that signed l (admin only). A notice for a
// non-member reports false; a notice signed before the member was
// admitted is refused, so an old notice cannot be replayed against a
// member that left and came back.
func (n *Network) ApplyLeave(l LeaveNotice, now time.Time) (removed bool, err error) {
	if err := n.requireAdmin(); err != nil {
		return false, err
	}
	if err := l.Verify(); err != nil {
		return false, err
	}
	if l.Network != n.ID {
		return false, fmt.Errorf("leave notice is for network %s, not %q", l.Network, n.Name)
	}
	m, ok := n.Roster.Member(l.Node)
	if !ok {
		return false, nil
	}
	if l.Time.Before(m.Joined.Truncate(time.Second)) {
		return false, fmt.Errorf("leave notice from %s predates its admission", l.Node.ShortString())
	}
	return n.Remove(l.Node, now)
}
