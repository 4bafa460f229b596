package packet

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Errors returned by Parse (and passed on unchanged by the builders). They
// are sentinel values returned without wrapping, so a caller on the
// per-packet path can count drops by reason without allocating.
var (
	// ErrTooShort means the buffer is shorter than the fixed IP header.
	ErrTooShort = errors.New("packet: shorter than the IP header")
	// ErrBadVersion means the IP version is neither 4 nor 6.
	ErrBadVersion = errors.New("packet: IP version is neither 4 nor 6")
	// ErrBadLength means the IP header's length fields disagree with each
	// other or with the buffer (IPv4 IHL < 5, total length smaller than
	// the header or larger than the buffer, IPv6 payload beyond the buffer).
	ErrBadLength = errors.New("packet: IP length fields inconsistent with the header or buffer")
	// ErrBadExtHeader means an IPv6 extension header runs past the end of
	// the packet, or a hop-by-hop header is not the first one.
	ErrBadExtHeader = errors.New("packet: truncated or misplaced IPv6 extension header")
	// ErrTooManyExtHeaders means an IPv6 packet chains more than
	// MaxExtHeaders extension headers.
	ErrTooManyExtHeaders = errors.New("packet: too many IPv6 extension headers")
)

// MaxExtHeaders bounds the IPv6 extension headers Parse walks. RFC 8200
// recommends at most one of each (destination options twice); anything
// longer is an attack or a bug.
const MaxExtHeaders = 8

const (
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40

	// IPv6 extension headers Parse walks (RFC 8200 section 4, RFC 4302).
	ipv6HopByHop = 0
	ipv6Routing  = 43
	ipv6Fragment = 44
	ipv6AH       = 51
	ipv6DestOpts = 60
)

// Parse reads the IP header (and, for IPv6, the extension headers) of the
// packet in b and fills info. b must start with the IP header; bytes past
// the header's total length are ignored. On error, info holds no useful
// data. Parse neither allocates nor keeps b.
//
// Parse checks lengths, not checksums: packets from the local TUN may carry
// partial checksums when offloads are on. TCPFlags is the whole flags byte
// (CWR and ECE included). For a non-first IPv6 fragment the walk stops at
// the fragment header, so Proto is that header's next header, which may be
// an extension header of the fragmentable part rather than the transport.
func Parse(b []byte, info *Info) error {
	*info = Info{}
	if len(b) == 0 {
		return ErrTooShort
	}
	switch b[0] >> 4 {
	case 4:
		return parse4(b, info)
	case 6:
		return parse6(b, info)
	}
	return ErrBadVersion
}

func parse4(b []byte, info *Info) error {
	if len(b) < ipv4HeaderLen {
		return ErrTooShort
	}
	hl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if hl < ipv4HeaderLen || total < hl || total > len(b) {
		return ErrBadLength
	}
	frag := binary.BigEndian.Uint16(b[6:8])
	off := frag & 0x1fff
	info.Version = 4
	info.Proto = b[9]
	info.Src = netip.AddrFrom4([4]byte(b[12:16]))
	info.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	info.Len = total
	info.HeaderLen = hl
	info.Fragment = off != 0 || frag&0x2000 != 0 // offset or More Fragments
	info.FragOffset = off * 8
	if off == 0 {
		parseTransport(b[hl:total], info)
	}
	return nil
}

func parse6(b []byte, info *Info) error {
	if len(b) < ipv6HeaderLen {
		return ErrTooShort
	}
	total := ipv6HeaderLen + int(binary.BigEndian.Uint16(b[4:6]))
	if total > len(b) {
		return ErrBadLength
	}
	info.Version = 6
	info.Src = netip.AddrFrom16([16]byte(b[8:24]))
	info.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	info.Len = total

	nh := b[6]
	off := ipv6HeaderLen
	// Walk extension headers until the upper-layer header. After a
	// non-first fragment's header comes fragment data, not headers.
	for i := 0; isExtHeader(nh) && info.FragOffset == 0; i++ {
		if i == MaxExtHeaders {
			return ErrTooManyExtHeaders
		}
		if nh == ipv6HopByHop && i != 0 {
			return ErrBadExtHeader
		}
		if total-off < 8 { // every extension header is at least 8 bytes
			return ErrBadExtHeader
		}
		var n int
		switch nh {
		case ipv6Fragment:
			n = 8
			fo := binary.BigEndian.Uint16(b[off+2 : off+4])
			offset, more := fo&^7, fo&1 != 0
			if offset != 0 || more {
				info.Fragment = true
				info.FragOffset = offset
			}
		case ipv6AH:
			n = (int(b[off+1]) + 2) * 4
		default:
			n = (int(b[off+1]) + 1) * 8
		}
		if n > total-off {
			return ErrBadExtHeader
		}
		nh = b[off]
		off += n
	}
	info.Proto = nh
	info.HeaderLen = off
	if info.FragOffset == 0 {
		parseTransport(b[off:total], info)
	}
	return nil
}

func isExtHeader(nh uint8) bool {
	switch nh {
	case ipv6HopByHop, ipv6Routing, ipv6Fragment, ipv6AH, ipv6DestOpts:
		return true
	}
	return false
}

