package packet

import (
	"errors"
	"net/netip"
	"testing"
)

var (
	k4src = netip.MustParseAddr("198.18.7.1")
	k4dst = netip.MustParseAddr("198.18.7.2")
	k6src = netip.MustParseAddr("2001:db8:7::1")
	k6dst = netip.MustParseAddr("2001:db8:7::2")
	h4src = netip.MustParseAddr("100.64.1.2")
	h4dst = netip.MustParseAddr("100.64.3.4")
	h6src = netip.MustParseAddr("fd72:6179:6669::1")
	h6dst = netip.MustParseAddr("fd72:6179:6669::2")
)

func TestParseKernelPackets(t *testing.T) {
	v4 := func(i Info) Info { i.Version, i.Src, i.Dst = 4, k4src, k4dst; return i }
	v6 := func(i Info) Info { i.Version, i.Src, i.Dst = 6, k6src, k6dst; return i }
	tests := map[string]Info{
		"udp4":    v4(Info{Proto: ProtoUDP, Len: 57, HeaderLen: 20, SrcPort: 40000, DstPort: 53, HasTransport: true}),
		"tcp4syn": v4(Info{Proto: ProtoTCP, Len: 60, HeaderLen: 20, SrcPort: 40001, DstPort: 80, TCPFlags: TCPSyn, HasTransport: true}),
		"ping4":   v4(Info{Proto: ProtoICMPv4, Len: 36, HeaderLen: 20, ICMPType: 8, SrcPort: 0x1a6c, DstPort: 0x1a6c, HasTransport: true}),
		"opts4":   v4(Info{Proto: ProtoUDP, Len: 48, HeaderLen: 28, SrcPort: 40002, DstPort: 9999, HasTransport: true}),
		"frag4a":  v4(Info{Proto: ProtoUDP, Len: 1276, HeaderLen: 20, SrcPort: 40003, DstPort: 9999, HasTransport: true, Fragment: true}),
		"frag4b":  v4(Info{Proto: ProtoUDP, Len: 820, HeaderLen: 20, Fragment: true, FragOffset: 1256}),
		"udp6":    v6(Info{Proto: ProtoUDP, Len: 77, HeaderLen: 40, SrcPort: 40000, DstPort: 53, HasTransport: true}),
		"tcp6syn": v6(Info{Proto: ProtoTCP, Len: 80, HeaderLen: 40, SrcPort: 40001, DstPort: 80, TCPFlags: TCPSyn, HasTransport: true}),
		"ping6":   v6(Info{Proto: ProtoICMPv6, Len: 56, HeaderLen: 40, ICMPType: 128, SrcPort: 0x1a6d, DstPort: 0x1a6d, HasTransport: true}),
		"exthdr6": v6(Info{Proto: ProtoUDP, Len: 83, HeaderLen: 64, SrcPort: 40004, DstPort: 9999, HasTransport: true}),
		"frag6a":  v6(Info{Proto: ProtoUDP, Len: 1280, HeaderLen: 56, SrcPort: 40005, DstPort: 9999, HasTransport: true, Fragment: true}),
		"frag6b":  v6(Info{Proto: ProtoUDP, Len: 376, HeaderLen: 56, Fragment: true, FragOffset: 1224}),
	}
	pkts := kernelPackets(t)
	if len(pkts) != len(tests) {
		t.Fatalf("%d fixtures, %d expectations", len(pkts), len(tests))
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			var got Info
			if err := Parse(pkts[name], &got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	opts40 := make([]byte, 40) // maximal IPv4 options (IHL 15), all EOL
	udp := udpDatagram(1000, 53, []byte("query"))
	syn := tcpSegment(40000, 443, 7, 0, TCPSyn, nil)
	tests := []struct {
		name string
		pkt  []byte
		want Info
	}{
		{
			name: "v4 tcp",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", ProtoTCP, nil, 0x4000, tcpSegment(40000, 443, 1, 2, TCPAck|TCPPsh, []byte("hi"))),
			want: Info{Version: 4, Proto: ProtoTCP, Src: h4src, Dst: h4dst, Len: 42, HeaderLen: 20, SrcPort: 40000, DstPort: 443, TCPFlags: TCPAck | TCPPsh, HasTransport: true},
		},
		{
			name: "v4 max options",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, opts40, 0, udp),
			want: Info{Version: 4, Proto: ProtoUDP, Src: h4src, Dst: h4dst, Len: 60 + 13, HeaderLen: 60, SrcPort: 1000, DstPort: 53, HasTransport: true},
		},
		{
			name: "v4 trailing bytes beyond total length",
			pkt:  append(ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0, udp), 0xde, 0xad),
			want: Info{Version: 4, Proto: ProtoUDP, Src: h4src, Dst: h4dst, Len: 33, HeaderLen: 20, SrcPort: 1000, DstPort: 53, HasTransport: true},
		},
		{
			name: "v4 first fragment",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0x2000, udp),
			want: Info{Version: 4, Proto: ProtoUDP, Src: h4src, Dst: h4dst, Len: 33, HeaderLen: 20, SrcPort: 1000, DstPort: 53, HasTransport: true, Fragment: true},
		},
		{
			name: "v4 middle fragment",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", ProtoTCP, nil, 0x2000|185, syn),
			want: Info{Version: 4, Proto: ProtoTCP, Src: h4src, Dst: h4dst, Len: 40, HeaderLen: 20, Fragment: true, FragOffset: 1480},
		},
		{
			name: "v4 last fragment at maximal offset",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0x1fff, []byte{1}),
			want: Info{Version: 4, Proto: ProtoUDP, Src: h4src, Dst: h4dst, Len: 21, HeaderLen: 20, Fragment: true, FragOffset: 65528},
		},
		{
			name: "v4 truncated tcp header",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", ProtoTCP, nil, 0, syn[:19]),
			want: Info{Version: 4, Proto: ProtoTCP, Src: h4src, Dst: h4dst, Len: 39, HeaderLen: 20},
		},
		{
			name: "v4 truncated udp header",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0, udp[:7]),
			want: Info{Version: 4, Proto: ProtoUDP, Src: h4src, Dst: h4dst, Len: 27, HeaderLen: 20},
		},
		{
			name: "v4 icmp echo reply",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", ProtoICMPv4, nil, 0, icmpMessage(0, 0, 0xbeef0001, nil)),
			want: Info{Version: 4, Proto: ProtoICMPv4, Src: h4src, Dst: h4dst, Len: 28, HeaderLen: 20, SrcPort: 0xbeef, DstPort: 0xbeef, HasTransport: true},
		},
		{
			name: "v4 icmp unreachable",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", ProtoICMPv4, nil, 0, icmpMessage(3, 13, 0, seq(28))),
			want: Info{Version: 4, Proto: ProtoICMPv4, Src: h4src, Dst: h4dst, Len: 56, HeaderLen: 20, ICMPType: 3, ICMPCode: 13, HasTransport: true},
		},
		{
			name: "v4 carrying ICMPv6 is not ICMP",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", ProtoICMPv6, nil, 0, icmpMessage(128, 0, 0x00010001, nil)),
			want: Info{Version: 4, Proto: ProtoICMPv6, Src: h4src, Dst: h4dst, Len: 28, HeaderLen: 20},
		},
		{
			name: "v4 other protocol",
			pkt:  ipv4Packet("100.64.1.2", "100.64.3.4", 47, nil, 0, seq(24)),
			want: Info{Version: 4, Proto: 47, Src: h4src, Dst: h4dst, Len: 44, HeaderLen: 20},
		},
		{
			name: "v6 udp",
			pkt:  ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ProtoUDP, udp),
			want: Info{Version: 6, Proto: ProtoUDP, Src: h6src, Dst: h6dst, Len: 53, HeaderLen: 40, SrcPort: 1000, DstPort: 53, HasTransport: true},
		},
		{
			name: "v6 hop-by-hop, routing, destination options",
			pkt: ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ipv6HopByHop,
				cat(extHeader(ipv6Routing, 1), extHeader(ipv6DestOpts, 3), extHeader(ProtoTCP, 2), syn)),
			want: Info{Version: 6, Proto: ProtoTCP, Src: h6src, Dst: h6dst, Len: 40 + 48 + 20, HeaderLen: 88, SrcPort: 40000, DstPort: 443, TCPFlags: TCPSyn, HasTransport: true},
		},
		{
			name: "v6 authentication header",
			pkt:  ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ipv6AH, cat([]byte{ProtoUDP, 4, 0, 0}, make([]byte, 20), udp)),
			want: Info{Version: 6, Proto: ProtoUDP, Src: h6src, Dst: h6dst, Len: 40 + 24 + 13, HeaderLen: 64, SrcPort: 1000, DstPort: 53, HasTransport: true},
		},
		{
			name: "v6 first fragment",
			pkt:  ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ipv6Fragment, cat(fragHeader(ProtoUDP, 0, true, 9), udp)),
			want: Info{Version: 6, Proto: ProtoUDP, Src: h6src, Dst: h6dst, Len: 61, HeaderLen: 48, SrcPort: 1000, DstPort: 53, HasTransport: true, Fragment: true},
		},
		{
			name: "v6 non-first fragment stops the walk",
			pkt: ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ipv6HopByHop,
				cat(extHeader(ipv6Fragment, 1), fragHeader(ipv6DestOpts, 1448, false, 9), extHeader(ProtoUDP, 1), udp)),
			want: Info{Version: 6, Proto: ipv6DestOpts, Src: h6src, Dst: h6dst, Len: 40 + 24 + 13, HeaderLen: 56, Fragment: true, FragOffset: 1448},
		},
		{
			name: "v6 atomic fragment is not a fragment",
			pkt:  ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ipv6Fragment, cat(fragHeader(ProtoUDP, 0, false, 9), udp)),
			want: Info{Version: 6, Proto: ProtoUDP, Src: h6src, Dst: h6dst, Len: 61, HeaderLen: 48, SrcPort: 1000, DstPort: 53, HasTransport: true},
		},
		{
			name: "v6 no next header",
			pkt:  ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ipv6DestOpts, extHeader(59, 1)),
			want: Info{Version: 6, Proto: 59, Src: h6src, Dst: h6dst, Len: 48, HeaderLen: 48},
		},
		{
			name: "v6 empty payload",
			pkt:  ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", 59, nil),
			want: Info{Version: 6, Proto: 59, Src: h6src, Dst: h6dst, Len: 40, HeaderLen: 40},
		},
		{
			name: "v6 icmp echo reply",
			pkt:  ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ProtoICMPv6, icmpMessage(129, 0, 0x12340007, []byte("x"))),
			want: Info{Version: 6, Proto: ProtoICMPv6, Src: h6src, Dst: h6dst, Len: 49, HeaderLen: 40, ICMPType: 129, SrcPort: 0x1234, DstPort: 0x1234, HasTransport: true},
		},
		{
			name: "v6 icmp packet too big",
			pkt:  ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ProtoICMPv6, icmpMessage(2, 0, 1280, seq(48))),
			want: Info{Version: 6, Proto: ProtoICMPv6, Src: h6src, Dst: h6dst, Len: 96, HeaderLen: 40, ICMPType: 2, HasTransport: true},
		},
		{
			name: "v6 carrying ICMPv4 is not ICMP",
			pkt:  ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ProtoICMPv4, icmpMessage(8, 0, 0x00010001, nil)),
			want: Info{Version: 6, Proto: ProtoICMPv4, Src: h6src, Dst: h6dst, Len: 48, HeaderLen: 40},
		},
		{
			name: "v6 truncated icmp",
			pkt:  ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ProtoICMPv6, []byte{128, 0, 0, 0, 0, 1, 0}),
			want: Info{Version: 6, Proto: ProtoICMPv6, Src: h6src, Dst: h6dst, Len: 47, HeaderLen: 40},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Info
			if err := Parse(tt.pkt, &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	v4 := func(f func(b []byte)) []byte {
		b := ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0, udpDatagram(1, 2, nil))
		f(b)
		return b
	}
	v6 := ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ProtoUDP, udpDatagram(1, 2, nil))
	chain := func(n int) []byte { // n destination options headers, then UDP
		var p []byte
		for i := 0; i < n; i++ {
			nh := byte(ipv6DestOpts)
			if i == n-1 {
				nh = ProtoUDP
			}
			p = append(p, extHeader(nh, 1)...)
		}
		return ipv6Packet("fd72:6179:6669::1", "fd72:6179:6669::2", ipv6DestOpts, cat(p, udpDatagram(1, 2, nil)))
	}
	tests := []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, ErrTooShort},
		{"v4 short header", v4(func([]byte) {})[:19], ErrTooShort},
		{"version 0", []byte{0x05, 0, 0, 20}, ErrBadVersion},
		{"version 5", v4(func(b []byte) { b[0] = 0x55 }), ErrBadVersion},
		{"v4 IHL 4", v4(func(b []byte) { b[0] = 0x44 }), ErrBadLength},
		{"v4 IHL beyond total", v4(func(b []byte) { b[0] = 0x4f }), ErrBadLength},
		{"v4 total 0", v4(func(b []byte) { b[2], b[3] = 0, 0 }), ErrBadLength},
		{"v4 total below header", v4(func(b []byte) { b[2], b[3] = 0, 19 }), ErrBadLength},
		{"v4 total beyond buffer", v4(func(b []byte) { b[3]++ }), ErrBadLength},
		{"v4 truncated buffer", v4(func([]byte) {})[:27], ErrBadLength},
		{"v6 short header", v6[:39], ErrTooShort},
		{"v6 payload beyond buffer", v6[:47], ErrBadLength},
		{"v6 truncated extension header", ipv6Packet("::1", "::2", ipv6DestOpts, make([]byte, 7)), ErrBadExtHeader},
		{"v6 extension length beyond packet", ipv6Packet("::1", "::2", ipv6Routing, extHeader(ProtoUDP, 2)[:15]), ErrBadExtHeader},
		{"v6 extension beyond payload length", func() []byte {
			b := ipv6Packet("::1", "::2", ipv6DestOpts, extHeader(ProtoUDP, 2))
			b[5] = 8 // payload length 8, header says 16
			return b
		}(), ErrBadExtHeader},
		{"v6 AH beyond packet", ipv6Packet("::1", "::2", ipv6AH, []byte{ProtoUDP, 10, 0, 0, 0, 0, 0, 0}), ErrBadExtHeader},
		{"v6 truncated fragment header", ipv6Packet("::1", "::2", ipv6Fragment, fragHeader(ProtoUDP, 0, true, 1)[:6]), ErrBadExtHeader},
		{"v6 hop-by-hop not first", ipv6Packet("::1", "::2", ipv6DestOpts, cat(extHeader(ipv6HopByHop, 1), extHeader(ProtoUDP, 1))), ErrBadExtHeader},
		{"v6 too many extension headers", chain(MaxExtHeaders + 1), ErrTooManyExtHeaders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var info Info
			info.Len = 12345 // must be reset
			err := Parse(tt.pkt, &info)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %v, want %v", err, tt.want)
			}
			if err == tt.want && info.Len == 12345 {
				t.Errorf("Parse did not reset info")
			}
		})
	}
	// The limit itself is fine.
	var info Info
	if err := Parse(chain(MaxExtHeaders), &info); err != nil || info.Proto != ProtoUDP || info.HeaderLen != 40+8*MaxExtHeaders {
		t.Errorf("Parse(%d extension headers) = %v, %+v", MaxExtHeaders, err, info)
	}
}

