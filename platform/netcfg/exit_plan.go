package netcfg

// This file plans the use of an exit node: the Linux policy routing rules
// and the route plan shared by Windows and macOS. It has no build
// constraint so that its tests run everywhere.

import (
	"fmt"
	"net/netip"
	"slices"
)

// Linux policy routing for an exit node, like Tailscale's table 52:
// exitTable holds default routes (IPv4 and IPv6) via the TUN, and rules in
// front of the main table's send everything there except the daemon's own
// (FwMark) traffic, link-local destinations, the LAN (AllowLAN) and the
// Exclude prefixes, which keep the main table. Rules and routes carry
// routeProtocol, so that a later Apply, Teardown or Cleanup finds exactly
// ours.
const (
	exitTable   = 82 // 'R'; Tailscale uses 52
	mainTable   = 254
	fwMarkMask  = 0xff_0000
	prioMark    = 5280 // fwmark FwMark/fwMarkMask lookup main
	prioLAN     = 5281 // to link-local and (AllowLAN) LAN prefixes lookup main
	prioExclude = 5282 // to Exclude prefixes lookup main
	prioExit    = 5290 // lookup exitTable
)

// linkLocal lists destinations that never go to the exit node.
var linkLocal = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
}

// ipRule is one Linux policy routing rule of the exit plan.
type ipRule struct {
	Family   family
	Priority int
	Mark     bool         // matches FwMark/fwMarkMask
	Dst      netip.Prefix // zero: every destination
	Table    int
}

func (r ipRule) String() string {
	s := fmt.Sprintf("%v %d", r.Family, r.Priority)
	if r.Mark {
		s += fmt.Sprintf(" fwmark %#x/%#x", FwMark, fwMarkMask)
	}
	if r.Dst.IsValid() {
		s += " to " + r.Dst.String()
	}
	if r.Table == mainTable {
		return s + " lookup main"
	}
	return fmt.Sprintf("%s lookup %d", s, r.Table)
}

// linuxExitRules returns the rules for exit (validated), in order: per
// family the FwMark rule, link-local and (AllowLAN) lan prefixes, Exclude
// prefixes, then everything to exitTable. IPv6 rules are left out when v6
// is false.
func linuxExitRules(exit *Exit, lan []netip.Prefix, v6 bool) []ipRule {
	if exit == nil {
		return nil
	}
	var out []ipRule
	add := func(r ipRule) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	for _, f := range []family{familyV4, familyV6} {
		if f == familyV6 && !v6 {
			continue
		}
		inFamily := func(p netip.Prefix) bool { return (f == familyV4) == p.Addr().Is4() }
		add(ipRule{Family: f, Priority: prioMark, Mark: true, Table: mainTable})
		for _, p := range linkLocal {
			if inFamily(p) {
				add(ipRule{Family: f, Priority: prioLAN, Dst: p, Table: mainTable})
			}
		}
		if exit.AllowLAN {
			for _, p := range lan {
				if inFamily(p) {
					add(ipRule{Family: f, Priority: prioLAN, Dst: p.Masked(), Table: mainTable})
				}
			}
		}
		for _, p := range exit.Exclude {
			if inFamily(p) {
				add(ipRule{Family: f, Priority: prioExclude, Dst: p, Table: mainTable})
			}
		}
		add(ipRule{Family: f, Priority: prioExit, Table: exitTable})
	}
	return out
}

