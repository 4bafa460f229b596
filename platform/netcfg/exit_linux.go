package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// syncExit brings the exit-node policy routing (see exit_plan.go) to
// cfg.Exit for link: the default routes in exitTable first, then the
// rules, so that traffic never meets a rule whose table is empty. With
// cfg.Exit nil it removes both. IPv6 is left out when v6 is false.
func syncExit(link netlink.Link, exit *Exit, v6 bool) error {
	if exit == nil {
		return removeExit()
	}
	lan, err := lanAddrs(link.Attrs().Index)
	if err != nil {
		return err
	}
	var routes []netip.Prefix
	routes = append(routes, netip.PrefixFrom(netip.IPv4Unspecified(), 0))
	if v6 {
		routes = append(routes, netip.PrefixFrom(netip.IPv6Unspecified(), 0))
	}
	if err := syncExitRoutes(link.Attrs().Index, routes); err != nil {
		return err
	}
	return syncRules(linuxExitRules(exit, lanPrefixes(lan), v6))
}

// removeExit removes our rules, then our routes in exitTable, whatever
// interface they were for (the TUN may be gone after a crash).
func removeExit() error {
	if err := syncRules(nil); err != nil {
		return err
	}
	return syncExitRoutes(0, nil)
}

// lanAddrs returns the addresses of every interface but the TUN (index
// tun) and loopback.
func lanAddrs(tun int) ([]netip.Prefix, error) {
	list, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("netcfg: list addresses: %w", err)
	}
	var out []netip.Prefix
	for _, a := range list {
		if a.LinkIndex == tun || a.Scope == unix.RT_SCOPE_HOST {
			continue
		}
		if p, ok := prefixFromIPNet(a.IPNet); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// syncExitRoutes makes want the exact set of routes with routeProtocol in
// exitTable, all via interface index tun.
func syncExitRoutes(tun int, want []netip.Prefix) error {
	filter := &netlink.Route{Table: exitTable, Protocol: routeProtocol}
	list, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	})
	if err != nil {
		return fmt.Errorf("netcfg: list routes of table %d: %w", exitTable, err)
	}
	for _, r := range list {
		if p, ok := routeDst(r); ok && r.LinkIndex == tun && slices.Contains(want, p) {
			continue
		}
		if err := netlink.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("netcfg: remove route %v from table %d: %w", r.Dst, exitTable, err)
		}
	}
	for _, p := range want {
		if err := netlink.RouteReplace(ownRoute(tun, exitTable, p)); err != nil {
			return fmt.Errorf("netcfg: add route %v to table %d: %w", p, exitTable, err)
		}
	}
	return nil
}

// routeDst returns the destination of r; a default route may come back
// without one.
func routeDst(r netlink.Route) (netip.Prefix, bool) {
	if r.Dst != nil {
		return prefixFromIPNet(r.Dst)
	}
	switch r.Family {
	case unix.AF_INET:
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0), true
	case unix.AF_INET6:
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0), true
	}
	return netip.Prefix{}, false
}

// syncRules makes want the exact set of policy routing rules that carry
// routeProtocol, removing stale ones before adding missing ones.
func syncRules(want []ipRule) error {
	list, err := retryDump(func() ([]netlink.Rule, error) { return netlink.RuleList(netlink.FAMILY_ALL) })
	if err != nil {
		return fmt.Errorf("netcfg: list routing rules: %w", err)
	}
	var have []ipRule
	for _, r := range list {
		if r.Protocol != uint8(routeProtocol) {
			continue // not ours
		}
		ir, ok := ruleFromNetlink(r)
		if ok && slices.Contains(want, ir) && !slices.Contains(have, ir) {
			have = append(have, ir)
			continue
		}
		if err := netlink.RuleDel(&r); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("netcfg: remove routing rule %v: %w", ir, err)
		}
	}
	for _, r := range want {
		if slices.Contains(have, r) {
			continue
		}
		if err := netlink.RuleAdd(ruleToNetlink(r)); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("netcfg: add routing rule %v: %w", r, err)
		}
	}
	return nil
}

func ruleToNetlink(r ipRule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Family = unix.AF_INET
	if r.Family == familyV6 {
		nr.Family = unix.AF_INET6
	}
	nr.Priority = r.Priority
	nr.Table = r.Table
	nr.Protocol = uint8(routeProtocol)
	if r.Mark {
		mask := uint32(fwMarkMask)
		nr.Mark, nr.Mask = FwMark, &mask
	}
	if r.Dst.IsValid() {
		nr.Dst = ipNet(r.Dst)
	}
	return nr
}

// ruleFromNetlink converts a listed rule back; ok is false for a rule
// that no plan produces.
func ruleFromNetlink(nr netlink.Rule) (ipRule, bool) {
	r := ipRule{Family: familyV4, Priority: nr.Priority, Table: nr.Table}
	if nr.Family == unix.AF_INET6 {
		r.Family = familyV6
	}
	if nr.Dst != nil {
		p, ok := prefixFromIPNet(nr.Dst)
		if !ok {
			return r, false
		}
		r.Dst = p
	}
	switch {
	case nr.Mark == FwMark && nr.Mask != nil && *nr.Mask == fwMarkMask:
		r.Mark = true
	case nr.Mark != 0 || nr.Mask != nil:
		return r, false
	}
	exotic := nr.Src != nil || nr.Invert || nr.IifName != "" || nr.OifName != "" ||
		nr.SuppressPrefixlen != -1 || nr.SuppressIfgroup != -1 || nr.Goto != -1 || nr.Tos != 0 ||
		nr.TunID != 0 || nr.IPProto != 0 || nr.Dport != nil || nr.Sport != nil || nr.UIDRange != nil
	return r, !exotic
}
