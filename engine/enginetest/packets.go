package enginetest

import (
	"encoding/binary"
	"net/netip"
)

// UDPPacket builds an IPv4 or IPv6 UDP packet with the given payload
// size. Checksums are left zero (the engine does not check them).
func UDPPacket(src, dst netip.Addr, sport, dport uint16, payload int) []byte {
	if src.Is4() {
		b := make([]byte, 20+8+payload)
		b[0] = 0x45
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
		b[8], b[9] = 64, 17
		s, d := src.As4(), dst.As4()
		copy(b[12:], s[:])
		copy(b[16:], d[:])
		binary.BigEndian.PutUint16(b[20:], sport)
		binary.BigEndian.PutUint16(b[22:], dport)
		binary.BigEndian.PutUint16(b[24:], uint16(8+payload))
		return b
	}
	b := make([]byte, 40+8+payload)
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(8+payload))
	b[6], b[7] = 17, 64
	s, d := src.As16(), dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	binary.BigEndian.PutUint16(b[40:], sport)
	binary.BigEndian.PutUint16(b[42:], dport)
	binary.BigEndian.PutUint16(b[44:], uint16(8+payload))
	return b
}
