package netmap

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// Exit nodes and subnet routes.
//
// A member offers them in its signed endpoint record (EndpointRecord
// ExitNode and Routes); nothing is used until an admin approves the offer
// in the network's signed roster (Roster.Grants). Every route, offered or
// approved, passes ValidRoute.
//
// Grants merge between co-admins as last-writer-wins registers keyed by
// (node, route): the record with the higher Version (the roster version
// that set it) wins; of two records of the same version an unapproval
// wins, as a removal beats a concurrent admission. Unapprovals are kept
// as records so that a merge cannot bring an approval back.

// Route bounds.
const (
	// MaxOfferRoutes bounds the prefixes one member offers.
	MaxOfferRoutes = 16
	// MaxGrants bounds the approval records in a roster.
	MaxGrants = 1024
)

// reservedPrefixes may never be routed through a member: the overlay
// ranges (and so magic DNS) and addresses that are never routed.
var reservedPrefixes = []netip.Prefix{
	key.CGNATPrefix,
	key.ULAPrefix,
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// ValidRoute checks that p may be offered or approved as a subnet route:
// canonical (no host bits, no zone, not IPv4-mapped), not a default
// route (that is what an exit node is for), and clear of the overlay
// ranges and of addresses that are never routed.
func ValidRoute(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return errors.New("invalid prefix")
	case p.Addr().Zone() != "":
		return fmt.Errorf("prefix %s has a zone", p)
	case p.Addr().Is4In6():
		return fmt.Errorf("prefix %s is IPv4-mapped; write it as IPv4", p)
	case p != p.Masked():
		return fmt.Errorf("prefix %s is not canonical (did you mean %s?)", p, p.Masked())
	case p.Bits() == 0:
		return fmt.Errorf("%s is a default route: use ray advertise exit-node on instead", p)
	}
	for _, r := range reservedPrefixes {
		if p.Overlaps(r) {
			return fmt.Errorf("prefix %s overlaps %s, which is never routed through a member", p, r)
		}
	}
	return nil
}

// ParseRoutes parses a comma-separated list of prefixes (empty: none),
// checks each with ValidRoute and returns them sorted without
// duplicates.
func ParseRoutes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a prefix like 192.168.1.0/24", f)
		}
		if err := ValidRoute(p); err != nil {
			return nil, err
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) > MaxOfferRoutes {
		return nil, fmt.Errorf("%d routes, limit %d", len(out), MaxOfferRoutes)
	}
	SortPrefixes(out)
	return out, nil
}

// SortPrefixes sorts ps: IPv4 first, then by address, then shorter
// prefixes first.
func SortPrefixes(ps []netip.Prefix) {
	slices.SortFunc(ps, ComparePrefixes)
}

// ComparePrefixes orders prefixes by address (IPv4 first), then length.
func ComparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// checkOffer validates the offer part of an endpoint record.
func checkOffer(routes []netip.Prefix) error {
	if len(routes) > MaxOfferRoutes {
		return fmt.Errorf("endpoint record offers %d routes, limit %d", len(routes), MaxOfferRoutes)
	}
	for i, p := range routes {
		if err := ValidRoute(p); err != nil {
			return fmt.Errorf("endpoint record offers a bad route: %w", err)
		}
		if slices.Contains(routes[:i], p) {
			return fmt.Errorf("endpoint record offers %s twice", p)
		}
	}
	return nil
}

// RouteGrant is an admin's decision on one offer of a member: its exit
// node (Exit) or one subnet route (Prefix).
type RouteGrant struct {
	Node   key.NodePublic `json:"node"`
	Exit   bool           `json:"exit,omitempty"`
	Prefix netip.Prefix   `json:"prefix,omitzero"`
	// Approved false records an unapproval (see the merge rule above).
	Approved bool `json:"approved"`
	// Version is the roster version that made this decision.
	Version uint64 `json:"version"`
}

// sameRoute reports whether g and o decide the same offer.
func (g RouteGrant) sameRoute(o RouteGrant) bool {
	return g.Node == o.Node && g.Exit == o.Exit && g.Prefix == o.Prefix
}

// replaces reports whether g, a decision on the same offer as o, wins
// over o.
func (g RouteGrant) replaces(o RouteGrant) bool {
	if g.Version != o.Version {
		return g.Version > o.Version
	}
	return !g.Approved && o.Approved
}

// checkGrants validates r.Grants.
func (r *Roster) checkGrants() error {
	if len(r.Grants) > MaxGrants {
		return fmt.Errorf("roster has %d route grants, limit %d", len(r.Grants), MaxGrants)
	}
	for i, g := range r.Grants {
		switch {
		case g.Node.IsZero():
			return errors.New("roster route grant has no node")
		case g.Exit && g.Prefix.IsValid():
			return errors.New("roster route grant is both exit node and prefix")
		case !g.Exit:
			if err := ValidRoute(g.Prefix); err != nil {
				return fmt.Errorf("roster route grant: %w", err)
			}
		}
		if slices.ContainsFunc(r.Grants[:i], g.sameRoute) {
			return fmt.Errorf("roster has two grants for one route of %s", g.Node.ShortString())
		}
	}
	return nil
}

