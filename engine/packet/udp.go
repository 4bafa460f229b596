package packet

import "encoding/binary"

const udpHeaderLen = 8

// BuildUDPReply writes into dst the reply to the UDP datagram in orig
// (IPv4 or IPv6): addresses and ports swapped, the given payload, TTL or
// hop limit 64, and correct IP and UDP checksums. It returns the number of
// bytes written. Magic DNS answers queries with it.
//
// payload may overlap dst (for instance, an answer already written at its
// final offset, dst[28:] for IPv4 or dst[48:] for IPv6), and dst may be the
// same buffer as orig. It refuses (ErrNoReply) to answer a non-first
// fragment or a datagram whose source or destination is not unicast.
func BuildUDPReply(dst, orig []byte, payload []byte) (int, error) {
	var info Info
	if err := Parse(orig, &info); err != nil {
		return 0, err
	}
	if info.Proto != ProtoUDP {
		return 0, ErrWrongProto
	}
	if info.FragOffset != 0 || !isUnicast(info.Src) || !isUnicast(info.Dst) {
		return 0, ErrNoReply
	}
	if !info.HasTransport {
		return 0, ErrBadTransport
	}
	hl := ipHeaderLen(info.Version)
	udpLen := udpHeaderLen + len(payload)
	n := hl + udpLen
	if n > 0xffff && (info.Version == 4 || udpLen > 0xffff) {
		return 0, ErrTooLarge
	}
	if len(dst) < n {
		return 0, ErrShortBuffer
	}
	// Payload first: it may sit where the headers go.
	copy(dst[hl+udpHeaderLen:n], payload)
	writeIPHeader(dst, info.Version, n, ProtoUDP, info.Dst, info.Src)
	u := dst[hl:n]
	binary.BigEndian.PutUint16(u[0:2], info.DstPort)
	binary.BigEndian.PutUint16(u[2:4], info.SrcPort)
	binary.BigEndian.PutUint16(u[4:6], uint16(udpLen))
	u[6], u[7] = 0, 0
	csum := Checksum(u, pseudoSum(dst, ProtoUDP, udpLen))
	if csum == 0 {
		csum = 0xffff // zero means "no checksum" (RFC 768, RFC 8200 8.1)
	}
	binary.BigEndian.PutUint16(u[6:8], csum)
	return n, nil
}

// UDPPayload returns the payload of the UDP datagram in b, which Parse has
// described in info, bounded by the UDP length field. It fails with
// ErrWrongProto if the packet is not UDP, ErrFragment if it is a fragment,
// and ErrBadTransport if the UDP length field disagrees with the packet.
// It does not verify the checksum (TUN offloads may leave it partial).
func UDPPayload(b []byte, info *Info) ([]byte, error) {
	if info.Proto != ProtoUDP {
		return nil, ErrWrongProto
	}
	if info.Fragment {
		return nil, ErrFragment
	}
	if !info.HasTransport || info.Len > len(b) {
		return nil, ErrBadTransport
	}
	u := b[info.HeaderLen:info.Len]
	l := int(binary.BigEndian.Uint16(u[4:6]))
	if l < udpHeaderLen || l > len(u) {
		return nil, ErrBadTransport
	}
	return u[udpHeaderLen:l], nil
}
