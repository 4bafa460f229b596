package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// minIDPrefix is the shortest id prefix accepted in place of a node id.
const minIDPrefix = 4

// maxCandidates bounds the candidates an ambiguity error lists.
const maxCandidates = 8

// ResolvePeer finds a peer by hostname (optionally host.network, with or
// without .ray), overlay IP, node id or any unique prefix of a node id.
// Naming this node, or several peers, is a one-line error that says so
// (and lists the candidates).
func (e *Engine) ResolvePeer(s string) (key.NodePublic, error) {
	q := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	q = strings.TrimSuffix(q, ".ray")
	if q == "" {
		return key.NodePublic{}, fmt.Errorf("no peer named %q", s)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if k, err := key.ParseNodePublic(q); err == nil {
		switch _, ok := e.peers[k]; {
		case k == e.self:
			return k, e.isSelfErr(s)
		case ok:
			return k, nil
		}
		return k, fmt.Errorf("node %s shares no network with this node", k.ShortString())
	}
	if a, err := netip.ParseAddr(q); err == nil {
		if e.dp.IsLocal(a) {
			return key.NodePublic{}, e.isSelfErr(s)
		}
		if p, ok := e.dp.Route(a); ok {
			return p.Key(), nil
		}
		return key.NodePublic{}, fmt.Errorf("no peer has address %s", a)
	}
	// A hostname, as the rosters name members.
	host, netName, _ := strings.Cut(q, ".")
	if k, ok := e.state.NameOwner(host); ok && netName == "" && e.peers[k] != nil {
		return k, nil // the bare name's holder, as in magic DNS
	}
	var found []key.NodePublic
	self := false
	for _, n := range e.state.Networks {
		if netName != "" && n.Name != netName {
			continue
		}
		for _, m := range n.Roster.Members {
			switch {
			case m.Hostname != host:
			case m.Node == e.self:
				self = true
			case !slices.Contains(found, m.Node):
				found = append(found, m.Node)
			}
		}
	}
	if len(found) == 0 && self {
		return key.NodePublic{}, e.isSelfErr(s)
	}
	if len(found) == 0 && netName == "" && len(q) >= minIDPrefix {
		// Any unique prefix of a node id.
		for k := range e.peers {
			if strings.HasPrefix(k.String(), q) {
				found = append(found, k)
			}
		}
		if len(found) == 0 && strings.HasPrefix(e.self.String(), q) {
			return key.NodePublic{}, e.isSelfErr(s)
		}
	}
	switch len(found) {
	case 0:
		return key.NodePublic{}, fmt.Errorf("no peer named %q (name a peer by hostname, overlay IP or node id prefix; see ray status)", s)
	case 1:
		return found[0], nil
	}
	return key.NodePublic{}, fmt.Errorf("%q names %d peers: %s; use host.network or more of the node id",
		s, len(found), e.candidatesLocked(found))
}

// isSelfErr says that s names this node rather than a peer.
func (e *Engine) isSelfErr(s string) error {
	return fmt.Errorf("%q is this node (%s); name a peer", s, e.self.ShortString())
}

// candidatesLocked lists nodes as "hostname (id prefix)", sorted.
func (e *Engine) candidatesLocked(ks []key.NodePublic) string {
	var out []string
	for _, k := range ks {
		name := "?"
		if p := e.peers[k]; p != nil {
			name = p.info.hostname
		}
		out = append(out, fmt.Sprintf("%s (%s)", name, k.ShortString()))
	}
	slices.Sort(out)
	if len(out) > maxCandidates {
		out = append(out[:maxCandidates], fmt.Sprintf("and %d more", len(out)-maxCandidates))
	}
	return strings.Join(out, ", ")
}

// resolveRequestLocked finds the pending join request of network n named
// by s: the requester's node id, any unique prefix of it, or its hostname.
func resolveRequestLocked(n *netmap.Network, s string, now time.Time) (key.NodePublic, error) {
	q := strings.ToLower(strings.TrimSpace(s))
	if k, err := key.ParseNodePublic(q); err == nil {
		return k, nil
	}
	var found []netmap.JoinRequest
	for _, r := range n.PendingRequests(now) {
		if r.Hostname == q || (len(q) >= minIDPrefix && strings.HasPrefix(r.Node.String(), q)) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return key.NodePublic{}, fmt.Errorf("no pending join request %q in %q (see ray requests %s)", s, n.Name, n.Name)
	case 1:
		return found[0].Node, nil
	}
	var names []string
	for _, r := range found {
		names = append(names, fmt.Sprintf("%s (%s)", r.Hostname, r.Node.ShortString()))
	}
	return key.NodePublic{}, fmt.Errorf("%q matches %d join requests: %s; give more of the id", s, len(found), strings.Join(names, ", "))
}