// Approved returns what the roster approves for node, a member: its exit
// node, and subnet routes (sorted).
func (r *Roster) Approved(node key.NodePublic) (exit bool, routes []netip.Prefix) {
	if _, ok := r.Member(node); !ok {
		return false, nil
	}
	for _, g := range r.Grants {
		if g.Node != node || !g.Approved {
			continue
		}
		if g.Exit {
			exit = true
		} else {
			routes = append(routes, g.Prefix)
		}
	}
	SortPrefixes(routes)
	return exit, routes
}

// setGrant records g in r, replacing the decision on the same route, and
// keeps r within MaxGrants by forgetting non-members' records, then the
// oldest unapprovals. On error r is unchanged.
func (r *Roster) setGrant(g RouteGrant) error {
	gs := slices.DeleteFunc(slices.Clone(r.Grants), g.sameRoute)
	gs = append(gs, g)
	if len(gs) > MaxGrants {
		gs = slices.DeleteFunc(gs, func(o RouteGrant) bool {
			_, ok := r.Member(o.Node)
			return !ok
		})
	}
	for len(gs) > MaxGrants {
		i := -1
		for j, o := range gs {
			if !o.Approved && (i < 0 || o.Version < gs[i].Version) {
				i = j
			}
		}
		if i < 0 {
			return fmt.Errorf("roster has %d approved routes, limit %d", len(gs), MaxGrants)
		}
		gs = slices.Delete(gs, i, i+1)
	}
	slices.SortFunc(gs, compareGrants)
	r.Grants = gs
	return nil
}

// grant returns the record deciding the same route as g.
func (r *Roster) grant(g RouteGrant) (RouteGrant, bool) {
	i := slices.IndexFunc(r.Grants, g.sameRoute)
	if i < 0 {
		return RouteGrant{}, false
	}
	return r.Grants[i], true
}

// Approve approves (or, with approved false, withdraws) node's exit node
// (exit true) or subnet route prefix in a new signed roster (admin only).
// Whether node offers it is not checked here: an approval may come
// first, and is used only while the offer stands. A non-member or a bad
// prefix is an error and changes nothing; a decision already in force
// reports false.
func (n *Network) Approve(node key.NodePublic, exit bool, prefix netip.Prefix, approved bool, now time.Time) (changed bool, err error) {
	if err := n.requireAdmin(); err != nil {
		return false, err
	}
	if _, ok := n.Roster.Member(node); !ok {
		return false, fmt.Errorf("network %q: node %s is not a member", n.Name, node.ShortString())
	}
	g := RouteGrant{Node: node, Exit: exit, Approved: approved, Version: n.Roster.Version + 1}
	if !exit {
		if err := ValidRoute(prefix); err != nil {
			return false, err
		}
		g.Prefix = prefix
	}
	old, ok := n.Roster.grant(g)
	if ok && old.Approved == approved || !ok && !approved {
		return false, nil
	}
	r := n.Roster.clone()
	if err := r.setGrant(g); err != nil {
		return false, fmt.Errorf("network %q: %w", n.Name, err)
	}
	if err := n.commit(r, now); err != nil {
		return false, err
	}
	return true, nil
}

// mergeGrants applies lost's route decisions that win over r's; it
// reports whether r changed.
func mergeGrants(r, lost *Roster) (changed bool) {
	for _, g := range lost.Grants {
		cur, ok := r.grant(g)
		if ok && !g.replaces(cur) || ok && cur == g {
			continue
		}
		if _, member := r.Member(g.Node); !member && !ok {
			continue
		}
		if r.setGrant(g) == nil {
			changed = true
		}
	}
	return changed
}

// compareGrants orders grants by node, then exit node first, then
// prefix, so that merged rosters are comparable.
func compareGrants(a, b RouteGrant) int {
	if c := bytes.Compare(a.Node[:], b.Node[:]); c != 0 {
		return c
	}
	if a.Exit != b.Exit {
		if a.Exit {
			return -1
		}
		return 1
	}
	return ComparePrefixes(a.Prefix, b.Prefix)
}

// MaxOfferBytes is the longest binary form of an offer (AppendOffer).
const MaxOfferBytes = 2 + MaxOfferRoutes*(1+16+1)

// ParseOffer parses what AppendOffer wrote (empty: no offer). It checks
// the form only; Verify checks the routes.
func ParseOffer(b []byte) (Offer, error) {
	var o Offer
	if len(b) == 0 {
		return o, nil
	}
	if len(b) < 2 || len(b) > MaxOfferBytes || b[0] > 1 || int(b[1]) > MaxOfferRoutes {
		return o, errors.New("bad offer")
	}
	o.ExitNode = b[0] == 1
	n := int(b[1])
	b = b[2:]
	for range n {
		if len(b) < 1 {
			return o, errors.New("offer truncated")
		}
		size := 4
		if b[0] == 6 {
			size = 16
		} else if b[0] != 4 {
			return o, fmt.Errorf("offer has address family %d", b[0])
		}
		if len(b) < 1+size+1 {
			return o, errors.New("offer truncated")
		}
		a, _ := netip.AddrFromSlice(b[1 : 1+size])
		p, err := a.Prefix(int(b[1+size]))
		if err != nil || p.Bits() != int(b[1+size]) {
			return o, errors.New("offer has a bad prefix length")
		}
		o.Routes = append(o.Routes, netip.PrefixFrom(a, int(b[1+size])))
		b = b[2+size:]
	}
	if len(b) != 0 || o.IsZero() {
		return o, errors.New("offer has trailing bytes")
	}
	return o, nil
}
