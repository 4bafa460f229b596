package netmap

import (
	"bytes"
	"net/netip"
	"slices"

	"github.com/rayfish/rayfish/engine/key"
)

// Ownership of overlay addresses and bare host names across networks.
//
// Each roster keeps addresses and hostnames unique inside its network,
// but two networks are signed by different admins: the admin of one can
// grind a member's address index (or key) until its IPv4 equals that of a
// member of another network this node belongs to, or give it the same
// hostname. This node then decides who owns the address or the bare
// "host.ray" name, and the decision never moves to a newcomer:
//
//  1. this node always owns its own addresses and names;
//  2. otherwise the owner decided before keeps it while it still claims
//     it (decisions about contested claims are persisted);
//  3. otherwise (nobody held it, or the holder gave it up) the first
//     claim in a stable order wins: networks in the order this node
//     joined them, then members in key order.
//
// The losing claim is refused: the data path neither routes that address
// to the loser nor accepts it as the loser's source, and magic DNS gives
// the loser no bare name. The loser's other addresses (its IPv6, derived
// from the key alone) and its qualified "host.network.ray" name work.

// OwnerClaim is one persisted decision about a contested address or bare
// name: exactly one of Addr and Name is set.
type OwnerClaim struct {
	Addr netip.Addr     `json:"addr,omitzero"`
	Name string         `json:"name,omitempty"`
	Node key.NodePublic `json:"node"`
}

// maxOwnerClaims bounds the persisted decisions read from a state file.
const maxOwnerClaims = 4 * MaxMembers

// owners holds the current decisions. contested marks the ones more than
// one node claims: only those need persisting, since an uncontested
// owner is the only claimant and is found again from the rosters.
type owners struct {
	addrs map[netip.Addr]owner
	names map[string]owner
}

type owner struct {
	node      key.NodePublic
	contested bool
}

// claimants lists the distinct nodes claiming one address or name, in the
// stable order of rule 3.
type claimants []key.NodePublic

func (c *claimants) add(n key.NodePublic) {
	if !slices.Contains(*c, n) {
		*c = append(*c, n)
	}
}

// decide applies the rules to one address or name.
func (c claimants) decide(self key.NodePublic, prev owner, hadPrev bool) owner {
	o := owner{node: c[0], contested: len(c) > 1}
	switch {
	case slices.Contains(c, self):
		o.node = self
	case hadPrev && slices.Contains(c, prev.node):
		o.node = prev.node
	}
	return o
}

// ResolveOwners decides the owner of every overlay address and bare
// hostname the rosters claim, keeping earlier decisions (see the rules
// above). It reports whether the persisted decisions changed, in which
// case the caller saves the state.
func (s *State) ResolveOwners(self key.NodePublic) (changed bool) {
	addrClaims := map[netip.Addr]*claimants{}
	nameClaims := map[string]*claimants{}
	for _, n := range s.Networks {
		if n.Roster == nil {
			continue
		}
		for _, m := range n.Roster.Members {
			claim(addrClaims, m.IPv4, m.Node)
			claim(addrClaims, m.IPv6, m.Node)
			claim(nameClaims, m.Hostname, m.Node)
		}
	}
	before := s.OwnerClaims()
	next := owners{
		addrs: make(map[netip.Addr]owner, len(addrClaims)),
		names: make(map[string]owner, len(nameClaims)),
	}
	for a, c := range addrClaims {
		prev, ok := s.owners.addrs[a]
		next.addrs[a] = c.decide(self, prev, ok)
	}
	for name, c := range nameClaims {
		prev, ok := s.owners.names[name]
		next.names[name] = c.decide(self, prev, ok)
	}
	s.owners = next
	return !slices.Equal(before, s.OwnerClaims())
}

func claim[K comparable](m map[K]*claimants, k K, node key.NodePublic) {
	c := m[k]
	if c == nil {
		c = new(claimants)
		m[k] = c
	}
	c.add(node)
}

// AddrOwner returns the node that owns overlay address a, as decided by
// the last ResolveOwners.
func (s *State) AddrOwner(a netip.Addr) (key.NodePublic, bool) {
	o, ok := s.owners.addrs[a]
	return o.node, ok
}

// OwnsAddr reports whether node owns overlay address a.
func (s *State) OwnsAddr(node key.NodePublic, a netip.Addr) bool {
	o, ok := s.owners.addrs[a]
	return ok && o.node == node
}

// OwnsName reports whether node owns the bare name of hostname.
func (s *State) OwnsName(node key.NodePublic, hostname string) bool {
	o, ok := s.owners.names[hostname]
	return ok && o.node == node
}

// NameOwner returns the node that owns the bare name of hostname.
func (s *State) NameOwner(hostname string) (key.NodePublic, bool) {
	o, ok := s.owners.names[hostname]
	return o.node, ok
}

// OwnerClaims returns the decisions about contested addresses and names,
// sorted: what the state file keeps.
func (s *State) OwnerClaims() []OwnerClaim {
	var out []OwnerClaim
	for a, o := range s.owners.addrs {
		if o.contested {
			out = append(out, OwnerClaim{Addr: a, Node: o.node})
		}
	}
	for name, o := range s.owners.names {
		if o.contested {
			out = append(out, OwnerClaim{Name: name, Node: o.node})
		}
	}
	slices.SortFunc(out, compareClaims)
	return out
}

func compareClaims(a, b OwnerClaim) int {
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c
	}
	if a.Name != b.Name {
		if a.Name < b.Name {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.Node[:], b.Node[:])
}

// loadOwners installs persisted decisions; malformed ones are skipped
// (the rules decide those claims again).
func (s *State) loadOwners(claims []OwnerClaim) {
	s.owners = owners{addrs: map[netip.Addr]owner{}, names: map[string]owner{}}
	if len(claims) > maxOwnerClaims {
		claims = claims[:maxOwnerClaims]
	}
	for _, c := range claims {
		o := owner{node: c.Node, contested: true}
		switch {
		case c.Node.IsZero():
		case c.Addr.IsValid() && c.Name == "":
			s.owners.addrs[c.Addr] = o
		case !c.Addr.IsValid() && ValidHostname(c.Name):
			s.owners.names[c.Name] = o
		}
	}
}
