// Package routeset computes which prefixes outside the overlay go to which
// peer: approved subnet routes and the exit node this node uses, and what
// this node serves for others. Compute is pure; the engine feeds it the
// rosters' approvals, the peers' offers and the user's choices, and hands
// the result to the data path (engine/router's table and
// dataplane.Routing) and to the OS (netcfg routes, exit exclusions,
// forwarding).
//
// The rules:
//   - A subnet route is used when its member offers it (signed endpoint
//     record) and an admin of a network both share approved it, and this
//     node accepts routes.
//   - The same prefix from two members: the smaller node key (a stable
//     order: a route does not move while its router is briefly away). Overlapping prefixes: the most specific wins at
//     lookup (Routes is sorted most specific first, then by address).
//   - A route never captures a peer's or relay's underlay address: such
//     addresses are carved out of it (the route is split into the
//     prefixes that cover the rest), so the path to them stays off the
//     tunnel. The overlay ranges are refused earlier (netmap.ValidRoute).
//   - The exit node must be a member offering it with an approval; while
//     the user keeps it selected and it is offline or unapproved, the
//     exit routes stay in place and its packets are dropped: traffic
//     stops rather than leaking onto the underlay.
package routeset

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Exit node states, as status shows them.
const (
	ExitOnline     = "online"
	ExitOffline    = "offline"
	ExitUnapproved = "unapproved"
)

// maxPieces bounds the prefixes one route is split into around underlay
// addresses; a route that would need more is left out.
const maxPieces = 256

// Peer is what Compute needs to know about one peer.
type Peer[P comparable] struct {
	ID  P
	Key key.NodePublic
	// Online decides the exit node's state only.
	Online bool
	// ExitNode and Routes are what the peer offers and an admin of a
	// shared network approved.
	ExitNode bool
	Routes   []netip.Prefix
	// Underlay are the peer's direct addresses.
	Underlay []netip.Addr
}

// Input is everything Compute decides from.
type Input[P comparable] struct {
	Peers []Peer[P]
	// Accept uses other members' approved subnet routes.
	Accept bool
	// Exit is the exit node the user chose (zero: none).
	Exit key.NodePublic
	// Relays are relay addresses to keep off the tunnel.
	Relays []netip.Addr
	// ServeExit and ServeRoutes are this node's own approved offers.
	ServeExit   bool
	ServeRoutes []netip.Prefix
}

// Route sends Prefix to Peer.
type Route[P comparable] struct {
	Prefix netip.Prefix
	Peer   P
}

// Set is the outcome of Compute.
type Set[P comparable] struct {
	// Routes are the subnet routes in use, most specific first.
	Routes []Route[P]
	// ExitSelected: the user chose an exit node; all non-overlay traffic
	// goes to the tunnel. ExitState tells whether it can be served:
	// ExitOnline, ExitOffline, or ExitUnapproved (not a member, no offer
	// or no approval). HasExit: Exit is the chosen peer (approved, maybe
	// offline); otherwise exit traffic is dropped.
	ExitSelected bool
	ExitState    string
	HasExit      bool
	Exit         P
	// Exclude are host prefixes of underlay addresses (peers' direct
	// paths, relays) that stay on the normal routes while an exit node is
	// selected; sorted.
	Exclude []netip.Prefix
	// ServeExit and ServeRoutes: this node forwards for members.
	ServeExit   bool
	ServeRoutes []netip.Prefix
	// Carved lists routes that were split or dropped to keep underlay
	// addresses off the tunnel.
	Carved []netip.Prefix
}

