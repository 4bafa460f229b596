package portmap

import (
	"fmt"
	"net"
	"net/netip"
)

// DefaultGateway returns the default IPv4 gateway and our address
// towards it.
func DefaultGateway() (gw, self netip.Addr, err error) {
	gw, err = defaultGateway()
	if err != nil {
		return netip.Addr{}, netip.Addr{}, err
	}
	self, err = sourceFor(gw)
	return gw, self, err
}

// sourceFor is our address on the route to dst. Connecting a UDP socket
// sends nothing: it only asks the kernel to pick the route.
func sourceFor(dst netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, pcpPort)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to gateway %v: %w", dst, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}
