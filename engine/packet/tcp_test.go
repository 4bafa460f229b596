package packet

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestBuildTCPReset(t *testing.T) {
	syn4, syn6 := kernelPacket(t, "tcp4syn"), kernelPacket(t, "tcp6syn")
	kseq4 := binary.BigEndian.Uint32(syn4[24:28])
	kseq6 := binary.BigEndian.Uint32(syn6[44:48])
	withOpts := tcpSegment(40000, 22, 1000, 0, TCPPsh, seq(12))
	withOpts[12] = 8 << 4 // 12 bytes of TCP options: 20 + 12 = 32, no payload
	tests := []struct {
		name     string
		orig     []byte
		seq, ack uint32
		flags    uint8
	}{
		{"v4 kernel SYN", syn4, 0, kseq4 + 1, TCPRst | TCPAck},
		{"v6 kernel SYN", syn6, 0, kseq6 + 1, TCPRst | TCPAck},
		{
			"v4 ACK with data",
			ipv4Packet("100.64.1.2", "100.64.3.4", ProtoTCP, seq(8), 0x4000, tcpSegment(40000, 443, 5, 0xdeadbeef, TCPAck|TCPPsh, seq(100))),
			0xdeadbeef, 0, TCPRst,
		},
		{
			"v4 SYN+FIN with data wraps the sequence space",
			ipv4Packet("100.64.1.2", "100.64.3.4", ProtoTCP, nil, 0, tcpSegment(40000, 443, 0xfffffffe, 77, TCPSyn|TCPFin, seq(10))),
			0, 10, TCPRst | TCPAck,
		},
		{
			"v4 options are not segment data",
			ipv4Packet("100.64.1.2", "100.64.3.4", ProtoTCP, nil, 0, withOpts),
			0, 1000, TCPRst | TCPAck,
		},
		{
			"v6 FIN after extension headers",
			ipv6Packet("fd72::1", "fd72::2", ipv6HopByHop, cat(extHeader(ipv6DestOpts, 1), extHeader(ProtoTCP, 2), tcpSegment(1, 2, 100, 0, TCPFin, seq(3)))),
			0, 104, TCPRst | TCPAck,
		},
		{
			"v6 ACK with trailing bytes beyond the IP length",
			append(ipv6Packet("fd72::1", "fd72::2", ProtoTCP, tcpSegment(1, 2, 100, 200, TCPAck|TCPFin, nil)), 0, 0, 0),
			200, 0, TCPRst,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig Info
			if err := Parse(tt.orig, &orig); err != nil {
				t.Fatal(err)
			}
			reply, err := buildBoth(t, BuildTCPReset, tt.orig, 100)
			if err != nil {
				t.Fatal(err)
			}
			proto, seg := checkBuilt(t, reply)
			if proto != ProtoTCP || len(seg) != 20 {
				t.Fatalf("proto %d, %d-byte segment", proto, len(seg))
			}
			var info Info
			if err := Parse(reply, &info); err != nil {
				t.Fatalf("Parse(reply): %v", err)
			}
			if info.Version != orig.Version || info.Src != orig.Dst || info.Dst != orig.Src ||
				info.SrcPort != orig.DstPort || info.DstPort != orig.SrcPort || info.TCPFlags != tt.flags {
				t.Errorf("reply parses as %+v, original %+v", info, orig)
			}
			if got := binary.BigEndian.Uint32(seg[4:8]); got != tt.seq {
				t.Errorf("seq = %d, want %d", got, tt.seq)
			}
			if got := binary.BigEndian.Uint32(seg[8:12]); got != tt.ack {
				t.Errorf("ack = %d, want %d", got, tt.ack)
			}
			if seg[12] != 0x50 || binary.BigEndian.Uint16(seg[14:16]) != 0 || binary.BigEndian.Uint16(seg[18:20]) != 0 {
				t.Errorf("data offset, window or urgent pointer wrong: %x", seg)
			}
		})
	}
}

func TestBuildTCPResetRefused(t *testing.T) {
	seg := func(flags uint8) []byte { return tcpSegment(1, 2, 3, 4, flags, seq(10)) }
	v4 := func(src, dst string, s []byte) []byte { return ipv4Packet(src, dst, ProtoTCP, nil, 0, s) }
	badOff := func(off byte) []byte {
		s := seg(TCPAck)
		s[12] = off << 4
		return v4("100.64.1.2", "100.64.3.4", s)
	}
	tests := []struct {
		name   string
		orig   []byte
		dstLen int
		want   error
	}{
		{"RST", v4("100.64.1.2", "100.64.3.4", seg(TCPRst)), 100, ErrNoReply},
		{"RST+ACK", v4("100.64.1.2", "100.64.3.4", seg(TCPRst|TCPAck)), 100, ErrNoReply},
		{"v4 first fragment", ipv4Packet("100.64.1.2", "100.64.3.4", ProtoTCP, nil, 0x2000, seg(TCPAck)), 100, ErrNoReply},
		{"v4 later fragment", ipv4Packet("100.64.1.2", "100.64.3.4", ProtoTCP, nil, 100, seg(TCPAck)), 100, ErrNoReply},
		{"v6 fragment", ipv6Packet("fd72::1", "fd72::2", ipv6Fragment, cat(fragHeader(ProtoTCP, 0, true, 1), seg(TCPSyn))), 100, ErrNoReply},
		{"multicast destination", v4("100.64.1.2", "224.0.0.1", seg(TCPSyn)), 100, ErrNoReply},
		{"broadcast source", v4("255.255.255.255", "100.64.3.4", seg(TCPSyn)), 100, ErrNoReply},
		{"v6 unspecified source", ipv6Packet("::", "fd72::2", ProtoTCP, seg(TCPSyn)), 100, ErrNoReply},
		{"UDP", ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0, seg(TCPSyn)), 100, ErrWrongProto},
		{"truncated header", v4("100.64.1.2", "100.64.3.4", seg(TCPSyn)[:19]), 100, ErrBadTransport},
		{"data offset 4", badOff(4), 100, ErrBadTransport},
		{"data offset beyond segment", badOff(8), 100, ErrBadTransport},
		{"v4 short buffer", v4("100.64.1.2", "100.64.3.4", seg(TCPSyn)), 39, ErrShortBuffer},
		{"v6 short buffer", ipv6Packet("fd72::1", "fd72::2", ProtoTCP, seg(TCPSyn)), 59, ErrShortBuffer},
		{"unparseable", []byte{0x60, 0}, 100, ErrTooShort},
	}
	for _, tt := range tests {
		if _, err := buildBoth(t, BuildTCPReset, tt.orig, tt.dstLen); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// The exact sizes are enough.
	if _, err := buildBoth(t, BuildTCPReset, v4("100.64.1.2", "100.64.3.4", seg(TCPSyn)), 40); err != nil {
		t.Errorf("40-byte buffer: %v", err)
	}
	if _, err := buildBoth(t, BuildTCPReset, ipv6Packet("fd72::1", "fd72::2", ProtoTCP, seg(TCPSyn)), 60); err != nil {
		t.Errorf("60-byte buffer: %v", err)
	}
}
