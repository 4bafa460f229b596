package netcfg

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"sync"
)

// installed records, per interface, the routes Apply added in this
// process, so that a later Apply or Teardown can remove them. Routes via
// the utun die with it anyway; this matters while the interface lives, and
// for the exit node's bypass routes on other interfaces.
var installed struct {
	sync.Mutex
	routes map[string]darwinRoutes
}

// Apply brings utun interface cfg.Name to cfg with ifconfig and route, and
// uses an exit node with the route plan of splitExitPlan. Serving as an
// exit node or subnet router (cfg.Forward) is not supported: everything
// else is applied and ErrNoForward returned.
func Apply(cfg Config) error {
	cfg, err := cfg.validate()
	if err != nil {
		return err
	}
	have, err := interfaceAddrs(cfg.Name)
	if err != nil {
		return err
	}
	var exit exitRoutes
	if cfg.Exit != nil {
		if exit, err = darwinExitPlan(cfg); err != nil {
			return err
		}
	}
	installed.Lock()
	defer installed.Unlock()
	if err := run(darwinApplyPlan(cfg, have, installed.routes[cfg.Name], exit)); err != nil {
		return err
	}
	if installed.routes == nil {
		installed.routes = make(map[string]darwinRoutes)
	}
	installed.routes[cfg.Name] = darwinWant(cfg, exit)
	if cfg.Forward {
		return fmt.Errorf("netcfg: %w", ErrNoForward)
	}
	return nil
}

// darwinExitPlan reads the default gateways and the connected networks and
// plans cfg.Exit.
func darwinExitPlan(cfg Config) (exitRoutes, error) {
	var gws []gateway
	for _, f := range []family{familyV4, familyV6} {
		fam := "inet"
		if f == familyV6 {
			fam = "inet6"
		}
		out, err := exec.Command("netstat", "-rn", "-f", fam).Output()
		if err != nil {
			return exitRoutes{}, fmt.Errorf("netcfg: netstat -rn -f %s: %w", fam, err)
		}
		if gw, ok := parseNetstatDefault(out, f, cfg.Name); ok {
			gws = append(gws, gw)
		}
	}
	lans, err := lanNets(cfg.Name, func(ifi net.Interface) (netIface, error) { return netIface{Name: ifi.Name}, nil })
	if err != nil {
		return exitRoutes{}, err
	}
	return splitExitPlan(cfg.Exit, gws, lans), nil
}

// Cleanup has nothing to undo after a crash on macOS: the routes via the
// utun went with it, forwarding is never turned on, and the exit-node
// bypass routes (host routes to peers and relays via the default gateway)
// are not recorded across processes; they lead where the default route
// does and go at reboot.
func Cleanup(name string) error { return nil }

// Teardown removes the routes and addresses Apply added to interface name
// and sets it down. A missing interface is not an error.
func Teardown(name string) error {
	installed.Lock()
	defer installed.Unlock()
	prev := installed.routes[name]
	if _, err := net.InterfaceByName(name); err != nil {
		// Gone with its utun; the bypass routes are not.
		delete(installed.routes, name)
		var cmds []command
		for _, b := range prev.Bypass {
			cmds = append(cmds, darwinDelBypass(b.Dst))
		}
		return run(cmds)
	}
	have, err := interfaceAddrs(name)
	if err != nil {
		return err
	}
	err = run(darwinTeardownPlan(name, have, prev))
	delete(installed.routes, name)
	return err
}

func interfaceAddrs(name string) ([]netip.Prefix, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("netcfg: interface %q: %w", name, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("netcfg: addresses of %s: %w", name, err)
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if p, ok := prefixOf(n); ok {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func run(cmds []command) error {
	for _, c := range cmds {
		out, err := exec.Command(c.Args[0], c.Args[1:]...).CombinedOutput()
		if err == nil {
			continue
		}
		if c.OKIfExists && bytes.Contains(out, []byte("File exists")) {
			continue
		}
		if c.OKIfMissing && bytes.Contains(out, []byte("not in table")) {
			continue
		}
		return fmt.Errorf("netcfg: %q: %w: %s", c.Args, err, bytes.TrimSpace(out))
	}
	return nil
}
