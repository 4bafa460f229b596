package engine

import (
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"

	"github.com/rayfish/rayfish/engine/dataplane"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/engine/router"
	"github.com/rayfish/rayfish/engine/routeset"
	"github.com/rayfish/rayfish/platform/netcfg"
)

// RouteConfig is the OS side of exit nodes and subnet routes: the
// prefixes routed into the TUN besides the overlay, the exit node's
// catch-all (nil: none) and forwarding while this node serves.
type RouteConfig struct {
	Routes  []netip.Prefix
	Exit    *netcfg.Exit
	Forward bool
}

func (c RouteConfig) equal(o RouteConfig) bool {
	if !slices.Equal(c.Routes, o.Routes) || c.Forward != o.Forward || (c.Exit == nil) != (o.Exit == nil) {
		return false
	}
	return c.Exit == nil || c.Exit.AllowLAN == o.Exit.AllowLAN && slices.Equal(c.Exit.Exclude, o.Exit.Exclude)
}

// RouteConfigurator is implemented by a NetConfigurator that also
// installs routes (the daemon's); without it the engine routes only in
// its data path.
type RouteConfigurator interface {
	ApplyRoutes(RouteConfig) error
}

// applyRoutes hands c to the OS; routineReconfig calls it outside every
// engine lock.
func (e *Engine) applyRoutes(c RouteConfig) {
	rc, ok := e.cfg.Net.(RouteConfigurator)
	if !ok {
		return
	}
	if err := rc.ApplyRoutes(c); err != nil {
		e.log.Error("apply routes", "err", err)
	}
}

// markSocket applies Config.SocketControl to the UDP socket: the daemon
// marks it so that an exit node's routes leave it on the underlay.
func (e *Engine) markSocket(udp *net.UDPConn) {
	if e.cfg.SocketControl == nil {
		return
	}
	rc, err := udp.SyscallConn()
	if err == nil {
		err = e.cfg.SocketControl("udp", udp.LocalAddr().String(), rc)
	}
	if err != nil {
		e.log.Warn("cannot mark the UDP socket: an exit node would capture the paths to peers", "err", err)
	}
}

// myOfferLocked returns what this node offers, from the preferences.
func (e *Engine) myOfferLocked() netmap.Offer {
	return netmap.Offer{ExitNode: e.prefs.AdvertiseExit, Routes: slices.Clone(e.prefs.AdvertiseRoutes)}
}

// approvedLocked returns what the rosters of the networks this node
// shares with node approve for it.
func (e *Engine) approvedLocked(node key.NodePublic) (exit bool, routes []netip.Prefix) {
	for _, n := range e.state.Networks {
		if n.Roster == nil {
			continue
		}
		if _, ok := n.Roster.Member(e.self); !ok {
			continue
		}
		x, rs := n.Roster.Approved(node)
		exit = exit || x
		for _, r := range rs {
			if !slices.Contains(routes, r) {
				routes = append(routes, r)
			}
		}
	}
	netmap.SortPrefixes(routes)
	return exit, routes
}

// usableLocked returns node's offers that an admin approved: the ones
// in force. offer is what node's record says.
func (e *Engine) usableLocked(node key.NodePublic, offer netmap.Offer) (exit bool, routes []netip.Prefix) {
	ax, ar := e.approvedLocked(node)
	for _, r := range offer.Routes {
		if slices.Contains(ar, r) {
			routes = append(routes, r)
		}
	}
	return ax && offer.ExitNode, routes
}

// exitChoiceLocked returns the exit node the user chose (zero: none).
func (e *Engine) exitChoiceLocked() key.NodePublic {
	if e.prefs.ExitNode == "" {
		return key.NodePublic{}
	}
	k, err := key.ParseNodePublic(e.prefs.ExitNode)
	if err != nil {
		return key.NodePublic{}
	}
	return k
}

