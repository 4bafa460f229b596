package tun

import (
	"fmt"

	wgtun "golang.zx2c4.com/wireguard/tun"
)

const (
	goos        = "windows"
	defaultName = "rayfish"
)

// LUID returns the Windows interface LUID of a device made by Create, for
// platform/netcfg.Config.LUID.
func LUID(dev Device) (uint64, error) {
	nt, ok := dev.(*wgtun.NativeTun)
	if !ok {
		return 0, fmt.Errorf("tun: %T is not a Wintun device", dev)
	}
	return nt.LUID(), nil
}
