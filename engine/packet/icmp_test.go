package packet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

var (
	router4 = netip.MustParseAddr("100.100.100.100")
	router6 = netip.MustParseAddr("fd72:6179:6669::ffff")
)

type builder func(dst, orig []byte) (int, error)

func fragNeeded(mtu int) builder {
	return func(dst, orig []byte) (int, error) { return BuildICMPv4FragNeeded(dst, orig, mtu, router4) }
}

func unreach4(code uint8) builder {
	return func(dst, orig []byte) (int, error) { return BuildICMPv4Unreachable(dst, orig, code, router4) }
}

func tooBig(mtu int) builder {
	return func(dst, orig []byte) (int, error) { return BuildICMPv6PacketTooBig(dst, orig, mtu, router6) }
}

func unreach6(code uint8) builder {
	return func(dst, orig []byte) (int, error) { return BuildICMPv6Unreachable(dst, orig, code, router6) }
}

// buildBoth runs b into a fresh buffer and in place (dst aliasing orig),
// checks both give the same bytes, and returns the reply.
func buildBoth(t *testing.T, b builder, orig []byte, dstLen int) ([]byte, error) {
	t.Helper()
	dst := make([]byte, dstLen)
	n, err := b(dst, orig)
	if err != nil {
		return nil, err
	}
	if n <= 0 || n > len(dst) {
		t.Fatalf("builder returned n = %d for a %d-byte buffer", n, len(dst))
	}
	if len(orig) <= dstLen {
		buf := make([]byte, dstLen)
		copy(buf, orig)
		n2, err := b(buf, buf[:len(orig)])
		if err != nil || !bytes.Equal(buf[:n2], dst[:n]) {
			t.Fatalf("in place: n = %d, err = %v, differs from %d bytes built apart", n2, err, n)
		}
	}
	return dst[:n], nil
}

