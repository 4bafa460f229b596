package engine

import (
	"net/netip"

	"golang.zx2c4.com/wireguard/tun"
)

// LoopbackConfig configures an in-process node for tests and labs: state in dir, a
// random port on 127.0.0.1 advertised as its only endpoint, the fake
// TUN dev and no mDNS. *e must be set to the engine New returns.
func LoopbackConfig(dir, name string, dev tun.Device, e **Engine) Config {
	lo := netip.MustParseAddr("127.0.0.1")
	return Config{
		StateDir:    dir,
		ListenPort:  -1,
		ListenAddr:  lo,
		TUN:         dev,
		Hostname:    name,
		DisableMDNS: true,
		NoDHT:       true, // tests never reach the public DHT
		Endpoints: func() []netip.AddrPort {
			return []netip.AddrPort{netip.AddrPortFrom(lo, uint16((*e).ListenPort()))}
		},
	}
}
