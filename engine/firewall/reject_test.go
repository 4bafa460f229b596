package firewall

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/rayfish/rayfish/engine/packet"
)

// buildPacket returns an IPv4 or IPv6 packet from src to dst carrying the
// transport bytes t (whose checksum it fills in for TCP, UDP and ICMPv6).
func buildPacket(src, dst netip.Addr, proto uint8, t []byte) []byte {
	t = append([]byte(nil), t...)
	csumAt := map[uint8]int{packet.ProtoTCP: 16, packet.ProtoUDP: 6, packet.ProtoICMPv4: 2, packet.ProtoICMPv6: 2}[proto]
	if proto == packet.ProtoICMPv4 {
		binary.BigEndian.PutUint16(t[csumAt:], packet.Checksum(t, 0))
	} else {
		binary.BigEndian.PutUint16(t[csumAt:], packet.Checksum(t, packet.PseudoHeaderSum(proto, src, dst, len(t))))
	}
	if src.Is4() {
		h := make([]byte, 20)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(t)))
		h[8], h[9] = 64, proto
		s, d := src.As4(), dst.As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		binary.BigEndian.PutUint16(h[10:], packet.Checksum(h, 0))
		return append(h, t...)
	}
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(t)))
	h[6], h[7] = proto, 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, t...)
}

func tcpSegment(sport, dport uint16, seq uint32, flags uint8, payload string) []byte {
	t := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], seq)
	t[12], t[13] = 5<<4, flags
	binary.BigEndian.PutUint16(t[14:], 65535)
	return append(t, payload...)
}

func udpDatagram(sport, dport uint16, payload string) []byte {
	t := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint16(t[4:], uint16(8+len(payload)))
	return append(t, payload...)
}

func icmpEcho(typ uint8, id uint16) []byte {
	t := make([]byte, 16)
	t[0] = typ
	binary.BigEndian.PutUint16(t[4:], id)
	return t
}

// verifyChecksums checks the IPv4 header checksum and the transport
// checksum of a parsed packet.
func verifyChecksums(t *testing.T, b []byte, info *packet.Info) {
	t.Helper()
	if info.Version == 4 && packet.Checksum(b[:info.HeaderLen], 0) != 0 {
		t.Error("bad IPv4 header checksum")
	}
	tr := b[info.HeaderLen:info.Len]
	var init uint32
	if info.Proto != packet.ProtoICMPv4 {
		init = packet.PseudoHeaderSum(info.Proto, info.Src, info.Dst, len(tr))
	}
	if packet.Checksum(tr, init) != 0 {
		t.Errorf("bad %d checksum", info.Proto)
	}
}

