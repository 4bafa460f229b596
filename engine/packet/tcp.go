package packet

import "encoding/binary"

const tcpHeaderLen = 20

// BuildTCPReset writes into dst a TCP RST answering the TCP segment in orig
// (IPv4 or IPv6), as a closed port would (RFC 9293 section 3.10.7.1): if
// orig has ACK set, the reset has seq = orig's ack and flags RST;
// otherwise seq = 0, ack = orig's seq plus its segment length (SYN and FIN
// count one each) and flags RST|ACK. Addresses and ports are swapped, the
// TTL is 64, the window zero, and there are no options. It returns the
// number of bytes written. dst may be the same buffer as orig.
//
// It refuses (ErrNoReply) to answer a reset, a fragment, or a segment
// whose source or destination is not unicast.
func BuildTCPReset(dst, orig []byte) (int, error) {
	var info Info
	if err := Parse(orig, &info); err != nil {
		return 0, err
	}
	if info.Proto != ProtoTCP {
		return 0, ErrWrongProto
	}
	if info.Fragment {
		return 0, ErrNoReply
	}
	seg := orig[info.HeaderLen:info.Len]
	if len(seg) < tcpHeaderLen {
		return 0, ErrBadTransport
	}
	dataOff := int(seg[12]>>4) * 4
	if dataOff < tcpHeaderLen || dataOff > len(seg) {
		return 0, ErrBadTransport
	}
	if info.TCPFlags&TCPRst != 0 || !isUnicast(info.Src) || !isUnicast(info.Dst) {
		return 0, ErrNoReply
	}

	var seq, ack uint32
	flags := uint8(TCPRst)
	if info.TCPFlags&TCPAck != 0 {
		seq = binary.BigEndian.Uint32(seg[8:12])
	} else {
		segLen := uint32(len(seg) - dataOff)
		if info.TCPFlags&TCPSyn != 0 {
			segLen++
		}
		if info.TCPFlags&TCPFin != 0 {
			segLen++
		}
		ack = binary.BigEndian.Uint32(seg[4:8]) + segLen
		flags |= TCPAck
	}

	hl := ipHeaderLen(info.Version)
	n := hl + tcpHeaderLen
	if len(dst) < n {
		return 0, ErrShortBuffer
	}
	// Everything needed from orig is now in locals; dst may overwrite it.
	writeIPHeader(dst, info.Version, n, ProtoTCP, info.Dst, info.Src)
	t := dst[hl:n]
	binary.BigEndian.PutUint16(t[0:2], info.DstPort)
	binary.BigEndian.PutUint16(t[2:4], info.SrcPort)
	binary.BigEndian.PutUint32(t[4:8], seq)
	binary.BigEndian.PutUint32(t[8:12], ack)
	t[12] = (tcpHeaderLen / 4) << 4 // data offset, in 32-bit words
	t[13] = flags
	clear(t[14:20]) // window, checksum, urgent pointer
	binary.BigEndian.PutUint16(t[16:18], Checksum(t, pseudoSum(dst, ProtoTCP, tcpHeaderLen)))
	return n, nil
}
