// Package tun creates the operating system's TUN device for rayfish.
//
// The device is wireguard-go's [tun.Device] used as is: batched
// Read(bufs, sizes, offset) / Write(bufs, offset), with the caller reserving
// offset bytes of headroom at the front of every buffer. Callers should always
// pass offset = [Headroom]:
//
//   - darwin (utun) writes a 4-byte address-family header in front of each
//     packet, so both Read and Write need offset >= 4;
//   - Linux with IFF_VNET_HDR (which wireguard-go always requests) writes a
//     10-byte virtio-net header in front of the first packet of a batch, so
//     Write needs offset >= [VirtioNetHdrLen];
//   - Windows (Wintun) needs no headroom.
//
// Configuring the device (addresses, routes, MTU, link state) is the job of
// package platform/netcfg.
package tun

import (
	"fmt"
	"strings"

	wgtun "golang.zx2c4.com/wireguard/tun"
)

const (
	// VirtioNetHdrLen is the length of the virtio-net header that the Linux
	// TUN prepends when offloads are on (wireguard-go keeps its own copy of
	// this constant unexported).
	VirtioNetHdrLen = 10

	// UtunHdrLen is the length of the address-family header of a darwin utun.
	UtunHdrLen = 4

	// Headroom is the number of bytes the engine must reserve at the front of
	// every packet buffer and pass as offset to Read and Write. It covers the
	// largest per-OS requirement with room to spare and keeps the IP header
	// 8-byte aligned.
	Headroom = 16

	// DefaultName is the interface name used when Create is given "". On
	// darwin "utun" asks the kernel for the next free utunN; on Linux and
	// Windows it is the literal interface name.
	DefaultName = defaultName
)

// Device is wireguard-go's TUN device interface.
type Device = wgtun.Device

// Create creates the TUN device name with the given MTU. An empty name means
// DefaultName. The returned device is not yet configured; see platform/netcfg.
// On darwin the kernel picks the unit, so callers must use the device's
// Name() rather than the requested name.
//
// The caller owns the device and must Close it; closing removes the
// interface (and with it its addresses and routes) on every OS.
func Create(name string, mtu int) (Device, error) {
	if name == "" {
		name = DefaultName
	}
	if err := ValidateName(goos, name); err != nil {
		return nil, err
	}
	if mtu < 1280 || mtu > 65535 {
		return nil, fmt.Errorf("tun: MTU %d out of range [1280, 65535]", mtu)
	}
	dev, err := wgtun.CreateTUN(name, mtu)
	if err != nil {
		return nil, fmt.Errorf("tun: create %q: %w", name, err)
	}
	return dev, nil
}

// ValidateName reports whether name is an acceptable TUN name on goos
// ("linux", "darwin" or "windows").
func ValidateName(goos, name string) error {
	if name == "" {
		return fmt.Errorf("tun: empty interface name")
	}
	switch goos {
	case "linux":
		// IFNAMSIZ is 16 including the NUL; the kernel rejects '/', ':' and
		// whitespace, and "." / "..".
		if len(name) > 15 {
			return fmt.Errorf("tun: interface name %q longer than 15 bytes", name)
		}
		if name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n\r") {
			return fmt.Errorf("tun: invalid interface name %q", name)
		}
	case "darwin":
		if name == "utun" {
			return nil
		}
		digits, ok := strings.CutPrefix(name, "utun")
		if !ok || digits == "" || len(digits) > 5 || strings.Trim(digits, "0123456789") != "" {
			return fmt.Errorf("tun: interface name %q must be \"utun\" or \"utunN\"", name)
		}
	case "windows":
		// Wintun adapter names are limited to MAX_ADAPTER_NAME (128) UTF-16
		// code units; keep well below it.
		if len(name) > 64 || strings.ContainsAny(name, "\\/\x00") {
			return fmt.Errorf("tun: invalid interface name %q", name)
		}
	}
	return nil
}