func TestBuildReject(t *testing.T) {
	a4, b4 := netip.MustParseAddr(selfV4), netip.MustParseAddr(peerBV4)
	a6, b6 := netip.MustParseAddr(selfV6), netip.MustParseAddr(peerBV6)
	tests := []struct {
		name      string
		pkt       []byte
		wantProto uint8
		wantType  uint8 // ICMP type
		wantCode  uint8
	}{
		{"tcp v4", buildPacket(a4, b4, packet.ProtoTCP, tcpSegment(40000, 22, 1000, packet.TCPSyn, "")), packet.ProtoTCP, 0, 0},
		{"tcp v6", buildPacket(a6, b6, packet.ProtoTCP, tcpSegment(40000, 22, 1000, packet.TCPSyn, "")), packet.ProtoTCP, 0, 0},
		{"udp v4", buildPacket(a4, b4, packet.ProtoUDP, udpDatagram(40000, 53, "query")), packet.ProtoICMPv4, 3, packet.ICMPv4PortUnreachable},
		{"udp v6", buildPacket(a6, b6, packet.ProtoUDP, udpDatagram(40000, 53, "query")), packet.ProtoICMPv6, 1, packet.ICMPv6PortUnreachable},
		{"echo v4", buildPacket(a4, b4, packet.ProtoICMPv4, icmpEcho(8, 7)), packet.ProtoICMPv4, 3, packet.ICMPv4AdminProhibited},
		{"echo v6", buildPacket(a6, b6, packet.ProtoICMPv6, icmpEcho(128, 7)), packet.ProtoICMPv6, 1, packet.ICMPv6AdminProhibited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig packet.Info
			if err := packet.Parse(tt.pkt, &orig); err != nil {
				t.Fatal(err)
			}
			verifyChecksums(t, tt.pkt, &orig) // the test's own packet is right
			dst := make([]byte, 1280)
			n, err := BuildReject(dst, tt.pkt, &orig)
			if err != nil {
				t.Fatal(err)
			}
			var got packet.Info
			if err := packet.Parse(dst[:n], &got); err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			if got.Src != orig.Dst || got.Dst != orig.Src || got.Proto != tt.wantProto || got.Len != n {
				t.Errorf("reply %+v does not answer %+v", got, orig)
			}
			verifyChecksums(t, dst[:n], &got)
			if tt.wantProto == packet.ProtoTCP {
				if got.TCPFlags&packet.TCPRst == 0 || got.SrcPort != orig.DstPort || got.DstPort != orig.SrcPort {
					t.Errorf("reset %+v", got)
				}
				ack := binary.BigEndian.Uint32(dst[got.HeaderLen+8:])
				if ack != 1001 { // SYN counts one
					t.Errorf("reset acks %d, want 1001", ack)
				}
				return
			}
			if got.ICMPType != tt.wantType || got.ICMPCode != tt.wantCode {
				t.Errorf("ICMP %d/%d, want %d/%d", got.ICMPType, got.ICMPCode, tt.wantType, tt.wantCode)
			}
			// The quote starts with the original packet.
			if q := dst[got.HeaderLen+8 : n]; string(q[:orig.HeaderLen+8]) != string(tt.pkt[:orig.HeaderLen+8]) {
				t.Error("reply does not quote the original")
			}
		})
	}

	// Never answer a reset or an ICMP error.
	for name, pkt := range map[string][]byte{
		"rst":         buildPacket(a4, b4, packet.ProtoTCP, tcpSegment(1, 2, 3, packet.TCPRst, "")),
		"icmp error":  buildPacket(a4, b4, packet.ProtoICMPv4, icmpEcho(3, 0)),
		"bad version": {0x00, 1, 2, 3},
	} {
		var info packet.Info
		_ = packet.Parse(pkt, &info)
		if n, err := BuildReject(make([]byte, 1280), pkt, &info); err == nil {
			t.Errorf("%s: BuildReject wrote %d bytes", name, n)
		}
	}
}

// TestRejectEndToEnd runs a parsed packet through a rejecting firewall and
// answers it, as the data path does.
func TestRejectEndToEnd(t *testing.T) {
	fw := New(Config{})
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error { rs.SetReject(true); return nil }); err != nil {
		t.Fatal(err)
	}
	pkt := buildPacket(netip.MustParseAddr(peerBV4), netip.MustParseAddr(selfV4), packet.ProtoUDP, udpDatagram(5000, 161, "x"))
	var info packet.Info
	if err := packet.Parse(pkt, &info); err != nil {
		t.Fatal(err)
	}
	if v := fw.Inbound(&info, peerB, nets, 0); v != Reject {
		t.Fatalf("verdict %v", v)
	}
	buf := make([]byte, 1280)
	copy(buf, pkt)
	n, err := BuildReject(buf, buf[:len(pkt)], &info) // in place is allowed
	if err != nil {
		t.Fatal(err)
	}
	var reply packet.Info
	if err := packet.Parse(buf[:n], &reply); err != nil || reply.ICMPType != 3 || reply.Dst.String() != peerBV4 {
		t.Errorf("reply %+v, %v", reply, err)
	}
}
