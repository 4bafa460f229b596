package netcfg

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"sync"
)

// installed records, per interface, the routes Apply added in this process,
// so that a later Apply or Teardown can remove them. Routes die with the
// utun anyway; this only matters while the interface lives.
var installed struct {
	sync.Mutex
	routes map[string][]netip.Prefix
}

// Apply brings utun interface cfg.Name to cfg with ifconfig and route.
func Apply(cfg Config) error {
	cfg, err := cfg.validate()
	if err != nil {
		return err
	}
	have, err := interfaceAddrs(cfg.Name)
	if err != nil {
		return err
	}
	installed.Lock()
	defer installed.Unlock()
	if err := run(darwinApplyPlan(cfg, have, installed.routes[cfg.Name])); err != nil {
		return err
	}
	if installed.routes == nil {
		installed.routes = make(map[string][]netip.Prefix)
	}
	installed.routes[cfg.Name] = cfg.allRoutes()
	return nil
}

// Teardown removes the routes and addresses Apply added to interface name
// and sets it down. A missing interface is not an error.
func Teardown(name string) error {
	if _, err := net.InterfaceByName(name); err != nil {
		return nil // already gone with its utun
	}
	have, err := interfaceAddrs(name)
	if err != nil {
		return err
	}
	installed.Lock()
	defer installed.Unlock()
	err = run(darwinTeardownPlan(name, have, installed.routes[name]))
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
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ones, _ := n.Mask.Size()
		ip = ip.Unmap()
		if ip.Is4() && len(n.Mask) == 16 {
			ones -= 96
		}
		out = append(out, netip.PrefixFrom(ip.WithZone(""), ones))
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
