package netcfg

// This file builds the ifconfig(8) and route(8) command lines used on darwin.
// It has no build constraint so that its tests run everywhere.

import (
	"net/netip"
	"slices"
	"strconv"
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

// darwinApplyPlan returns the commands that bring utun interface cfg.Name to
// cfg, given its current addresses and the routes an earlier Apply
// installed. cfg must be validated.
//
// A utun is point-to-point, so an IPv4 address is set with itself as the
// destination and the prefix of every address is routed explicitly, as
// wg-quick does.
func darwinApplyPlan(cfg Config, haveAddrs, prevRoutes []netip.Prefix) []command {
	name := cfg.Name
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
	routes := cfg.allRoutes()
	for _, r := range prevRoutes {
		if !slices.Contains(routes, r) {
			cmds = append(cmds, darwinRoute("delete", name, r))
		}
	}
	for _, r := range routes {
		cmds = append(cmds, darwinRoute("add", name, r))
	}
	return cmds
}

// darwinTeardownPlan returns the commands that remove routes and addresses
// from interface name and set it down.
func darwinTeardownPlan(name string, haveAddrs, prevRoutes []netip.Prefix) []command {
	var cmds []command
	for _, r := range prevRoutes {
		cmds = append(cmds, darwinRoute("delete", name, r))
	}
	for _, p := range diffPrefixes(haveAddrs, nil) {
		cmds = append(cmds, darwinDelAddr(name, p))
	}
	return append(cmds, command{Args: []string{"ifconfig", name, "down"}})
}

func darwinDelAddr(name string, p netip.Prefix) command {
	fam := "inet"
	if p.Addr().Is6() {
		fam = "inet6"
	}
	return command{Args: []string{"ifconfig", name, fam, p.Addr().String(), "-alias"}}
}

func darwinRoute(op, name string, r netip.Prefix) command {
	fam := "-inet"
	if r.Addr().Is6() {
		fam = "-inet6"
	}
	return command{
		Args:        []string{"route", "-q", "-n", op, fam, r.String(), "-interface", name},
		OKIfExists:  op == "add",
		OKIfMissing: op == "delete",
	}
}
