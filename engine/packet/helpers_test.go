package packet

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Test helpers: packet constructors written independently of the code
// under test, a deliberately naive checksum, and the kernel fixtures.

// naiveSum is a plain RFC 1071 sum over the concatenation of chunks, one
// 16-bit word at a time, sharing no code with Sum.
func naiveSum(chunks ...[]byte) uint16 {
	var buf []byte
	for _, c := range chunks {
		buf = append(buf, c...)
	}
	if len(buf)%2 == 1 {
		buf = append(buf, 0)
	}
	var s uint32
	for i := 0; i < len(buf); i += 2 {
		s += uint32(buf[i])<<8 | uint32(buf[i+1])
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// naivePseudo returns the pseudo header of the IPv4 or IPv6 packet pkt
// (whose header has no options) for a transport of the given length.
func naivePseudo(pkt []byte, proto byte, length int) []byte {
	if pkt[0]>>4 == 4 {
		p := append([]byte{}, pkt[12:20]...)
		return append(p, 0, proto, byte(length>>8), byte(length))
	}
	p := append([]byte{}, pkt[8:40]...)
	return append(p, byte(length>>24), byte(length>>16), byte(length>>8), byte(length), 0, 0, 0, proto)
}

// checkBuilt verifies a packet built by this package with an independent
// parser (golang.org/x/net) and the naive checksum: the IP header, the
// IPv4 header checksum and the transport checksum. It returns the
// transport bytes.
func checkBuilt(t *testing.T, pkt []byte) (proto int, transport []byte) {
	t.Helper()
	switch pkt[0] >> 4 {
	case 4:
		h, err := ipv4.ParseHeader(pkt)
		if err != nil {
			t.Fatalf("x/net ipv4.ParseHeader: %v", err)
		}
		if h.Len != 20 || h.TotalLen != len(pkt) || h.TTL != 64 || h.Flags != ipv4.DontFragment || h.FragOff != 0 {
			t.Fatalf("bad IPv4 header %v for %d bytes", h, len(pkt))
		}
		if naiveSum(pkt[:20]) != 0xffff {
			t.Fatalf("bad IPv4 header checksum in %x", pkt[:20])
		}
		proto, transport = h.Protocol, pkt[20:]
	case 6:
		h, err := ipv6.ParseHeader(pkt)
		if err != nil {
			t.Fatalf("x/net ipv6.ParseHeader: %v", err)
		}
		if h.PayloadLen != len(pkt)-40 || h.HopLimit != 64 || h.TrafficClass != 0 || h.FlowLabel != 0 {
			t.Fatalf("bad IPv6 header %v for %d bytes", h, len(pkt))
		}
		proto, transport = h.NextHeader, pkt[40:]
	default:
		t.Fatalf("bad version in %x", pkt)
	}
	var psh []byte
	if proto != ProtoICMPv4 {
		psh = naivePseudo(pkt, byte(proto), len(transport))
	}
	if s := naiveSum(psh, transport); s != 0xffff {
		t.Fatalf("bad transport checksum (proto %d): sum %#04x", proto, s)
	}
	return proto, transport
}

// ipv4Packet returns an IPv4 packet with a correct header checksum. frag is
// the flags+offset field; options are padded by the caller.
func ipv4Packet(src, dst string, proto byte, options []byte, frag uint16, payload []byte) []byte {
	hl := 20 + len(options)
	b := make([]byte, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:6], 0x1234)
	binary.BigEndian.PutUint16(b[6:8], frag)
	b[8] = 64
	b[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	copy(b[20:], options)
	binary.BigEndian.PutUint16(b[10:12], ^naiveSum(b[:hl]))
	copy(b[hl:], payload)
	return b
}

// ipv6Packet returns an IPv6 packet whose payload (extension headers
// included) is payload.
func ipv6Packet(src, dst string, nextHeader byte, payload []byte) []byte {
	b := make([]byte, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:6], uint16(len(payload)))
	b[6] = nextHeader
	b[7] = 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	copy(b[40:], payload)
	return b
}

// extHeader returns a generic IPv6 extension header (hop-by-hop, routing,
// destination options) of 8*units bytes, filled with PadN.
func extHeader(nextHeader byte, units int) []byte {
	b := make([]byte, 8*units)
	b[0] = nextHeader
	b[1] = byte(units - 1)
	b[2], b[3] = 1, byte(len(b)-4) // PadN covering the rest
	return b
}

// fragHeader returns an IPv6 fragment header.
func fragHeader(nextHeader byte, offset int, more bool, id uint32) []byte {
	b := make([]byte, 8)
	b[0] = nextHeader
	f := uint16(offset)
	if more {
		f |= 1
	}
	binary.BigEndian.PutUint16(b[2:4], f)
	binary.BigEndian.PutUint32(b[4:8], id)
	return b
}

func tcpSegment(sport, dport uint16, seq, ack uint32, flags byte, payload []byte) []byte {
	b := make([]byte, 20+len(payload))
	binary.BigEndian.PutUint16(b[0:2], sport)
	binary.BigEndian.PutUint16(b[2:4], dport)
	binary.BigEndian.PutUint32(b[4:8], seq)
	binary.BigEndian.PutUint32(b[8:12], ack)
	b[12] = 5 << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:16], 65535)
	copy(b[20:], payload)
	return b
}

func udpDatagram(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:2], sport)
	binary.BigEndian.PutUint16(b[2:4], dport)
	binary.BigEndian.PutUint16(b[4:6], uint16(len(b)))
	copy(b[8:], payload)
	return b
}

func icmpMessage(typ, code byte, rest uint32, body []byte) []byte {
	b := make([]byte, 8+len(body))
	b[0], b[1] = typ, code
	binary.BigEndian.PutUint32(b[4:8], rest)
	copy(b[8:], body)
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// kernelPackets loads testdata/kernel-packets.txt.
func kernelPackets(tb testing.TB) map[string][]byte {
	tb.Helper()
	f, err := os.Open("testdata/kernel-packets.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	m := make(map[string][]byte)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, h, ok := strings.Cut(line, " ")
		if !ok {
			tb.Fatalf("bad fixture line %q", line)
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			tb.Fatalf("fixture %s: %v", name, err)
		}
		m[name] = b
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return m
}

func kernelPacket(tb testing.TB, name string) []byte {
	tb.Helper()
	b, ok := kernelPackets(tb)[name]
	if !ok {
		tb.Fatalf("no fixture %q", name)
	}
	return b
}