// lanPrefixes returns the prefixes of the directly connected networks of
// addrs (the addresses of the host's other interfaces): masked, without
// loopback, link-local, multicast, unspecified and host prefixes, and
// deduplicated.
func lanPrefixes(addrs []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range addrs {
		a, err := normalize(a)
		if err != nil {
			continue
		}
		ip := a.Addr()
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() ||
			a.Bits() == 0 || a.IsSingleIP() {
			continue
		}
		if m := a.Masked(); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// Windows and macOS have no policy routing that rayfish uses, so an exit
// node is a route plan there: the default route is overridden by two
// halves per family via the TUN (longer prefixes win, and the original
// default route stays for the gateway lookups below), and the addresses
// that must keep the underlay (Exclude: peers' direct paths, relays) get
// host routes via the original default gateway. The directly connected
// LAN routes are longer than the halves, so the LAN stays reachable; when
// AllowLAN is false each LAN prefix is captured by its two halves via the
// TUN, with an on-link host route kept for the gateway and for excluded
// addresses on the LAN.

// splitDefaults are the halves of the IPv4 and IPv6 default routes.
var splitDefaults = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/1"),
	netip.MustParsePrefix("128.0.0.0/1"),
	netip.MustParsePrefix("::/1"),
	netip.MustParsePrefix("8000::/1"),
}

// netIface names a physical interface: by name on macOS, by LUID on
// Windows.
type netIface struct {
	Name string
	LUID uint64
}

// gateway is a family's default route before the exit node was used.
type gateway struct {
	Family  family
	NextHop netip.Addr // zero for an on-link default; zoned if link-local
	Iface   netIface
}

// lanNet is a directly connected network and its interface.
type lanNet struct {
	Prefix netip.Prefix
	Iface  netIface
}

// bypassRoute keeps Dst off the tunnel: via NextHop, or on-link when
// NextHop is the zero Addr.
type bypassRoute struct {
	Dst     netip.Prefix
	NextHop netip.Addr
	Iface   netIface
}

func (r bypassRoute) String() string {
	if !r.NextHop.IsValid() {
		return fmt.Sprintf("%v dev %s", r.Dst, r.Iface)
	}
	return fmt.Sprintf("%v via %v dev %s", r.Dst, r.NextHop, r.Iface)
}

func (i netIface) String() string {
	if i.Name != "" {
		return i.Name
	}
	return fmt.Sprintf("luid:%d", i.LUID)
}

// exitRoutes is the route plan for an exit node on Windows and macOS.
type exitRoutes struct {
	Tun    []netip.Prefix // via the TUN
	Bypass []bypassRoute  // on other interfaces, added before Tun
}

// splitExitPlan plans exit (validated; nil: nothing) given the original
// default gateways (at most one per family) and the connected networks of
// the host's other interfaces. An excluded address of a family without a
// gateway, and off the LAN, gets no route: it was unreachable before.
func splitExitPlan(exit *Exit, gws []gateway, lans []lanNet) exitRoutes {
	var plan exitRoutes
	if exit == nil {
		return plan
	}
	plan.Tun = slices.Clone(splitDefaults)
	addBypass := func(r bypassRoute) {
		if !slices.ContainsFunc(plan.Bypass, func(o bypassRoute) bool { return o.Dst == r.Dst }) {
			plan.Bypass = append(plan.Bypass, r)
		}
	}
	onLAN := func(a netip.Addr) (lanNet, bool) {
		for _, l := range lans {
			if l.Prefix.Contains(a) {
				return l, true
			}
		}
		return lanNet{}, false
	}
	if !exit.AllowLAN {
		for _, l := range lans {
			p := l.Prefix.Masked()
			if p.Bits() == 0 || p.IsSingleIP() || p.Addr().IsLinkLocalUnicast() {
				continue
			}
			lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
			hi := netip.PrefixFrom(lastAddr(p), p.Bits()+1).Masked()
			for _, h := range []netip.Prefix{lo, hi} {
				if !slices.Contains(plan.Tun, h) {
					plan.Tun = append(plan.Tun, h)
				}
			}
		}
		for _, gw := range gws {
			if l, ok := onLAN(gw.NextHop); ok {
				addBypass(bypassRoute{Dst: netip.PrefixFrom(gw.NextHop.WithZone(""), gw.NextHop.BitLen()), Iface: l.Iface})
			}
		}
	}
	for _, p := range exit.Exclude {
		if l, ok := onLAN(p.Addr()); ok && l.Prefix.Bits() <= p.Bits() {
			if !exit.AllowLAN {
				addBypass(bypassRoute{Dst: p, Iface: l.Iface})
			}
			continue
		}
		for _, gw := range gws {
			if (gw.Family == familyV4) == p.Addr().Is4() {
				addBypass(bypassRoute{Dst: p, NextHop: gw.NextHop, Iface: gw.Iface})
				break
			}
		}
	}
	return plan
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
