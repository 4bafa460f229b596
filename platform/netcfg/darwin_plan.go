package netcfg

// This file builds the ifconfig(8) and route(8) command lines used on darwin.
// It has no build constraint so that its tests run everywhere.

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// command is one program invocation of a darwin plan.
type command struct {
	Args []string
	// OKIfExists means a "File exists" failure leaves the wanted state (a
	// route that is already there).
	OKIfExists bool
	// OKIfMissing means a "not in table" failure leaves the wanted state (a
	// route that is already gone).
	OKIfMissing bool
}

// darwinRoutes are the routes an Apply installed on darwin: via the utun
// (the prefixes of its addresses, cfg.Routes and the exit node's split
// defaults) and the exit node's bypass routes on other interfaces.
type darwinRoutes struct {
	Tun    []netip.Prefix
	Bypass []bypassRoute
}

// darwinWant returns the routes cfg (validated) and the exit-node plan call
// for.
func darwinWant(cfg Config, exit exitRoutes) darwinRoutes {
	tun := cfg.allRoutes()
	for _, r := range exit.Tun {
		if !slices.Contains(tun, r) {
			tun = append(tun, r)
		}
	}
	return darwinRoutes{Tun: tun, Bypass: exit.Bypass}
}

// darwinApplyPlan returns the commands that bring utun interface cfg.Name to
// cfg and the exit-node plan exit, given its current addresses and the
// routes an earlier Apply installed. cfg must be validated.
//
// A utun is point-to-point, so an IPv4 address is set with itself as the
// destination and the prefix of every address is routed explicitly, as
// wg-quick does. New bypass routes go in before the split default routes
// capture the traffic; stale ones go after those are released.
func darwinApplyPlan(cfg Config, haveAddrs []netip.Prefix, prev darwinRoutes, exit exitRoutes) []command {
	name := cfg.Name
	want := darwinWant(cfg, exit)
	var cmds []command
	if cfg.MTU != 0 {
		cmds = append(cmds, command{Args: []string{"ifconfig", name, "mtu", strconv.Itoa(cfg.MTU)}})
	}
	for _, p := range diffPrefixes(haveAddrs, cfg.Addrs) {
		cmds = append(cmds, darwinDelAddr(name, p))
	}
	for _, p := range cfg.Addrs {
		if slices.Contains(haveAddrs, p) {
			continue
		}
		if p.Addr().Is4() {
			cmds = append(cmds, command{Args: []string{"ifconfig", name, "inet", p.String(), p.Addr().String(), "alias"}})
		} else {
			cmds = append(cmds, command{Args: []string{"ifconfig", name, "inet6", p.String(), "alias"}})
		}
	}
	cmds = append(cmds, command{Args: []string{"ifconfig", name, "up"}})
	for _, b := range want.Bypass {
		if slices.Contains(prev.Bypass, b) {
			continue
		}
		if slices.ContainsFunc(prev.Bypass, func(o bypassRoute) bool { return o.Dst == b.Dst }) {
			cmds = append(cmds, darwinDelBypass(b.Dst)) // the gateway changed
		}
		cmds = append(cmds, darwinAddBypass(b))
	}
	for _, r := range prev.Tun {
		if !slices.Contains(want.Tun, r) {
			cmds = append(cmds, darwinRoute("delete", name, r))
		}
	}
	for _, r := range want.Tun {
		cmds = append(cmds, darwinRoute("add", name, r))
	}
	for _, b := range prev.Bypass {
		if !slices.ContainsFunc(want.Bypass, func(o bypassRoute) bool { return o.Dst == b.Dst }) {
			cmds = append(cmds, darwinDelBypass(b.Dst))
		}
	}
	return cmds
}

// darwinTeardownPlan returns the commands that remove routes and addresses
// from interface name and set it down.
func darwinTeardownPlan(name string, haveAddrs []netip.Prefix, prev darwinRoutes) []command {
	var cmds []command
	for _, r := range prev.Tun {
		cmds = append(cmds, darwinRoute("delete", name, r))
	}
	for _, b := range prev.Bypass {
		cmds = append(cmds, darwinDelBypass(b.Dst))
	}
	for _, p := range diffPrefixes(haveAddrs, nil) {
		cmds = append(cmds, darwinDelAddr(name, p))
	}
	return append(cmds, command{Args: []string{"ifconfig", name, "down"}})
}

func darwinAddBypass(b bypassRoute) command {
	args := []string{"route", "-q", "-n", "add", darwinFamily(b.Dst), b.Dst.String()}
	if b.NextHop.IsValid() {
		args = append(args, b.NextHop.String())
	} else {
		args = append(args, "-interface", b.Iface.Name)
	}
	return command{Args: args, OKIfExists: true}
}

func darwinDelBypass(dst netip.Prefix) command {
	return command{Args: []string{"route", "-q", "-n", "delete", darwinFamily(dst), dst.String()}, OKIfMissing: true}
}

func darwinFamily(p netip.Prefix) string {
	if p.Addr().Is6() {
		return "-inet6"
	}
	return "-inet"
}

// parseNetstatDefault finds the default route in the output of `netstat
// -rn -f inet` (or inet6) that is neither via interface tun nor scoped to
// an interface (flag I): the gateway an exit node's bypass routes use.
func parseNetstatDefault(out []byte, f family, tun string) (gateway, bool) {
	flagsCol, netifCol := -1, -1
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if fields[0] == "Destination" {
			flagsCol, netifCol = slices.Index(fields, "Flags"), slices.Index(fields, "Netif")
			continue
		}
		if fields[0] != "default" || flagsCol < 0 || netifCol < 0 || len(fields) <= max(flagsCol, netifCol) {
			continue
		}
		flags, netif := fields[flagsCol], fields[netifCol]
		if netif == tun || strings.Contains(flags, "I") || !strings.Contains(flags, "U") {
			continue
		}
		gw := gateway{Family: f, Iface: netIface{Name: netif}}
		if !strings.HasPrefix(fields[1], "link#") {
			a, err := netip.ParseAddr(fields[1])
			if err != nil || a.Is4() != (f == familyV4) {
				continue
			}
			gw.NextHop = a
		}
		return gw, true
	}
	return gateway{}, false
}

func darwinDelAddr(name string, p netip.Prefix) command {
	fam := "inet"
	if p.Addr().Is6() {
		fam = "inet6"
	}
	return command{Args: []string{"ifconfig", name, fam, p.Addr().String(), "-alias"}}
}

func darwinRoute(op, name string, r netip.Prefix) command {
	return command{
		Args:        []string{"route", "-q", "-n", op, darwinFamily(r), r.String(), "-interface", name},
		OKIfExists:  op == "add",
		OKIfMissing: op == "delete",
	}
}
