package key

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
)

// Overlay address space.
var (
	// CGNATPrefix is the IPv4 overlay range.
	CGNATPrefix = netip.MustParsePrefix("100.64.0.0/10")
	// ULAPrefix is rayfish's IPv6 overlay range: a ULA /48 (fd00::/8 plus
	// the 40-bit global id 72:6179:6669, "ray fi").
	ULAPrefix = netip.MustParsePrefix("fd72:6179:6669::/48")
	// MagicDNSv4 and MagicDNSv6 are the in-tunnel resolver's addresses.
	MagicDNSv4 = netip.MustParseAddr("100.100.100.53")
	MagicDNSv6 = netip.MustParseAddr("fd72:6179:6669::53")
)

// servicePrefix is reserved for rayfish's own services (magic DNS and
// future ones); no node is ever given an address inside it.
var servicePrefix = netip.MustParsePrefix("100.100.100.0/24")

// IPv4 derives n's overlay IPv4 address with the given collision index.
// Index 0 is the natural address; an admin that finds it taken inside a
// network admits the member with the smallest index whose address is free,
// so every admin reaches the same answer. The result is never a .0 or .255
// host, never the network's first address and never in the service /24.
func (n NodePublic) IPv4(index uint32) netip.Addr {
	var buf [4 + 32 + 4 + 4]byte
	copy(buf[:4], "rfv4")
	copy(buf[4:36], n[:])
	binary.BigEndian.PutUint32(buf[36:40], index)
	for attempt := uint32(0); ; attempt++ {
		binary.BigEndian.PutUint32(buf[40:44], attempt)
		h := sha256.Sum256(buf[:])
		host := binary.BigEndian.Uint32(h[:4]) & (1<<22 - 1)
		v := uint32(100)<<24 | 64<<16 | host
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if validHostV4(a) {
			return a
		}
	}
}

func validHostV4(a netip.Addr) bool {
	b := a.As4()
	switch {
	case !CGNATPrefix.Contains(a), servicePrefix.Contains(a):
		return false
	case b[3] == 0, b[3] == 255:
		return false
	case a == CGNATPrefix.Addr().Next():
		return false
	}
	return true
}

// IPv6 derives n's overlay IPv6 address: the ULA /48, subnet 0, and a
// 64-bit interface id hashed from the key. It never changes.
func (n NodePublic) IPv6() netip.Addr {
	var buf [4 + 32]byte
	copy(buf[:4], "rfv6")
	copy(buf[4:], n[:])
	h := sha256.Sum256(buf[:])
	a := ULAPrefix.Addr().As16()
	copy(a[8:], h[:8])
	if a[8] == 0 && a[9] == 0 && a[10] == 0 && a[11] == 0 && a[12] == 0 && a[13] == 0 {
		a[8] = 1 // keep clear of ::53 and other low service addresses
	}
	return netip.AddrFrom16(a)
}
