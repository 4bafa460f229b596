// Package packet peeks at IPv4 and IPv6 headers and builds the few packets
// rayfish synthesizes itself (ICMP errors, TCP resets, DNS replies). Every
// function here works on caller-owned buffers and never allocates: it sits
// on the per-packet path.
package packet

import "net/netip"

// IP protocol numbers.
const (
	ProtoICMPv4 = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// TCP flags, as in Info.TCPFlags.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
)

// Info is what Parse learns from a packet's headers.
type Info struct {
	Version  uint8 // 4 or 6
	Proto    uint8 // transport protocol after IPv6 extension headers
	Src, Dst netip.Addr
	// Len is the packet's total length from its IP header.
	Len int
	// HeaderLen is the IP header length, including IPv6 extension headers:
	// the transport header starts at this offset.
	HeaderLen int
	// SrcPort and DstPort are set for TCP and UDP; for ICMP echo, SrcPort
	// and DstPort both hold the echo identifier.
	SrcPort, DstPort uint16
	// ICMPType and ICMPCode are set for ICMPv4 and ICMPv6.
	ICMPType, ICMPCode uint8
	TCPFlags           uint8
	// Fragment is true for any fragment; only the first fragment
	// (FragOffset 0) carries ports. An IPv6 atomic fragment (offset 0,
	// no more fragments; RFC 6946) is not a fragment.
	Fragment bool
	// FragOffset is the fragment's offset in bytes (the header field
	// times 8).
	FragOffset uint16
	// HasTransport is true when the whole fixed transport header (TCP 20
	// bytes, UDP 8, ICMP 8) lies within Len, so SrcPort, DstPort,
	// ICMPType, ICMPCode and TCPFlags are meaningful. It is false for
	// non-first fragments, truncated transport headers and other protocols.
	HasTransport bool
	// Quote describes the packet an ICMP error message quotes (the one
	// that caused the error); its Valid is false for every other packet.
	Quote Quote
}

// Quote is what Parse learns from the packet quoted in an ICMP error
// (RFC 792, RFC 4443 section 2.4(c)): at least its IP header and the
// first 8 bytes of its transport header, the ports included.
type Quote struct {
	// Valid is true when the quote holds an IP header of the error's
	// own version, of an unfragmented packet or a first fragment, and as
	// much of the transport header as the ports need.
	Valid    bool
	Proto    uint8
	Src, Dst netip.Addr
	// SrcPort and DstPort are as in Info: TCP and UDP ports, the echo
	// identifier for ICMP echo.
	SrcPort, DstPort uint16
}
