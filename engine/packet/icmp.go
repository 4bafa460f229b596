package packet

import (
	"encoding/binary"
	"net/netip"
)

// ICMP error messages rayfish synthesizes into the TUN: "fragmentation
// needed" / "packet too big" when a packet cannot fit one datagram on the
// path, and "destination unreachable" for the firewall's reject mode.
//
// Each builder writes an IP header, the ICMP header and a quote of the
// original packet into dst and returns the number of bytes written. The
// quote is as long as the RFCs allow, bounded by dst: for IPv4 up to 548
// bytes, so the reply fits 576 (RFC 1812 section 4.3.2.3); for IPv6 up to
// 1232 bytes, so it fits 1280 (RFC 4443 section 2.4(c)). dst must hold at
// least the headers plus the original IP header and 8 bytes of its payload
// (or the whole original, if shorter), else ErrShortBuffer. dst may be the
// same buffer as orig (the reply is built in place).
//
// The builders refuse (ErrNoReply) to answer an ICMP error, a non-first
// fragment, a packet whose source is not unicast, or (except for IPv6
// "packet too big", RFC 4443 section 2.4(e)) a packet sent to a multicast
// or broadcast address.

// ICMPv4 "destination unreachable" codes (RFC 792, RFC 1812).
const (
	ICMPv4NetUnreachable   = 0
	ICMPv4HostUnreachable  = 1
	ICMPv4ProtoUnreachable = 2
	ICMPv4PortUnreachable  = 3
	ICMPv4NetProhibited    = 9
	ICMPv4HostProhibited   = 10
	ICMPv4AdminProhibited  = 13
)

// ICMPv6 "destination unreachable" codes (RFC 4443 section 3.1).
const (
	ICMPv6NoRoute         = 0
	ICMPv6AdminProhibited = 1
	ICMPv6AddrUnreachable = 3
	ICMPv6PortUnreachable = 4
	ICMPv6PolicyFailed    = 5
	ICMPv6RejectRoute     = 6
)

const (
	icmpv4DestUnreachable = 3
	icmpv4CodeFragNeeded  = 4
	icmpv6DestUnreachable = 1
	icmpv6PacketTooBig    = 2
	// ICMPv6 types below 128 are errors (RFC 4443 section 2.1).
	icmpv6FirstInfoMessage = 128

	icmpv4ErrorHeaderLen = ipv4HeaderLen + 8
	icmpv6ErrorHeaderLen = ipv6HeaderLen + 8
	icmpv4MaxQuote       = 576 - icmpv4ErrorHeaderLen
	icmpv6MaxQuote       = 1280 - icmpv6ErrorHeaderLen
	icmpv4MinMTU         = 68
	icmpv6MinMTU         = 1280
	// precInternetControl is IP precedence 6, which RFC 1812 section
	// 4.3.2.5 asks ICMP errors to carry.
	precInternetControl = 0xc0
)

// BuildICMPv4FragNeeded writes into dst an ICMPv4 "fragmentation needed and
// DF set" message (type 3 code 4, RFC 1191) announcing the next-hop mtu, in
// answer to the IPv4 packet orig. The reply comes from src (the router
// address rayfish pretends to be, e.g. orig's destination) and goes to
// orig's source. Whether orig has DF set is the caller's concern.
func BuildICMPv4FragNeeded(dst, orig []byte, mtu int, src netip.Addr) (int, error) {
	if mtu < icmpv4MinMTU || mtu > 0xffff {
		return 0, ErrBadMTU
	}
	return buildICMPv4Error(dst, orig, icmpv4DestUnreachable, icmpv4CodeFragNeeded, uint32(mtu), src)
}

// BuildICMPv4Unreachable writes into dst an ICMPv4 "destination
// unreachable" message with the given code (e.g. ICMPv4AdminProhibited) in
// answer to the IPv4 packet orig, from src to orig's source.
func BuildICMPv4Unreachable(dst, orig []byte, code uint8, src netip.Addr) (int, error) {
	return buildICMPv4Error(dst, orig, icmpv4DestUnreachable, code, 0, src)
}

// BuildICMPv6PacketTooBig writes into dst an ICMPv6 "packet too big"
// message (type 2, RFC 4443 section 3.2) announcing mtu, in answer to the
// IPv6 packet orig, from src to orig's source.
func BuildICMPv6PacketTooBig(dst, orig []byte, mtu int, src netip.Addr) (int, error) {
	if mtu < icmpv6MinMTU || mtu > 0xffff {
		return 0, ErrBadMTU
	}
	return buildICMPv6Error(dst, orig, icmpv6PacketTooBig, 0, uint32(mtu), src)
}

