package netcfg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"
)

// Apply brings the Wintun interface cfg.Name (or cfg.LUID) to cfg with the
// IP Helper API, and uses an exit node with the route plan of
// splitExitPlan. Serving as an exit node or subnet router (cfg.Forward) is
// not supported: everything else is applied and ErrNoForward returned.
func Apply(cfg Config) error {
	cfg, err := cfg.validate()
	if err != nil {
		return err
	}
	luid, err := resolveLUID(cfg.Name, cfg.LUID)
	if err != nil {
		return err
	}
	var plan exitRoutes
	if cfg.Exit != nil {
		gws, err := defaultGateways(luid)
		if err != nil {
			return err
		}
		lans, err := lanNets(cfg.Name, func(ifi net.Interface) (netIface, error) {
			l, err := winipcfg.LUIDFromIndex(uint32(ifi.Index))
			return netIface{Name: ifi.Name, LUID: uint64(l)}, err
		})
		if err != nil {
			return err
		}
		lans = slices.DeleteFunc(lans, func(l lanNet) bool { return l.Iface.LUID == uint64(luid) })
		plan = splitExitPlan(cfg.Exit, gws, lans)
	}
	return applyWindows(luidIface(luid), cfg, plan)
}

// Cleanup has nothing to undo after a crash on Windows: the routes via the
// TUN go with the adapter or are replaced by the next Apply, forwarding is
// never turned on, and the exit-node bypass routes (host routes to peers
// and relays via the default gateway) are not recorded across processes;
// they lead where the default route does and go at reboot.
func Cleanup(name string) error { return nil }

// Teardown removes all routes and addresses from interface name, and the
// exit-node bypass routes. A missing interface is not an error.
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

// bypass records, per TUN, the bypass routes SetBypass added in this
// process.
var bypass struct {
	sync.Mutex
	routes map[luidIface][]bypassRoute
}

func (l luidIface) SetBypass(routes []bypassRoute) error {
	bypass.Lock()
	defer bypass.Unlock()
	var errs []error
	var kept []bypassRoute
	for _, r := range bypass.routes[l] {
		if slices.Contains(routes, r) {
			kept = append(kept, r)
			continue
		}
		err := winipcfg.LUID(r.Iface.LUID).DeleteRoute(r.Dst, bypassNextHop(r))
		if err != nil && !errors.Is(err, windows.ERROR_NOT_FOUND) {
			kept = append(kept, r)
			errs = append(errs, fmt.Errorf("delete route %v: %w", r, err))
		}
	}
	for _, r := range routes {
		if slices.Contains(kept, r) {
			continue
		}
		err := winipcfg.LUID(r.Iface.LUID).AddRoute(r.Dst, bypassNextHop(r), 0)
		if err != nil && !errors.Is(err, windows.ERROR_OBJECT_ALREADY_EXISTS) {
			errs = append(errs, fmt.Errorf("add route %v: %w", r, err))
			continue
		}
		kept = append(kept, r)
	}
	if bypass.routes == nil {
		bypass.routes = make(map[luidIface][]bypassRoute)
	}
	bypass.routes[l] = kept
	return errors.Join(errs...)
}

// bypassNextHop is r's next hop, the unspecified address for on-link.
func bypassNextHop(r bypassRoute) netip.Addr {
	switch {
	case r.NextHop.IsValid():
		return r.NextHop.WithZone("")
	case r.Dst.Addr().Is4():
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// defaultGateways returns, per family, the default route with the lowest
// metric (route plus interface) that is not via the TUN.
func defaultGateways(tun winipcfg.LUID) ([]gateway, error) {
	var out []gateway
	for _, f := range []family{familyV4, familyV6} {
		rows, err := winipcfg.GetIPForwardTable2(addressFamily(f))
		if err != nil {
			return nil, fmt.Errorf("netcfg: list %v routes: %w", f, err)
		}
		var best *gateway
		var bestMetric uint64
		for i := range rows {
			row := &rows[i]
			if row.DestinationPrefix.PrefixLength != 0 || row.InterfaceLUID == tun {
				continue
			}
			ifRow, err := row.InterfaceLUID.IPInterface(addressFamily(f))
			if err != nil || !ifRow.Connected {
				continue
			}
			metric := uint64(row.Metric) + uint64(ifRow.Metric)
			if best != nil && metric >= bestMetric {
				continue
			}
			gw := gateway{Family: f, Iface: netIface{LUID: uint64(row.InterfaceLUID)}}
			if nh := row.NextHop.Addr(); nh.IsValid() && !nh.IsUnspecified() {
				gw.NextHop = nh
			}
			best, bestMetric = &gw, metric
		}
		if best != nil {
			out = append(out, *best)
		}
	}
	return out, nil
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
