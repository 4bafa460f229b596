//go:build windows || darwin

package netcfg

import (
	"fmt"
	"net"
	"net/netip"
)

// lanNets returns the connected networks of the up, non-loopback
// interfaces other than the TUN (named tun), each with its interface as
// iface describes it.
func lanNets(tun string, iface func(net.Interface) (netIface, error)) ([]lanNet, error) {
	ifis, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("netcfg: list interfaces: %w", err)
	}
	var out []lanNet
	for _, ifi := range ifis {
		if ifi.Name == tun || ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		var ps []netip.Prefix
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if p, ok := prefixOf(n); ok {
					ps = append(ps, p)
				}
			}
		}
		ps = lanPrefixes(ps)
		if len(ps) == 0 {
			continue
		}
		id, err := iface(ifi)
		if err != nil {
			continue
		}
		for _, p := range ps {
			out = append(out, lanNet{Prefix: p, Iface: id})
		}
	}
	return out, nil
}

// prefixOf converts an interface address, unmapping IPv4 and dropping the
// zone.
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	ip = ip.Unmap()
	if ip.Is4() && len(n.Mask) == 16 {
		ones -= 96
	}
	return netip.PrefixFrom(ip.WithZone(""), ones), true
}