// BuildICMPv6Unreachable writes into dst an ICMPv6 "destination
// unreachable" message with the given code (e.g. ICMPv6AdminProhibited) in
// answer to the IPv6 packet orig, from src to orig's source.
func BuildICMPv6Unreachable(dst, orig []byte, code uint8, src netip.Addr) (int, error) {
	return buildICMPv6Error(dst, orig, icmpv6DestUnreachable, code, 0, src)
}

func buildICMPv4Error(dst, orig []byte, typ, code uint8, rest uint32, src netip.Addr) (int, error) {
	var info Info
	if err := Parse(orig, &info); err != nil {
		return 0, err
	}
	if info.Version != 4 || !src.Is4() {
		return 0, ErrWrongFamily
	}
	if !mayAnswerWithICMP(&info) || !isUnicast(info.Dst) {
		return 0, ErrNoReply
	}
	n, err := quote(dst, orig, &info, icmpv4ErrorHeaderLen, icmpv4MaxQuote)
	if err != nil {
		return 0, err
	}
	writeIPv4Header(dst, precInternetControl, n, ProtoICMPv4, src, info.Src)
	m := dst[ipv4HeaderLen:n]
	m[0], m[1], m[2], m[3] = typ, code, 0, 0
	binary.BigEndian.PutUint32(m[4:8], rest)
	binary.BigEndian.PutUint16(m[2:4], Checksum(m, 0))
	return n, nil
}

func buildICMPv6Error(dst, orig []byte, typ, code uint8, rest uint32, src netip.Addr) (int, error) {
	var info Info
	if err := Parse(orig, &info); err != nil {
		return 0, err
	}
	if info.Version != 6 || !is6(src) {
		return 0, ErrWrongFamily
	}
	multicastOK := typ == icmpv6PacketTooBig && info.Dst.IsMulticast()
	if !mayAnswerWithICMP(&info) || !(isUnicast(info.Dst) || multicastOK) {
		return 0, ErrNoReply
	}
	n, err := quote(dst, orig, &info, icmpv6ErrorHeaderLen, icmpv6MaxQuote)
	if err != nil {
		return 0, err
	}
	writeIPv6Header(dst, n-ipv6HeaderLen, ProtoICMPv6, src, info.Src)
	m := dst[ipv6HeaderLen:n]
	m[0], m[1], m[2], m[3] = typ, code, 0, 0
	binary.BigEndian.PutUint32(m[4:8], rest)
	binary.BigEndian.PutUint16(m[2:4], Checksum(m, pseudoSum(dst, ProtoICMPv6, len(m))))
	return n, nil
}

// quote copies as much of orig as allowed (at most maxQuote bytes, at least
// its IP header plus 8 bytes) to dst after hdrLen bytes of headers, and
// returns the reply's total length.
func quote(dst, orig []byte, info *Info, hdrLen, maxQuote int) (int, error) {
	q := min(info.Len, maxQuote, len(dst)-hdrLen)
	if q < min(info.Len, info.HeaderLen+8) {
		return 0, ErrShortBuffer
	}
	copy(dst[hdrLen:hdrLen+q], orig[:q])
	return hdrLen + q, nil
}

// mayAnswerWithICMP reports whether an ICMP error may answer the packet
// described by info, judging by its source, fragment offset and, for ICMP,
// type. The destination check differs between the callers.
func mayAnswerWithICMP(info *Info) bool {
	if info.FragOffset != 0 || !isUnicast(info.Src) {
		return false
	}
	switch {
	case info.Version == 4 && info.Proto == ProtoICMPv4:
		return info.HasTransport && isICMPv4Query(info.ICMPType)
	case info.Version == 6 && info.Proto == ProtoICMPv6:
		return info.HasTransport && info.ICMPType >= icmpv6FirstInfoMessage
	}
	return true
}

// isICMPv4Query reports whether an ICMPv4 type is a query or an answer to
// one, rather than an error. Unknown types count as errors, so we stay
// quiet when unsure.
func isICMPv4Query(typ uint8) bool {
	switch typ {
	case 0, 8, // echo reply, echo request
		9, 10, // router advertisement, solicitation
		13, 14, // timestamp, timestamp reply
		15, 16, // information request, reply
		17, 18, // address mask request, reply
		42, 43: // extended echo request, reply (RFC 8335)
		return true
	}
	return false
}
