package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/engine/routeset"
)

// Exit nodes and subnet routes: this node's offers (ray advertise), an
// admin's approvals (ray routes approve), the use of members' routes (ray
// routes accept) and the exit node this node uses (ray exit-node). The
// route set itself is computed in routeplan.go.

// Advertise changes this node's offers; bad routes change nothing. The
// new offers go out in a freshly signed endpoint record.
func (e *Engine) Advertise(req apitype.AdvertiseRequest) (apitype.Offer, error) {
	var routes []netip.Prefix
	if req.Routes != nil {
		var err error
		if routes, err = netmap.ParseRoutes(strings.Join(*req.Routes, ",")); err != nil {
			return apitype.Offer{}, err
		}
	}
	e.mu.Lock()
	if req.ExitNode != nil {
		e.prefs.AdvertiseExit = *req.ExitNode
	}
	if req.Routes != nil {
		e.prefs.AdvertiseRoutes = routes
	}
	e.savePrefsLocked()
	offer := e.myOfferLocked()
	e.mu.Unlock()
	e.flushSaved()
	if e.refreshEndpoints() {
		e.broadcastRecord()
		e.mu.Lock()
		svc := e.mdns
		e.mu.Unlock()
		if svc != nil {
			svc.Announce()
		}
	}
	e.watchers.notify()
	return apiOffer(offer), nil
}

func apiOffer(o netmap.Offer) apitype.Offer {
	return apitype.Offer{ExitNode: o.ExitNode, Routes: prefixStrings(o.Routes)}
}

func prefixStrings(ps []netip.Prefix) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// SetAcceptRoutes turns the use of members' approved subnet routes on or
// off.
func (e *Engine) SetAcceptRoutes(accept bool) error {
	e.mu.Lock()
	e.prefs.AcceptRoutes = accept
	e.savePrefsLocked()
	e.updateRoutesLocked()
	e.mu.Unlock()
	e.flushSaved()
	e.watchers.notify()
	return nil
}

// parseRoute parses what ray routes approve takes: a prefix or
// "exit-node".
func parseRoute(s string) (exit bool, p netip.Prefix, err error) {
	s = strings.TrimSpace(s)
	if s == apitype.ExitNodeRoute {
		return true, netip.Prefix{}, nil
	}
	p, err = netip.ParsePrefix(s)
	if err != nil {
		return false, p, fmt.Errorf("%q is neither a prefix like 192.168.1.0/24 nor exit-node", s)
	}
	return false, p, netmap.ValidRoute(p)
}

// ApproveRoute approves or withdraws (approve false) peer's offer route
// in network (admin only). Approving needs the offer to stand; anything
// wrong is an error and changes nothing.
func (e *Engine) ApproveRoute(req apitype.ApproveRequest) (hostname string, err error) {
	exit, prefix, err := parseRoute(req.Route)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	n, err := e.adminNetworkLocked(req.Network, "approve routes")
	e.mu.Unlock()
	if err != nil {
		return "", err
	}
	m, err := e.resolveMemberOrSelf(n, req.Peer)
	if err != nil {
		return "", err
	}
	defer e.flushSaved() // after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state.ByID(n.ID) != n || !n.IsAdmin() {
		return "", fmt.Errorf("no longer an admin of %q", n.Name)
	}
	what := prefix.String()
	if exit {
		what = "to be an exit node"
	}
	if req.Approve {
		offer := e.recordOfLocked(m.Node).Offer()
		if exit && !offer.ExitNode || !exit && !slices.Contains(offer.Routes, prefix) {
			return "", fmt.Errorf("%s does not offer %s (its offers: %s)", m.Hostname, what, describeOffer(offer))
		}
	}
	changed, err := n.Approve(m.Node, exit, prefix, req.Approve, time.Now())
	if err != nil {
		return "", err
	}
	if !changed {
		if req.Approve {
			return "", fmt.Errorf("%s is already approved %s in %q", m.Hostname, strings.TrimPrefix(what, "to be "), n.Name)
		}
		return "", fmt.Errorf("%s has no approval for %s in %q", m.Hostname, strings.TrimPrefix(what, "to be "), n.Name)
	}
	e.saveLocked()
	e.gossipRosterLocked(n.ID, key.NodePublic{})
	e.updateRoutesLocked()
	e.watchers.notify()
	e.log.Info("route approval changed", "network", n.Name, "node", m.Node.ShortString(), "route", req.Route, "approved", req.Approve)
	return m.Hostname, nil
}

