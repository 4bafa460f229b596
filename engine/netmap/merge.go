package netmap

import (
	"bytes"
	"crypto/sha256"
	"net/netip"
	"slices"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// Co-admins change the roster independently, so two admins can sign
// different rosters of the same version. The rule that makes every node
// converge:
//
//  1. Versions only grow: a roster older than the one held is refused.
//  2. Of two different rosters of the same version, the one whose body
//     has the smaller SHA-256 wins, on every node (winsTie).
//  3. An admin whose roster was superseded by one that lacks its changes
//     re-applies them on top (Merge) and signs a newer version: members it
//     admitted come back unless the winner holds a removal record (or
//     leave) of theirs that the lost roster did not, its removals apply
//     unless the winner already holds that very record (the node was
//     readmitted since), and revoked invites are united. A removal beats
//     a concurrent admission of the same node. Removal records are kept
//     on readmission and compared as records, never by clock.
//  4. A roster under a newer network key replaces one under an older key,
//     whatever the versions; of two concurrent rekeys the smaller new key
//     wins, and the losing admin merges its changes as in 3 once it holds
//     the winning key (rekey.go).

// winsTie reports whether a, a roster of the same version as b, replaces
// b.
func winsTie(a, b SignedRoster) bool {
	if bytes.Equal(a.Body, b.Body) {
		return false
	}
	ha, hb := sha256.Sum256(a.Body), sha256.Sum256(b.Body)
	return bytes.Compare(ha[:], hb[:]) < 0
}

// Merge re-applies to n's roster the changes of lost, a roster this node
// held and signed that a newer or winning roster replaced (admin only);
// it signs a new version if anything changed. See the rule above.
func (n *Network) Merge(lost *Roster, now time.Time) (changed bool, err error) {
	if err := n.requireAdmin(); err != nil {
		return false, err
	}
	if lost == nil || lost.Network != n.ID {
		return false, nil
	}
	r := n.Roster.clone()
	for _, m := range lost.Members {
		if _, ok := r.Member(m.Node); ok {
			continue
		}
		if rm, ok := r.removal(m.Node); ok && !lost.hasRemoval(rm) {
			continue // removed or left concurrently: removal wins
		}
		if len(r.Members) >= MaxMembers {
			break
		}
		readmit(r, m)
		changed = true
	}
	for _, rm := range lost.Removed {
		i, ok := r.find(rm.Node)
		if !ok {
			if _, known := r.removal(rm.Node); !known {
				r.recordRemoval(rm)
				changed = true
			}
			continue
		}
		m := r.Members[i]
		if r.hasRemoval(rm) || m.Admin && len(r.Admins()) == 1 {
			continue // readmitted since that removal, or the last admin
		}
		r.Members = slices.Delete(r.Members, i, i+1)
		r.recordRemoval(rm)
		changed = true
	}
	for _, rv := range lost.Revoked {
		if !r.IsRevoked(rv.ID) && now.Before(rv.Expires) && len(r.Revoked) < MaxRevoked {
			r.Revoked = append(r.Revoked, rv)
			changed = true
		}
	}
	if !changed {
		return false, nil
	}
	if err := n.commit(r, now); err != nil {
		return false, err
	}
	return true, nil
}

// readmit puts m back into r, keeping its address index and hostname
// unless another member took them meanwhile.
func readmit(r *Roster, m Member) {
	ips := make(map[netip.Addr]bool, len(r.Members))
	names := make(map[string]bool, len(r.Members))
	for _, o := range r.Members {
		ips[o.IPv4], names[o.Hostname] = true, true
	}
	if ips[m.IPv4] {
		if idx, err := allocIndex(m.Node, func(a netip.Addr) bool { return ips[a] }); err == nil {
			m.Index, m.IPv4 = idx, m.Node.IPv4(idx)
		}
	}
	m.Hostname = uniqueHostname(m.Hostname, func(s string) bool { return names[s] })
	i, _ := r.find(m.Node)
	r.Members = slices.Insert(r.Members, i, m)
}

// hasRemoval reports whether r records exactly rm. Records are compared,
// not clocks: admins' clocks may disagree.
func (r *Roster) hasRemoval(rm Removal) bool {
	got, ok := r.removal(rm.Node)
	return ok && got.Time.Equal(rm.Time) && got.Left == rm.Left
}

// AdminOf reports whether the roster marks node as an admin.
func (r *Roster) AdminOf(node key.NodePublic) bool {
	m, ok := r.Member(node)
	return ok && m.Admin
}

// AdoptSecret installs the network secret handed over by a co-admin:
// it must be n's current key, and the roster must mark self as an admin.
func (n *Network) AdoptSecret(secret key.NetworkPrivate, self key.NodePublic) error {
	switch {
	case secret.IsZero() || secret.Public() != n.Key():
		return errWrongSecret
	case n.Roster == nil || !n.Roster.AdminOf(self):
		return ErrNotAdmin
	}
	n.Secret = secret
	return nil
}

// DropSecret forgets the network secret and what only an admin keeps
// (the roster no longer marks this node as an admin).
func (n *Network) DropSecret() {
	n.Secret = key.NetworkPrivate{}
	n.Invites, n.Requests = nil, nil
	n.lost = nil
}