func TestPeekAddrs(t *testing.T) {
	tests := []struct {
		name     string
		pkt      []byte
		src, dst netip.Addr
		ok       bool
	}{
		{"v4", kernelPacket(t, "udp4"), k4src, k4dst, true},
		{"v4 header only", kernelPacket(t, "udp4")[:20], k4src, k4dst, true},
		{"v4 short", kernelPacket(t, "udp4")[:19], netip.Addr{}, netip.Addr{}, false},
		{"v6", kernelPacket(t, "tcp6syn"), k6src, k6dst, true},
		{"v6 header only", kernelPacket(t, "tcp6syn")[:40], k6src, k6dst, true},
		{"v6 short", kernelPacket(t, "tcp6syn")[:39], netip.Addr{}, netip.Addr{}, false},
		{"empty", nil, netip.Addr{}, netip.Addr{}, false},
		{"bad version", make([]byte, 40), netip.Addr{}, netip.Addr{}, false},
	}
	for _, tt := range tests {
		src, dst, ok := PeekAddrs(tt.pkt)
		if src != tt.src || dst != tt.dst || ok != tt.ok {
			t.Errorf("%s: PeekAddrs = %v, %v, %v; want %v, %v, %v", tt.name, src, dst, ok, tt.src, tt.dst, tt.ok)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	for name, pkt := range kernelPackets(t) {
		var info Info
		if n := testing.AllocsPerRun(100, func() { _ = Parse(pkt, &info) }); n != 0 {
			t.Errorf("Parse(%s): %v allocations", name, n)
		}
		if n := testing.AllocsPerRun(100, func() { _, _, _ = PeekAddrs(pkt) }); n != 0 {
			t.Errorf("PeekAddrs(%s): %v allocations", name, n)
		}
	}
	var info Info
	if n := testing.AllocsPerRun(100, func() { _ = Parse([]byte{0x45}, &info) }); n != 0 {
		t.Errorf("Parse error path: %v allocations", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, pkt := range kernelPackets(f) {
		f.Add(pkt)
	}
	f.Add(ipv6Packet("::1", "::2", ipv6HopByHop,
		cat(extHeader(ipv6Routing, 1), fragHeader(ipv6DestOpts, 0, true, 1), extHeader(ipv6AH, 1), []byte{ProtoTCP, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, tcpSegment(1, 2, 3, 4, TCPSyn, nil))))
	f.Add(ipv4Packet("10.0.0.1", "10.0.0.2", ProtoICMPv4, []byte{1, 1, 1, 0}, 0x2000, icmpMessage(8, 0, 0x10002, nil)))
	f.Add([]byte{0x45})
	f.Add([]byte{0x60})
	f.Add(ipv4Packet("10.0.0.2", "10.0.0.1", ProtoICMPv4, nil, 0, icmpMessage(3, 3, 0,
		ipv4Packet("10.0.0.1", "10.0.0.2", ProtoUDP, nil, 0, udpDatagram(1, 2, nil)))))
	f.Add(ipv6Packet("::2", "::1", ProtoICMPv6, icmpMessage(2, 0, 1280,
		ipv6Packet("::1", "::2", ipv6DestOpts, cat(extHeader(ProtoTCP, 1), tcpSegment(1, 2, 3, 4, TCPSyn, nil))))))
	f.Fuzz(func(t *testing.T, b []byte) {
		var info Info
		err := Parse(b, &info)
		src, dst, ok := PeekAddrs(b)
		if err != nil {
			return
		}
		if info.HeaderLen > info.Len || info.Len > len(b) {
			t.Fatalf("HeaderLen %d, Len %d, len(b) %d", info.HeaderLen, info.Len, len(b))
		}
		if !ok || src != info.Src || dst != info.Dst {
			t.Fatalf("PeekAddrs = %v, %v, %v; Parse got %v, %v", src, dst, ok, info.Src, info.Dst)
		}
		if info.Version != 4 && info.Version != 6 {
			t.Fatalf("Version %d", info.Version)
		}
		if info.HasTransport && info.FragOffset != 0 {
			t.Fatalf("transport fields for a non-first fragment: %+v", info)
		}
		if !info.Fragment && info.FragOffset != 0 {
			t.Fatalf("offset without fragment: %+v", info)
		}
		if info.Quote.Valid && !IsICMPError(&info) {
			t.Fatalf("quote in a packet that is no ICMP error: %+v", info)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"tcp4syn", "udp6", "exthdr6", "frag6b"} {
		pkt := kernelPacket(b, name)
		b.Run(name, func(b *testing.B) {
			var info Info
			for b.Loop() {
				if err := Parse(pkt, &info); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPeekAddrs(b *testing.B) {
	pkt := kernelPacket(b, "udp6")
	for b.Loop() {
		if _, _, ok := PeekAddrs(pkt); !ok {
			b.Fatal("not ok")
		}
	}
}