// relayAddrsLocked returns the addresses of relays named by IP in the
// preferences and in members' records. Relays named by host name are
// kept off the tunnel on Linux by the socket mark alone.
func (e *Engine) relayAddrsLocked() []netip.Addr {
	urls := slices.Clone(e.prefs.Relays)
	urls = append(urls, e.myRecord.Relay)
	for _, r := range e.state.Endpoints {
		urls = append(urls, r.Relay)
	}
	var out []netip.Addr
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil || s == "" {
			continue
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// updateRoutesLocked recomputes the route set from the rosters, the
// records and the preferences, installs the routing table of the data
// plane (peers' overlay addresses, subnet routes, the exit node as the
// default peer), points magic DNS at the exit node, and asks
// routineReconfig to apply the OS side.
func (e *Engine) updateRoutesLocked() {
	in := routeset.Input[*peer]{
		Accept: e.prefs.AcceptRoutes,
		Exit:   e.exitChoiceLocked(),
		Relays: e.relayAddrsLocked(),
	}
	in.ServeExit, in.ServeRoutes = e.usableLocked(e.self, e.myOfferLocked())
	keys := slices.SortedFunc(maps.Keys(e.peers), compareNodes)
	for _, k := range keys {
		p := e.peers[k]
		rec := e.state.Endpoints[k]
		rp := routeset.Peer[*peer]{ID: p, Key: k, Online: p.cur.Load() != nil}
		rp.ExitNode, rp.Routes = e.usableLocked(k, rec.Offer())
		for _, a := range rec.Addrs {
			rp.Underlay = append(rp.Underlay, a.Addr())
		}
		in.Peers = append(in.Peers, rp)
	}
	s := routeset.Compute(in)

	// The table: our addresses first (they are no peer's), then the
	// peers' in key order, so that which claim wins a conflict does not
	// depend on map iteration order.
	var b router.Builder[*dataplane.Peer]
	b.AddLocal(e.self.IPv6())
	for _, a := range e.selfV4 {
		b.AddLocal(a)
	}
	for _, k := range keys {
		p := e.peers[k]
		for _, a := range p.info.ipv4 {
			b.Add(a, p.dp)
		}
		if p.info.ipv6.IsValid() {
			b.Add(p.info.ipv6, p.dp)
		}
	}
	for _, a := range b.Conflicts { // ResolveOwners gives each address one owner
		e.log.Error("overlay address claimed twice", "addr", a)
	}
	for _, r := range s.Routes {
		b.AddPrefix(r.Prefix, r.Peer.dp)
	}
	var exitDNS []netip.AddrPort
	var exit *dataplane.Peer
	if s.HasExit {
		exit = s.Exit.dp
		b.SetDefault(exit)
		if a := firstAddr(s.Exit.info.ipv4); a.IsValid() {
			exitDNS = []netip.AddrPort{netip.AddrPortFrom(a, 53)}
		}
	}
	e.dp.SetRoutes(&b)
	e.dp.SetRouting(dataplane.Routing{ServeExit: s.ServeExit, ServePrefixes: s.ServeRoutes, ExitBlocked: s.ExitSelected && !s.HasExit, Exit: exit})
	e.exitDNSLocked(s.ExitSelected, exitDNS)

	rc := RouteConfig{Routes: s.OSRoutes(), Forward: s.Forward()}
	if s.ExitSelected {
		rc.Exit = &netcfg.Exit{AllowLAN: e.prefs.ExitAllowLAN, Exclude: s.Exclude}
	}
	e.reconf.request(func() { e.reconf.routes = rc })
}

// exitDNSLocked makes magic DNS forward other names to the exit node
// while one is chosen (its DNS follows the exit node; with none usable,
// queries go nowhere rather than leak), and to the system's resolvers
// otherwise.
func (e *Engine) exitDNSLocked(selected bool, exit []netip.AddrPort) {
	if e.fwd == nil {
		return
	}
	if selected {
		e.fwd.SetUpstreams(exit)
		return
	}
	e.fwd.SetUpstreams(e.cfg.DNSUpstreams)
}
