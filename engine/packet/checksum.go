package packet

import (
	"encoding/binary"
	"net/netip"
)

// Internet checksums (RFC 1071). A partial sum is a uint32 holding a
// one's-complement sum of 16-bit big-endian words, folded to at most
// 0xffff, such as a pseudo-header's sum (PseudoHeaderSum), which seeds
// Checksum through its initial argument.

// Checksum returns the Internet checksum of b seeded with the partial sum
// initial (0, or a pseudo-header sum): the value to store in a checksum
// field that was zero while summing. Over data whose checksum field is
// already correct, Checksum returns 0.
func Checksum(b []byte, initial uint32) uint16 {
	return ^fold(sum(b, uint64(initial)))
}

// PseudoHeaderSum returns the partial sum of the TCP/UDP/ICMPv6 pseudo
// header: the IPv4 one (RFC 793, RFC 768) when src is IPv4, else the IPv6
// one (RFC 8200 section 8.1). length is the transport header plus payload
// length; src and dst must be of the same family.
func PseudoHeaderSum(proto uint8, src, dst netip.Addr, length int) uint32 {
	acc := uint64(proto) + uint64(uint32(length))
	acc = addrSum(src, acc)
	acc = addrSum(dst, acc)
	return uint32(fold(acc))
}

func addrSum(a netip.Addr, acc uint64) uint64 {
	if a.Is4() {
		b := a.As4()
		return acc + uint64(binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	return sum(b[:], acc)
}

// pseudoSum is PseudoHeaderSum for the IP header at the start of b, which
// must be a plain 20-byte IPv4 header or a 40-byte IPv6 header.
func pseudoSum(b []byte, proto uint8, length int) uint32 {
	acc := uint64(proto) + uint64(uint32(length))
	if b[0]>>4 == 4 {
		acc = sum(b[12:20], acc)
	} else {
		acc = sum(b[8:40], acc)
	}
	return uint32(fold(acc))
}

// sum adds b to acc as 32-bit big-endian words, which folds to the same
// one's-complement result as 16-bit words (2^16 ≡ 1 mod 2^16-1). acc
// cannot overflow for any buffer shorter than 16 GB.
func sum(b []byte, acc uint64) uint64 {
	for len(b) >= 32 {
		acc += uint64(binary.BigEndian.Uint32(b[0:4])) +
			uint64(binary.BigEndian.Uint32(b[4:8])) +
			uint64(binary.BigEndian.Uint32(b[8:12])) +
			uint64(binary.BigEndian.Uint32(b[12:16])) +
			uint64(binary.BigEndian.Uint32(b[16:20])) +
			uint64(binary.BigEndian.Uint32(b[20:24])) +
			uint64(binary.BigEndian.Uint32(b[24:28])) +
			uint64(binary.BigEndian.Uint32(b[28:32]))
		b = b[32:]
	}
	for len(b) >= 4 {
		acc += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold reduces a one's-complement accumulator to 16 bits.
func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}