func TestBuildICMPErrors(t *testing.T) {
	big4 := ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0x4000, udpDatagram(5000, 6000, seq(1400)))
	opts4 := ipv4Packet("100.64.1.2", "100.64.3.4", ProtoTCP, seq(40), 0, tcpSegment(1, 2, 3, 4, TCPAck, seq(30)))
	echo4 := ipv4Packet("100.64.1.2", "100.64.3.4", ProtoICMPv4, nil, 0, icmpMessage(8, 0, 0x10001, seq(56)))
	frag4 := ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0x2000, udpDatagram(5000, 6000, seq(600)))
	tiny4 := ipv4Packet("100.64.1.2", "100.64.3.4", 253, nil, 0, []byte{1, 2, 3})
	big6 := ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ProtoUDP, udpDatagram(5000, 6000, seq(1400)))
	mcast6 := ipv6Packet("fd72:6179:6669::1", "ff05::2", ProtoUDP, udpDatagram(5000, 6000, seq(1400)))
	frag6 := ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ipv6Fragment, cat(fragHeader(ProtoTCP, 0, true, 7), tcpSegment(1, 2, 3, 4, TCPAck, seq(100))))
	tests := []struct {
		name      string
		orig      []byte
		build     builder
		src       netip.Addr
		typ, code uint8
		rest      uint32 // bytes 4-7 of the ICMP header
		quote     int
	}{
		{"v4 frag needed, long original", big4, fragNeeded(1200), router4, 3, 4, 1200, 548},
		{"v4 frag needed, kernel SYN", kernelPacket(t, "tcp4syn"), fragNeeded(576), router4, 3, 4, 576, 60},
		{"v4 frag needed, first fragment", frag4, fragNeeded(68), router4, 3, 4, 68, 548},
		{"v4 admin prohibited, max options", opts4, unreach4(ICMPv4AdminProhibited), router4, 3, 13, 0, len(opts4)},
		{"v4 port unreachable, echo request", echo4, unreach4(ICMPv4PortUnreachable), router4, 3, 3, 0, len(echo4)},
		{"v4 host unreachable, tiny original", tiny4, unreach4(ICMPv4HostUnreachable), router4, 3, 1, 0, len(tiny4)},
		{"v4 unreachable, kernel DNS query", kernelPacket(t, "udp4"), unreach4(ICMPv4NetProhibited), router4, 3, 9, 0, 57},
		{"v6 packet too big, long original", big6, tooBig(1280), router6, 2, 0, 1280, 1232},
		{"v6 packet too big, multicast destination", mcast6, tooBig(1400), router6, 2, 0, 1400, 1232},
		{"v6 packet too big, first fragment", frag6, tooBig(65535), router6, 2, 0, 65535, len(frag6)},
		{"v6 packet too big, kernel extension headers", kernelPacket(t, "exthdr6"), tooBig(1280), router6, 2, 0, 1280, 83},
		{"v6 admin prohibited, kernel echo", kernelPacket(t, "ping6"), unreach6(ICMPv6AdminProhibited), router6, 1, 1, 0, 56},
		{"v6 port unreachable, kernel SYN", kernelPacket(t, "tcp6syn"), unreach6(ICMPv6PortUnreachable), router6, 1, 4, 0, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig Info
			if err := Parse(tt.orig, &orig); err != nil {
				t.Fatal(err)
			}
			reply, err := buildBoth(t, tt.build, tt.orig, 2000)
			if err != nil {
				t.Fatal(err)
			}
			proto, msg := checkBuilt(t, reply)
			hdrLen := len(reply) - len(msg)
			if len(reply) != hdrLen+8+tt.quote {
				t.Fatalf("reply is %d bytes, want %d+8+%d", len(reply), hdrLen, tt.quote)
			}
			var info Info
			if err := Parse(reply, &info); err != nil {
				t.Fatalf("Parse(reply): %v", err)
			}
			if info.Src != tt.src || info.Dst != orig.Src || int(info.Proto) != proto || info.Len != len(reply) ||
				info.ICMPType != tt.typ || info.ICMPCode != tt.code || !info.HasTransport {
				t.Errorf("reply parses as %+v", info)
			}
			if got := binary.BigEndian.Uint32(msg[4:8]); got != tt.rest {
				t.Errorf("ICMP bytes 4-7 = %#x, want %#x", got, tt.rest)
			}
			if !bytes.Equal(msg[8:], tt.orig[:tt.quote]) {
				t.Errorf("quote is not the original's first %d bytes", tt.quote)
			}
			if info.Version == 4 && reply[1] != 0xc0 {
				t.Errorf("TOS %#x, want precedence 6 (0xc0)", reply[1])
			}

			// Cross-check with golang.org/x/net/icmp: parse the
			// message, marshal it again, compare the bytes (checksum
			// included). Its DstUnreach has no next-hop MTU, so skip
			// the re-marshal for "fragmentation needed".
			m, err := icmp.ParseMessage(proto, msg)
			if err != nil {
				t.Fatalf("x/net icmp.ParseMessage: %v", err)
			}
			var psh []byte
			if info.Version == 6 {
				psh = icmp.IPv6PseudoHeader(net.IP(reply[8:24]), net.IP(reply[24:40]))
			}
			switch body := m.Body.(type) {
			case *icmp.PacketTooBig:
				if m.Type != ipv6.ICMPTypePacketTooBig || body.MTU != int(tt.rest) || !bytes.Equal(body.Data, tt.orig[:tt.quote]) {
					t.Errorf("x/net parses %v %+v", m.Type, body)
				}
			case *icmp.DstUnreach:
				if m.Type != ipv4.ICMPTypeDestinationUnreachable && m.Type != ipv6.ICMPTypeDestinationUnreachable ||
					!bytes.Equal(body.Data, tt.orig[:tt.quote]) || body.Extensions != nil {
					t.Errorf("x/net parses %v %+v", m.Type, body)
				}
			default:
				t.Fatalf("x/net parses %T", body)
			}
			if tt.code == icmpv4CodeFragNeeded && info.Version == 4 {
				return
			}
			again, err := m.Marshal(psh)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, msg) {
				t.Errorf("x/net marshals\n%x\nwe built\n%x", again, msg)
			}
		})
	}
}

