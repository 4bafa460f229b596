package portmap

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// defaultGateway reads the main table's IPv4 default route with the
// lowest metric.
func defaultGateway() (netip.Addr, error) {
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: 254}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list routes: %w", err)
	}
	var best netip.Addr
	prio := -1
	for _, r := range routes {
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 {
				continue
			}
		}
		gw, ok := netip.AddrFromSlice(r.Gw)
		if !ok || !gw.Unmap().Is4() {
			continue
		}
		if prio < 0 || r.Priority < prio {
			best, prio = gw.Unmap(), r.Priority
		}
	}
	if !best.IsValid() {
		return netip.Addr{}, errors.New("no IPv4 default route via a gateway")
	}
	return best, nil
}
