package packet

import (
	"net/netip"
	"testing"
)

// TestParseQuote: Parse reads the quoted packet of an ICMP error, built
// by this package or by hand, truncated as routers truncate, and leaves
// Quote invalid where it cannot hold addresses and ports.
func TestParseQuote(t *testing.T) {
	udp4 := ipv4Packet("100.64.0.1", "100.64.0.2", ProtoUDP, nil, 0, udpDatagram(1000, 53, seq(100)))
	tcp6 := ipv6Packet("fd72::1", "fd72::2", ProtoTCP, tcpSegment(40000, 443, 1, 0, TCPSyn, seq(1300)))
	echo4 := ipv4Packet("100.64.0.1", "100.64.0.2", ProtoICMPv4, nil, 0, icmpMessage(8, 0, 0x00070001, nil))
	frag6 := ipv6Packet("fd72::1", "fd72::2", ipv6Fragment, cat(fragHeader(ProtoUDP, 0, true, 9), udpDatagram(5, 6, seq(64))))
	later6 := ipv6Packet("fd72::1", "fd72::2", ipv6Fragment, cat(fragHeader(ProtoUDP, 8, false, 9), seq(64)))
	build := func(t *testing.T, b builder, orig []byte) []byte {
		t.Helper()
		buf := make([]byte, 1500)
		n, err := b(buf, orig)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	a := netip.MustParseAddr
	tests := []struct {
		name string
		pkt  func(t *testing.T) []byte
		want Quote
	}{
		{"v4 unreachable, udp", func(t *testing.T) []byte { return build(t, unreach4(3), udp4) },
			Quote{Valid: true, Proto: ProtoUDP, Src: a("100.64.0.1"), Dst: a("100.64.0.2"), SrcPort: 1000, DstPort: 53}},
		{"v4 frag needed, echo", func(t *testing.T) []byte { return build(t, fragNeeded(1280), echo4) },
			Quote{Valid: true, Proto: ProtoICMPv4, Src: a("100.64.0.1"), Dst: a("100.64.0.2"), SrcPort: 7, DstPort: 7}},
		{"v6 too big, tcp", func(t *testing.T) []byte { return build(t, tooBig(1280), tcp6) },
			Quote{Valid: true, Proto: ProtoTCP, Src: a("fd72::1"), Dst: a("fd72::2"), SrcPort: 40000, DstPort: 443}},
		{"v6 unreachable, first fragment", func(t *testing.T) []byte { return build(t, unreach6(1), frag6) },
			Quote{Valid: true, Proto: ProtoUDP, Src: a("fd72::1"), Dst: a("fd72::2"), SrcPort: 5, DstPort: 6}},
		{"v6 quote of a later fragment", func(t *testing.T) []byte {
			return ipv6Packet("fd72::2", "fd72::1", ProtoICMPv6, icmpMessage(1, 4, 0, later6))
		}, Quote{}},
		{"quote cut before the ports", func(t *testing.T) []byte {
			return ipv4Packet("100.64.0.2", "100.64.0.1", ProtoICMPv4, nil, 0, icmpMessage(3, 3, 0, udp4[:22]))
		}, Quote{}},
		{"quote of the other IP version", func(t *testing.T) []byte {
			return ipv4Packet("100.64.0.2", "100.64.0.1", ProtoICMPv4, nil, 0, icmpMessage(3, 3, 0, tcp6[:48]))
		}, Quote{}},
		{"echo reply is no error", func(t *testing.T) []byte {
			return ipv4Packet("100.64.0.2", "100.64.0.1", ProtoICMPv4, nil, 0, icmpMessage(0, 0, 0, udp4))
		}, Quote{}},
		{"udp carries no quote", func(t *testing.T) []byte { return udp4 }, Quote{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var info Info
			if err := Parse(tc.pkt(t), &info); err != nil {
				t.Fatal(err)
			}
			if info.Quote != tc.want {
				t.Errorf("Quote = %+v, want %+v", info.Quote, tc.want)
			}
		})
	}
}