func TestBuildICMPErrorsShortBuffer(t *testing.T) {
	// The minimal quote is the original's IP header plus 8 bytes.
	opts4 := ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, seq(4), 0, udpDatagram(1, 2, seq(100)))
	ext6 := kernelPacket(t, "exthdr6") // 64 bytes of headers
	tiny4 := ipv4Packet("100.64.1.2", "100.64.3.4", 253, nil, 0, []byte{1, 2, 3})
	tests := []struct {
		name   string
		orig   []byte
		build  builder
		minLen int
	}{
		{"v4 with options", opts4, fragNeeded(1000), 28 + 24 + 8},
		{"v4 tiny", tiny4, unreach4(0), 28 + 23},
		{"v6 with extension headers", ext6, tooBig(1280), 48 + 64 + 8},
		{"v6 unreachable", ext6, unreach6(0), 48 + 64 + 8},
	}
	for _, tt := range tests {
		if _, err := buildBoth(t, tt.build, tt.orig, tt.minLen-1); !errors.Is(err, ErrShortBuffer) {
			t.Errorf("%s: %d-byte buffer: err = %v, want ErrShortBuffer", tt.name, tt.minLen-1, err)
		}
		reply, err := buildBoth(t, tt.build, tt.orig, tt.minLen)
		if err != nil || len(reply) != tt.minLen {
			t.Errorf("%s: %d-byte buffer: %d bytes, err = %v", tt.name, tt.minLen, len(reply), err)
			continue
		}
		checkBuilt(t, reply)
	}
	// A larger buffer lengthens the quote up to the limit.
	reply, err := buildBoth(t, fragNeeded(1000), opts4, 100)
	if err != nil || len(reply) != 100 {
		t.Errorf("100-byte buffer: %d bytes, err = %v", len(reply), err)
	}
}

