package portmap

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"
)

// defaultGateway reads the IPv4 default route with the lowest metric.
func defaultGateway() (netip.Addr, error) {
	rows, err := winipcfg.GetIPForwardTable2(windows.AF_INET)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list routes: %w", err)
	}
	var best netip.Addr
	var metric uint32
	for i := range rows {
		r := &rows[i]
		if r.DestinationPrefix.Prefix().Bits() != 0 {
			continue
		}
		gw := r.NextHop.Addr().Unmap()
		if !gw.Is4() || gw.IsUnspecified() {
			continue
		}
		if !best.IsValid() || r.Metric < metric {
			best, metric = gw, r.Metric
		}
	}
	if !best.IsValid() {
		return netip.Addr{}, errors.New("no IPv4 default route via a gateway")
	}
	return best, nil
}
