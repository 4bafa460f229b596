package engine

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/magicdns"
	"github.com/rayfish/rayfish/engine/netmap"
)

// conflict is a claim of a peer that this node refused because another
// node, in another network, held the address or bare name first (see
// netmap.ResolveOwners).
type conflict struct {
	network string
	addr    netip.Addr // the refused address, or
	name    string     // the refused bare name
	owner   key.NodePublic
}

// claim files m's addresses in pi where m.Node owns them, and what it
// does not own as conflicts. Only owned addresses are routed to the peer
// and accepted as its source.
func (pi *peerInfo) claim(s *netmap.State, network string, m netmap.Member) {
	for _, a := range []netip.Addr{m.IPv4, m.IPv6} {
		if !s.OwnsAddr(m.Node, a) {
			owner, _ := s.AddrOwner(a)
			pi.conflicts = append(pi.conflicts, conflict{network: network, addr: a, owner: owner})
			continue
		}
		switch {
		case a.Is6():
			pi.ipv6 = a
		case !slices.Contains(pi.ipv4, a):
			pi.ipv4 = append(pi.ipv4, a)
		}
	}
	if !s.OwnsName(m.Node, m.Hostname) {
		owner, _ := s.NameOwner(m.Hostname)
		pi.conflicts = append(pi.conflicts, conflict{network: network, name: m.Hostname, owner: owner})
	}
}

// warnings describes pi's conflicts in one line each, naming the owner
// by its hostname if it is a peer (names(owner) returns it).
func (pi *peerInfo) warnings(names func(key.NodePublic) string) (refused []netip.Addr, out []string) {
	for _, c := range pi.conflicts {
		who := names(c.owner)
		if c.addr.IsValid() {
			refused = append(refused, c.addr)
			out = append(out, fmt.Sprintf("address %s (network %s) refused: %s held it first", c.addr, c.network, who))
			continue
		}
		out = append(out, fmt.Sprintf("name %s.ray refused: %s held it first; use %s.%s.ray", c.name, who, c.name, c.network))
	}
	return refused, out
}

// nameOfLocked returns the hostname of node for messages.
func (e *Engine) nameOfLocked(node key.NodePublic) string {
	if node == e.self {
		return "this node"
	}
	if p := e.peers[node]; p != nil && p.info.hostname != "" {
		return p.info.hostname + " (" + node.ShortString() + ")"
	}
	return node.ShortString()
}

// resolveOwnersLocked decides who owns addresses and bare names claimed
// in several networks, saving and logging new decisions.
func (e *Engine) resolveOwnersLocked() {
	before := e.state.OwnerClaims()
	if !e.state.ResolveOwners(e.self) {
		return
	}
	e.saveLocked()
	for _, c := range e.state.OwnerClaims() {
		if slices.Contains(before, c) {
			continue
		}
		what := c.Name + ".ray"
		if c.Addr.IsValid() {
			what = c.Addr.String()
		}
		e.log.Warn("claimed in two networks; kept for the first holder, refused to the others", "claim", what, "holder", c.Node.ShortString())
	}
}

// dnsEntryLocked is m's magic DNS entry in network: only the addresses
// and bare name m owns.
func (e *Engine) dnsEntryLocked(network string, m netmap.Member) magicdns.Entry {
	ent := magicdns.Entry{Network: network, Hostname: m.Hostname, NoBare: !e.state.OwnsName(m.Node, m.Hostname)}
	if e.state.OwnsAddr(m.Node, m.IPv4) {
		ent.IPv4 = m.IPv4
	}
	if e.state.OwnsAddr(m.Node, m.IPv6) {
		ent.IPv6 = m.IPv6
	}
	return ent
}
