package netcfg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"
)

// Apply brings the Wintun interface cfg.Name (or cfg.LUID) to cfg with the
// IP Helper API.
func Apply(cfg Config) error {
	cfg, err := cfg.validate()
	if err != nil {
		return err
	}
	luid, err := resolveLUID(cfg.Name, cfg.LUID)
	if err != nil {
		return err
	}
	return applyWindows(luidIface(luid), cfg)
}

// Teardown removes all routes and addresses from interface name. A missing
// interface is not an error.
func Teardown(name string) error {
	luid, err := resolveLUID(name, 0)
	if err != nil {
		return nil // the adapter is gone, and its state with it
	}
	return teardownWindows(luidIface(luid))
}

func resolveLUID(name string, luid uint64) (winipcfg.LUID, error) {
	if luid != 0 {
		return winipcfg.LUID(luid), nil
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, fmt.Errorf("netcfg: interface %q: %w", name, err)
	}
	l, err := winipcfg.LUIDFromIndex(uint32(ifi.Index))
	if err != nil {
		return 0, fmt.Errorf("netcfg: LUID of interface %q: %w", name, err)
	}
	return l, nil
}

// luidIface implements winIface with winipcfg.
type luidIface winipcfg.LUID

func addressFamily(f family) winipcfg.AddressFamily {
	if f == familyV6 {
		return windows.AF_INET6
	}
	return windows.AF_INET
}

func (l luidIface) SetInterface(f family, mtu int) error {
	row, err := winipcfg.LUID(l).IPInterface(addressFamily(f))
	if errors.Is(err, windows.ERROR_NOT_FOUND) {
		return errors.Join(errNoFamily, err)
	}
	if err != nil {
		return err
	}
	row.RouterDiscoveryBehavior = winipcfg.RouterDiscoveryDisabled
	row.DadTransmits = 0
	row.ManagedAddressConfigurationSupported = false
	row.OtherStatefulConfigurationSupported = false
	if mtu > 0 {
		row.NLMTU = uint32(mtu)
	}
	return row.Set()
}

func (l luidIface) SetRoutes(f family, routes []netip.Prefix) error {
	nextHop := netip.IPv4Unspecified()
	if f == familyV6 {
		nextHop = netip.IPv6Unspecified()
	}
	data := make([]*winipcfg.RouteData, len(routes))
	for i, r := range routes {
		data[i] = &winipcfg.RouteData{Destination: r, NextHop: nextHop}
	}
	return winipcfg.LUID(l).SetRoutesForFamily(addressFamily(f), data)
}

func (l luidIface) SetAddresses(f family, addrs []netip.Prefix) error {
	err := winipcfg.LUID(l).SetIPAddressesForFamily(addressFamily(f), addrs)
	if errors.Is(err, windows.ERROR_OBJECT_ALREADY_EXISTS) {
		// A stale adapter that is down still holds an address; free it and
		// try again.
		removeFromDownInterfaces(addressFamily(f), addrs)
		err = winipcfg.LUID(l).SetIPAddressesForFamily(addressFamily(f), addrs)
	}
	return err
}

func (l luidIface) Flush(f family) error {
	if _, err := winipcfg.LUID(l).IPInterface(addressFamily(f)); errors.Is(err, windows.ERROR_NOT_FOUND) {
		return errors.Join(errNoFamily, err)
	}
	return errors.Join(
		winipcfg.LUID(l).FlushRoutes(addressFamily(f)),
		winipcfg.LUID(l).FlushIPAddresses(addressFamily(f)),
	)
}

// removeFromDownInterfaces deletes addrs from interfaces that are not up.
func removeFromDownInterfaces(af winipcfg.AddressFamily, addrs []netip.Prefix) {
	ifaces, err := winipcfg.GetAdaptersAddresses(af, winipcfg.GAAFlagDefault)
	if err != nil {
		return
	}
	for _, iface := range ifaces {
		if iface.OperStatus == winipcfg.IfOperStatusUp {
			continue
		}
		for a := iface.FirstUnicastAddress; a != nil; a = a.Next {
			ip, ok := netip.AddrFromSlice(a.Address.IP())
			if !ok {
				continue
			}
			for _, want := range addrs {
				if want.Addr() == ip.Unmap() {
					_ = iface.LUID.DeleteIPAddress(netip.PrefixFrom(ip, int(a.OnLinkPrefixLength)))
				}
			}
		}
	}
}
