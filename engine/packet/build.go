package packet

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Errors returned by the builders, besides Parse's errors for an
// unparseable original packet. Like Parse's, they are unwrapped sentinels.
var (
	// ErrNoReply means the original packet must not be answered: it is an
	// ICMP error, a non-first fragment, a TCP reset, or its source (or
	// destination) is not a unicast address (RFC 1812 section 4.3.2.7,
	// RFC 4443 section 2.4, RFC 9293 section 3.10.7).
	ErrNoReply = errors.New("packet: packet must not be answered")
	// ErrShortBuffer means the destination buffer cannot hold the reply.
	ErrShortBuffer = errors.New("packet: destination buffer too small")
	// ErrWrongFamily means the packet or an address is of the wrong IP
	// version for the builder.
	ErrWrongFamily = errors.New("packet: packet or address of the wrong IP version")
	// ErrWrongProto means the packet's transport protocol is not the one
	// the builder answers.
	ErrWrongProto = errors.New("packet: wrong transport protocol")
	// ErrBadTransport means the transport header is truncated or
	// malformed.
	ErrBadTransport = errors.New("packet: truncated or malformed transport header")
	// ErrFragment means the packet is a fragment, so its transport
	// payload is incomplete.
	ErrFragment = errors.New("packet: packet is a fragment")
	// ErrBadMTU means the MTU given to an ICMP builder is out of range.
	ErrBadMTU = errors.New("packet: MTU out of range")
	// ErrTooLarge means the reply would exceed the largest IP packet.
	ErrTooLarge = errors.New("packet: reply exceeds the maximum IP packet size")
)

// TTL is the IPv4 TTL and IPv6 hop limit of every packet built here.
const TTL = 64

// writeIPv4Header writes a 20-byte IPv4 header with its checksum. The
// datagram is atomic (DF set, ID 0; RFC 6864).
func writeIPv4Header(b []byte, tos uint8, total int, proto uint8, src, dst netip.Addr) {
	b[0] = 0x45
	b[1] = tos
	binary.BigEndian.PutUint16(b[2:4], uint16(total))
	b[4], b[5] = 0, 0       // identification
	b[6], b[7] = 0x40, 0x00 // DF, offset 0
	b[8] = TTL
	b[9] = proto
	b[10], b[11] = 0, 0
	s, d := src.As4(), dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[10:12], Checksum(b[:ipv4HeaderLen], 0))
}

// writeIPv6Header writes a 40-byte IPv6 header with traffic class and flow
// label zero.
func writeIPv6Header(b []byte, payloadLen int, nextHeader uint8, src, dst netip.Addr) {
	b[0], b[1], b[2], b[3] = 0x60, 0, 0, 0
	binary.BigEndian.PutUint16(b[4:6], uint16(payloadLen))
	b[6] = nextHeader
	b[7] = TTL
	s, d := src.As16(), dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
}

// isUnicast reports whether a can be the source of a packet we answer, or
// the source of our answer: not unspecified, loopback, multicast or (IPv4)
// broadcast or class E.
func isUnicast(a netip.Addr) bool {
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() {
		return false
	}
	if a.Is4() && a.As4()[0] >= 240 {
		return false
	}
	return true
}

// is6 reports whether a is a real IPv6 address (not IPv4-mapped).
func is6(a netip.Addr) bool {
	return a.Is6() && !a.Is4In6()
}

// ipHeaderLen returns the length of the plain IP header built for version.
func ipHeaderLen(version uint8) int {
	if version == 4 {
		return ipv4HeaderLen
	}
	return ipv6HeaderLen
}

// writeIPHeader writes a plain IPv4 or IPv6 header for a reply of total
// bytes carrying proto.
func writeIPHeader(b []byte, version uint8, total int, proto uint8, src, dst netip.Addr) {
	if version == 4 {
		writeIPv4Header(b, 0, total, proto, src, dst)
	} else {
		writeIPv6Header(b, total-ipv6HeaderLen, proto, src, dst)
	}
}