// parseTransport fills the transport fields of info from t, the bytes
// between the IP header and the end of the packet.
func parseTransport(t []byte, info *Info) {
	switch info.Proto {
	case ProtoTCP:
		if len(t) < 20 {
			return
		}
		info.SrcPort = binary.BigEndian.Uint16(t[0:2])
		info.DstPort = binary.BigEndian.Uint16(t[2:4])
		info.TCPFlags = t[13]
	case ProtoUDP:
		if len(t) < 8 {
			return
		}
		info.SrcPort = binary.BigEndian.Uint16(t[0:2])
		info.DstPort = binary.BigEndian.Uint16(t[2:4])
	case ProtoICMPv4, ProtoICMPv6:
		if len(t) < 8 || (info.Proto == ProtoICMPv4) != (info.Version == 4) {
			return
		}
		info.ICMPType, info.ICMPCode = t[0], t[1]
		if isEcho(info.Version, info.ICMPType) {
			id := binary.BigEndian.Uint16(t[4:6])
			info.SrcPort, info.DstPort = id, id
		}
		if IsICMPError(info) {
			parseQuote(t[8:], info.Version, &info.Quote)
		}
	default:
		return
	}
	info.HasTransport = true
}

// IsICMPError reports whether info is an ICMP error message: ICMPv4
// destination unreachable, source quench, time exceeded or parameter
// problem, or any ICMPv6 type below 128 (RFC 4443 section 2.1).
func IsICMPError(info *Info) bool {
	switch {
	case info.Proto == ProtoICMPv4 && info.Version == 4:
		switch info.ICMPType {
		case 3, 4, 11, 12:
			return true
		}
	case info.Proto == ProtoICMPv6 && info.Version == 6:
		return info.ICMPType < 128
	}
	return false
}

// parseQuote fills q from the packet quoted in an ICMP error, b being the
// bytes after the ICMP header. The quote is usually truncated, so its
// length fields are not checked against b; q stays zero if what is
// there does not hold the addresses and ports.
func parseQuote(b []byte, version uint8, dst *Quote) {
	var q Quote
	var off int
	switch {
	case version == 4 && len(b) >= ipv4HeaderLen && b[0]>>4 == 4:
		off = int(b[0]&0x0f) * 4
		if off < ipv4HeaderLen || off > len(b) || binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
			return
		}
		q.Proto = b[9]
		q.Src = netip.AddrFrom4([4]byte(b[12:16]))
		q.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	case version == 6 && len(b) >= ipv6HeaderLen && b[0]>>4 == 6:
		nh := b[6]
		off = ipv6HeaderLen
		for i := 0; isExtHeader(nh); i++ {
			if i == MaxExtHeaders || len(b)-off < 8 {
				return
			}
			n := (int(b[off+1]) + 1) * 8
			switch nh {
			case ipv6Fragment:
				if binary.BigEndian.Uint16(b[off+2:off+4])&^7 != 0 {
					return // a later fragment: no transport header
				}
				n = 8
			case ipv6AH:
				n = (int(b[off+1]) + 2) * 4
			}
			if n > len(b)-off {
				return
			}
			nh = b[off]
			off += n
		}
		q.Proto = nh
		q.Src = netip.AddrFrom16([16]byte(b[8:24]))
		q.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	default:
		return
	}
	t := b[off:]
	switch q.Proto {
	case ProtoTCP, ProtoUDP:
		if len(t) < 4 {
			return
		}
		q.SrcPort = binary.BigEndian.Uint16(t[0:2])
		q.DstPort = binary.BigEndian.Uint16(t[2:4])
	case ProtoICMPv4, ProtoICMPv6:
		// Only echo is ever answered with an error (never an error).
		if len(t) < 8 || (q.Proto == ProtoICMPv4) != (version == 4) || !isEcho(version, t[0]) {
			return
		}
		id := binary.BigEndian.Uint16(t[4:6])
		q.SrcPort, q.DstPort = id, id
	}
	q.Valid = true
	*dst = q
}

// ICMP echo types.
const (
	icmpv4EchoReply   = 0
	icmpv4EchoRequest = 8
	icmpv6EchoRequest = 128
	icmpv6EchoReply   = 129
)

func isEcho(version, typ uint8) bool {
	if version == 4 {
		return typ == icmpv4EchoRequest || typ == icmpv4EchoReply
	}
	return typ == icmpv6EchoRequest || typ == icmpv6EchoReply
}

// PeekAddrs returns the source and destination addresses of the IP packet
// in b, checking only that the version is 4 or 6 and the fixed header fits.
// It is the routing fast path; use Parse before trusting anything else.
func PeekAddrs(b []byte) (src, dst netip.Addr, ok bool) {
	if len(b) == 0 {
		return src, dst, false
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < ipv4HeaderLen {
			return src, dst, false
		}
		return netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20])), true
	case 6:
		if len(b) < ipv6HeaderLen {
			return src, dst, false
		}
		return netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40])), true
	}
	return src, dst, false
}