// Compute decides the route set of in.
func Compute[P comparable](in Input[P]) *Set[P] {
	s := &Set[P]{ServeExit: in.ServeExit, ServeRoutes: slices.Clone(in.ServeRoutes)}
	netmap.SortPrefixes(s.ServeRoutes)
	var underlay []netip.Addr
	for _, p := range in.Peers {
		underlay = append(underlay, p.Underlay...)
	}
	underlay = append(underlay, in.Relays...)
	for i, a := range underlay {
		underlay[i] = a.Unmap().WithZone("")
	}
	slices.SortFunc(underlay, netip.Addr.Compare)
	underlay = slices.Compact(underlay)

	if in.Accept {
		s.Routes, s.Carved = subnetRoutes(in.Peers, underlay)
	}
	if !in.Exit.IsZero() {
		s.ExitSelected = true
		s.ExitState = ExitUnapproved
		if i := slices.IndexFunc(in.Peers, func(p Peer[P]) bool { return p.Key == in.Exit }); i >= 0 && in.Peers[i].ExitNode {
			s.HasExit, s.Exit = true, in.Peers[i].ID
			s.ExitState = ExitOffline
			if in.Peers[i].Online {
				s.ExitState = ExitOnline
			}
		}
		for _, a := range underlay {
			if a.IsValid() && !a.IsUnspecified() {
				s.Exclude = append(s.Exclude, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}
	return s
}

// subnetRoutes picks one peer per prefix and carves underlay addresses
// (sorted) out of each; a route that would need more than maxPieces
// prefixes is left out, so a member naming many addresses in someone's
// route costs little.
func subnetRoutes[P comparable](peers []Peer[P], underlay []netip.Addr) (routes []Route[P], carved []netip.Prefix) {
	type choice struct {
		peer P
		key  key.NodePublic
	}
	best := map[netip.Prefix]choice{}
	for _, p := range peers {
		for _, r := range p.Routes {
			if netmap.ValidRoute(r) != nil {
				continue
			}
			if c, ok := best[r]; !ok || bytes.Compare(p.Key[:], c.key[:]) < 0 {
				best[r] = choice{p.ID, p.Key}
			}
		}
	}
	for prefix, c := range best {
		pieces := []netip.Prefix{prefix}
		// underlay is sorted: the addresses inside prefix are one run.
		i, _ := slices.BinarySearchFunc(underlay, prefix.Addr(), netip.Addr.Compare)
		for ; i < len(underlay) && prefix.Contains(underlay[i]) && len(pieces) <= maxPieces; i++ {
			pieces = carve(pieces, underlay[i])
		}
		if len(pieces) != 1 || pieces[0] != prefix {
			carved = append(carved, prefix)
		}
		if len(pieces) > maxPieces {
			continue
		}
		for _, q := range pieces {
			routes = append(routes, Route[P]{Prefix: q, Peer: c.peer})
		}
	}
	slices.SortFunc(routes, func(a, b Route[P]) int {
		if c := cmp.Compare(b.Prefix.Bits(), a.Prefix.Bits()); c != 0 {
			return c
		}
		return netmap.ComparePrefixes(a.Prefix, b.Prefix)
	})
	netmap.SortPrefixes(carved)
	return routes, carved
}

// carve removes the host a from whichever of ps contains it, replacing
// that prefix with the prefixes covering the rest of it.
func carve(ps []netip.Prefix, a netip.Addr) []netip.Prefix {
	out := ps[:0:0]
	for _, p := range ps {
		if !p.Contains(a) {
			out = append(out, p)
			continue
		}
		// Walk down from p towards a, keeping the sibling half at each
		// step.
		for bits := p.Bits() + 1; bits <= a.BitLen(); bits++ {
			toward := netip.PrefixFrom(a, bits).Masked()
			out = append(out, sibling(toward))
		}
	}
	return out
}

// sibling returns the other half of p's parent prefix.
func sibling(p netip.Prefix) netip.Prefix {
	b := p.Addr().AsSlice()
	bit := p.Bits() - 1
	b[bit/8] ^= 0x80 >> (bit % 8)
	a, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(a, p.Bits())
}

// OSRoutes returns the subnet route prefixes for the OS, sorted.
func (s *Set[P]) OSRoutes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(s.Routes))
	for _, r := range s.Routes {
		out = append(out, r.Prefix)
	}
	netmap.SortPrefixes(out)
	return out
}

// Forward reports whether this node routes for members.
func (s *Set[P]) Forward() bool { return s.ServeExit || len(s.ServeRoutes) > 0 }
