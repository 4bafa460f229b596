//go:build !linux && !windows && !darwin

package portmap

import (
	"errors"
	"net/netip"
)

// defaultGateway is not implemented on this OS: port mapping stays off.
func defaultGateway() (netip.Addr, error) {
	return netip.Addr{}, errors.New("finding the default gateway is not supported on this OS yet")
}
