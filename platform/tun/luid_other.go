//go:build !windows

package tun

import "errors"

// LUID returns the Windows interface LUID of a device made by Create. It
// always fails on other systems.
func LUID(dev Device) (uint64, error) {
	return 0, errors.New("tun: LUID is only available on Windows")
}