func TestBuildICMPErrorsRefused(t *testing.T) {
	udp := udpDatagram(1, 2, seq(20))
	v4 := func(src, dst string) []byte { return ipv4Packet(src, dst, ProtoUDP, nil, 0, udp) }
	v6 := func(src, dst string) []byte { return ipv6Packet(src, dst, ProtoUDP, udp) }
	icmp4 := func(typ uint8) []byte {
		return ipv4Packet("100.64.1.2", "100.64.3.4", ProtoICMPv4, nil, 0, icmpMessage(typ, 0, 0, seq(28)))
	}
	icmp6 := func(typ uint8) []byte {
		return ipv6Packet("fd72::1", "fd72::2", ProtoICMPv6, icmpMessage(typ, 0, 0, seq(48)))
	}
	ok4, ok6 := v4("100.64.1.2", "100.64.3.4"), v6("fd72::1", "fd72::2")
	all4 := []builder{fragNeeded(1280), unreach4(13)}
	all6 := []builder{tooBig(1280), unreach6(1)}
	tests := []struct {
		name     string
		orig     []byte
		builders []builder
		want     error
	}{
		{"v4 answering dest unreachable", icmp4(3), all4, ErrNoReply},
		{"v4 answering time exceeded", icmp4(11), all4, ErrNoReply},
		{"v4 answering redirect", icmp4(5), all4, ErrNoReply},
		{"v4 answering parameter problem", icmp4(12), all4, ErrNoReply},
		{"v4 answering unknown ICMP type", icmp4(44), all4, ErrNoReply},
		{"v4 answering truncated ICMP", ipv4Packet("100.64.1.2", "100.64.3.4", ProtoICMPv4, nil, 0, []byte{8, 0, 0, 0}), all4, ErrNoReply},
		{"v4 non-first fragment", ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 3, udp), all4, ErrNoReply},
		{"v4 source unspecified", v4("0.0.0.0", "100.64.3.4"), all4, ErrNoReply},
		{"v4 source multicast", v4("224.0.0.5", "100.64.3.4"), all4, ErrNoReply},
		{"v4 source broadcast", v4("255.255.255.255", "100.64.3.4"), all4, ErrNoReply},
		{"v4 source class E", v4("240.1.2.3", "100.64.3.4"), all4, ErrNoReply},
		{"v4 source loopback", v4("127.0.0.1", "100.64.3.4"), all4, ErrNoReply},
		{"v4 destination broadcast", v4("100.64.1.2", "255.255.255.255"), all4, ErrNoReply},
		{"v4 destination multicast", v4("100.64.1.2", "224.0.0.251"), all4, ErrNoReply},
		{"v6 answering dest unreachable", icmp6(1), all6, ErrNoReply},
		{"v6 answering packet too big", icmp6(2), all6, ErrNoReply},
		{"v6 answering time exceeded", icmp6(3), all6, ErrNoReply},
		{"v6 answering parameter problem", icmp6(4), all6, ErrNoReply},
		{"v6 answering unknown error type", icmp6(127), all6, ErrNoReply},
		{"v6 answering truncated ICMP", ipv6Packet("fd72::1", "fd72::2", ProtoICMPv6, []byte{128, 0, 0, 0}), all6, ErrNoReply},
		{"v6 non-first fragment", ipv6Packet("fd72::1", "fd72::2", ipv6Fragment, cat(fragHeader(ProtoUDP, 8, false, 1), udp)), all6, ErrNoReply},
		{"v6 source unspecified", v6("::", "fd72::2"), all6, ErrNoReply},
		{"v6 source multicast", v6("ff02::1", "fd72::2"), all6, ErrNoReply},
		{"v6 source loopback", v6("::1", "fd72::2"), all6, ErrNoReply},
		{"v6 unreachable to multicast destination", v6("fd72::1", "ff02::fb"), []builder{unreach6(1)}, ErrNoReply},
		{"v4 original to v6 builders", ok4, all6, ErrWrongFamily},
		{"v6 original to v4 builders", ok6, all4, ErrWrongFamily},
		{"v4 builder with v6 source", ok4, []builder{
			func(d, o []byte) (int, error) { return BuildICMPv4FragNeeded(d, o, 1280, router6) },
			func(d, o []byte) (int, error) { return BuildICMPv4Unreachable(d, o, 1, netip.Addr{}) },
		}, ErrWrongFamily},
		{"v6 builder with v4 source", ok6, []builder{
			func(d, o []byte) (int, error) { return BuildICMPv6PacketTooBig(d, o, 1280, router4) },
			func(d, o []byte) (int, error) {
				return BuildICMPv6Unreachable(d, o, 1, netip.AddrFrom16(router4.As16()))
			},
		}, ErrWrongFamily},
		{"v4 MTU too small", ok4, []builder{fragNeeded(67), fragNeeded(-1)}, ErrBadMTU},
		{"v4 MTU too large", ok4, []builder{fragNeeded(65536)}, ErrBadMTU},
		{"v6 MTU too small", ok6, []builder{tooBig(1279)}, ErrBadMTU},
		{"v6 MTU too large", ok6, []builder{tooBig(65536)}, ErrBadMTU},
		{"garbage", []byte{0x45, 0, 0}, append(all4, all6...), ErrTooShort},
		{"bad length", ok4[:len(ok4)-1], all4, ErrBadLength},
	}
	for _, tt := range tests {
		for i, b := range tt.builders {
			if _, err := buildBoth(t, b, tt.orig, 2000); !errors.Is(err, tt.want) {
				t.Errorf("%s, builder %d: err = %v, want %v", tt.name, i, err, tt.want)
			}
		}
	}
	// Echo requests and replies (queries, not errors) are answered.
	for _, typ := range []uint8{0, 8, 13} {
		if _, err := buildBoth(t, unreach4(1), icmp4(typ), 2000); err != nil {
			t.Errorf("ICMPv4 type %d: %v", typ, err)
		}
	}
	for _, typ := range []uint8{128, 129, 135} {
		if _, err := buildBoth(t, unreach6(1), icmp6(typ), 2000); err != nil {
			t.Errorf("ICMPv6 type %d: %v", typ, err)
		}
	}
}