// describeOffer renders an offer for messages.
func describeOffer(o netmap.Offer) string {
	var parts []string
	if o.ExitNode {
		parts = append(parts, apitype.ExitNodeRoute)
	}
	parts = append(parts, prefixStrings(o.Routes)...)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// recordOfLocked returns node's endpoint record (ours for self).
func (e *Engine) recordOfLocked(node key.NodePublic) netmap.EndpointRecord {
	if node == e.self {
		return e.myRecord
	}
	return e.state.Endpoints[node]
}

// resolveMemberOrSelf is resolveMember that also accepts this node by
// hostname, id or overlay address (an admin approves its own offers too).
func (e *Engine) resolveMemberOrSelf(n *netmap.Network, s string) (netmap.Member, error) {
	q := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	q = strings.TrimSuffix(strings.TrimSuffix(q, ".ray"), "."+n.Name)
	e.mu.Lock()
	self, ok := n.Roster.Member(e.self)
	e.mu.Unlock()
	if ok && (q == self.Hostname || q == e.self.String() || q == self.IPv4.String() || q == self.IPv6.String()) {
		return self, nil
	}
	return e.resolveMember(n, s)
}

// NetworkRoutes lists the offers and approvals of every member of
// network.
func (e *Engine) NetworkRoutes(network string) (apitype.NetworkRoutes, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.networkLocked(network)
	if err != nil {
		return apitype.NetworkRoutes{}, err
	}
	out := apitype.NetworkRoutes{Network: n.Name, Members: []apitype.MemberRoutes{}}
	for _, m := range n.Roster.Members {
		offer := e.recordOfLocked(m.Node).Offer()
		exit, approved := n.Roster.Approved(m.Node)
		mr := apitype.MemberRoutes{ID: m.Node.String(), Hostname: m.Hostname, ExitNodeOffered: offer.ExitNode,
			ExitNodeApproved: exit, Routes: []apitype.RouteState{}}
		all := slices.Clone(offer.Routes)
		for _, r := range approved {
			if !slices.Contains(all, r) {
				all = append(all, r)
			}
		}
		netmap.SortPrefixes(all)
		for _, r := range all {
			mr.Routes = append(mr.Routes, apitype.RouteState{Prefix: r.String(),
				Offered: slices.Contains(offer.Routes, r), Approved: slices.Contains(approved, r)})
		}
		if mr.ExitNodeOffered || mr.ExitNodeApproved || len(mr.Routes) > 0 {
			out.Members = append(out.Members, mr)
		}
	}
	slices.SortFunc(out.Members, func(a, b apitype.MemberRoutes) int { return strings.Compare(a.Hostname, b.Hostname) })
	return out, nil
}

// ExitNodes lists the peers that offer to be an exit node.
func (e *Engine) ExitNodes() []apitype.ExitNodeInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	choice := e.exitChoiceLocked()
	out := []apitype.ExitNodeInfo{}
	for k, p := range e.peers {
		rec := e.state.Endpoints[k]
		if !rec.ExitNode {
			continue
		}
		approved, _ := e.usableLocked(k, rec.Offer())
		out = append(out, apitype.ExitNodeInfo{ID: k.String(), Hostname: p.info.hostname, Online: p.cur.Load() != nil,
			Approved: approved, Selected: k == choice})
	}
	slices.SortFunc(out, func(a, b apitype.ExitNodeInfo) int { return strings.Compare(a.Hostname, b.Hostname) })
	return out
}

// UseExitNode sends all traffic through peer ("" stops using one). The
// peer must be a member that offers to be an exit node with an admin's
// approval; otherwise nothing changes.
func (e *Engine) UseExitNode(peer string, allowLAN bool) (*apitype.ExitNode, error) {
	var id string
	if strings.TrimSpace(peer) != "" {
		k, err := e.ResolvePeer(peer)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		rec := e.state.Endpoints[k]
		exit, _ := e.usableLocked(k, rec.Offer())
		name := e.nameOfLocked(k)
		e.mu.Unlock()
		switch {
		case !rec.ExitNode:
			return nil, fmt.Errorf("%s does not offer to be an exit node (it runs: ray advertise exit-node on)", name)
		case !exit:
			return nil, fmt.Errorf("%s is not an approved exit node (an admin runs: ray routes approve NETWORK %s exit-node)", name, name)
		}
		id = k.String()
	}
	e.mu.Lock()
	e.prefs.ExitNode, e.prefs.ExitAllowLAN = id, allowLAN && id != ""
	e.savePrefsLocked()
	e.updateRoutesLocked()
	st := e.exitStatusLocked()
	e.mu.Unlock()
	e.flushSaved()
	e.watchers.notify()
	return st, nil
}

// exitStatusLocked returns the exit node in use for status (nil: none).
func (e *Engine) exitStatusLocked() *apitype.ExitNode {
	k := e.exitChoiceLocked()
	if k.IsZero() {
		return nil
	}
	st := &apitype.ExitNode{ID: k.String(), Hostname: k.ShortString(), State: routeset.ExitUnapproved, AllowLAN: e.prefs.ExitAllowLAN}
	p := e.peers[k]
	if p == nil {
		return st
	}
	st.Hostname = p.info.hostname
	if exit, _ := e.usableLocked(k, e.state.Endpoints[k].Offer()); !exit {
		return st
	}
	st.State = routeset.ExitOffline
	if p.cur.Load() != nil {
		st.State = routeset.ExitOnline
	}
	return st
}

// routesStatusLocked fills the exit node and route fields of st.
func (e *Engine) routesStatusLocked(st *apitype.Status) {
	st.ExitNode = e.exitStatusLocked()
	st.Advertised = apiOffer(e.myOfferLocked())
	st.AcceptRoutes = e.prefs.AcceptRoutes
	for i := range st.Peers {
		k, err := key.ParseNodePublic(st.Peers[i].ID)
		if err != nil {
			continue
		}
		offer := e.state.Endpoints[k].Offer()
		exit, routes := e.usableLocked(k, offer)
		st.Peers[i].ExitNodeOffer, st.Peers[i].ExitNodeApproved = offer.ExitNode, exit
		if len(routes) > 0 {
			st.Peers[i].Routes = prefixStrings(routes)
		}
	}
}
