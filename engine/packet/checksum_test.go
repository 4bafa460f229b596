package packet

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestChecksumKnownAnswer(t *testing.T) {
	// The worked example of Wikipedia's "Internet checksum" article: an
	// IPv4 header whose checksum is 0xb861.
	hdr, _ := hex.DecodeString("450000730000400040110000c0a80001c0a800c7")
	if got := Checksum(hdr, 0); got != 0xb861 {
		t.Errorf("Checksum = %#04x, want 0xb861", got)
	}
	binary.BigEndian.PutUint16(hdr[10:12], 0xb861)
	if got := Checksum(hdr, 0); got != 0 {
		t.Errorf("Checksum over a correct header = %#04x, want 0", got)
	}
	// RFC 1071 section 3's example words: 0001 f203 f4f5 f6f7 sum to ddf2.
	words := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := partialSum(words, 0); got != 0xddf2 {
		t.Errorf("partialSum(RFC 1071 example) = %#04x, want 0xddf2", got)
	}
}

// TestChecksumKernelPackets verifies every checksum in packets the Linux
// kernel built, including the UDP checksum of a datagram split into two
// IPv4 fragments.
func TestChecksumKernelPackets(t *testing.T) {
	pkts := kernelPackets(t)
	for name, pkt := range pkts {
		var info Info
		if err := Parse(pkt, &info); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.Version == 4 && Checksum(pkt[:info.HeaderLen], 0) != 0 {
			t.Errorf("%s: IPv4 header checksum does not verify", name)
		}
		if info.Fragment {
			continue
		}
		l4 := pkt[info.HeaderLen:info.Len]
		var initial uint32
		if info.Proto != ProtoICMPv4 {
			initial = PseudoHeaderSum(info.Proto, info.Src, info.Dst, len(l4))
		}
		if got := Checksum(l4, initial); got != 0 {
			t.Errorf("%s: transport checksum does not verify (%#04x)", name, got)
		}
	}

	var a, b Info
	fa, fb := pkts["frag4a"], pkts["frag4b"]
	if err := Parse(fa, &a); err != nil {
		t.Fatal(err)
	}
	if err := Parse(fb, &b); err != nil {
		t.Fatal(err)
	}
	first, last := fa[a.HeaderLen:a.Len], fb[b.HeaderLen:b.Len]
	if len(first) != int(b.FragOffset) {
		t.Fatalf("fragments do not join: %d bytes then offset %d", len(first), b.FragOffset)
	}
	psum := PseudoHeaderSum(ProtoUDP, a.Src, a.Dst, len(first)+len(last))
	if got := Checksum(last, partialSum(first, psum)); got != 0 {
		t.Errorf("reassembled UDP checksum does not verify (%#04x)", got)
	}
}

func TestChecksumMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 2100)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= 300; n++ {
		for _, start := range []int{0, 1, 3} {
			b := buf[start : start+n]
			if got, want := Checksum(b, 0), ^naiveSum(b); got != want {
				t.Fatalf("Checksum(%d bytes at %d) = %#04x, want %#04x", n, start, got, want)
			}
		}
	}
	// All ones and long buffers stress the carries.
	ff := make([]byte, 2049)
	for i := range ff {
		ff[i] = 0xff
	}
	for _, b := range [][]byte{ff, ff[:2048], buf, make([]byte, 65535)} {
		if got, want := Checksum(b, 0), ^naiveSum(b); got != want {
			t.Errorf("Checksum(%d bytes) = %#04x, want %#04x", len(b), got, want)
		}
	}
	// Chained sums over even-length pieces equal one sum.
	for i := 0; i < 100; i++ {
		cut := 2 * r.IntN(len(buf)/2)
		if got, want := Checksum(buf[cut:], partialSum(buf[:cut], 0)), Checksum(buf, 0); got != want {
			t.Fatalf("chained at %d = %#04x, want %#04x", cut, got, want)
		}
	}
	// initial is any partial sum, even one not yet folded.
	if got, want := Checksum(buf[:10], 0xffffffff), ^naiveSum([]byte{0xff, 0xff, 0xff, 0xff}, buf[:10]); got != want {
		t.Errorf("Checksum with initial 0xffffffff = %#04x, want %#04x", got, want)
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	tests := []struct {
		src, dst string
		proto    uint8
		length   int
	}{
		{"100.64.1.2", "100.64.3.4", ProtoUDP, 8},
		{"255.255.255.255", "255.255.255.255", ProtoTCP, 65535},
		{"fd72:6179:6669::1", "fd72:6179:6669:ffff::2", ProtoICMPv6, 1232},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ProtoTCP, 70000},
	}
	for _, tt := range tests {
		src, dst := netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst)
		var hdr []byte
		if src.Is4() {
			hdr = ipv4Packet(tt.src, tt.dst, tt.proto, nil, 0, nil)
		} else {
			hdr = ipv6Packet(tt.src, tt.dst, tt.proto, nil)
		}
		want := naiveSum(naivePseudo(hdr, tt.proto, tt.length))
		if got := PseudoHeaderSum(tt.proto, src, dst, tt.length); fold(uint64(got)) != want && !(want == 0xffff && got == 0) {
			t.Errorf("PseudoHeaderSum(%v) = %#04x, want %#04x", tt, got, want)
		}
		if got := pseudoSum(hdr, tt.proto, tt.length); got != PseudoHeaderSum(tt.proto, src, dst, tt.length) {
			t.Errorf("pseudoSum(%v) = %#04x, differs from PseudoHeaderSum", tt, got)
		}
	}
}

func TestChecksumAllocs(t *testing.T) {
	pkt := kernelPacket(t, "frag6a")
	if n := testing.AllocsPerRun(100, func() {
		_ = Checksum(pkt, PseudoHeaderSum(ProtoUDP, k6src, k6dst, len(pkt)))
	}); n != 0 {
		t.Errorf("Checksum: %v allocations", n)
	}
}

func BenchmarkChecksum(b *testing.B) {
	buf := make([]byte, 1500)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		_ = Checksum(buf, 0)
	}
}

// partialSum adds the 16-bit big-endian words of b to the partial sum initial and
// returns the new partial sum. An odd-length b is padded with one zero
// byte, so in a chain only the last slice may have odd length.
func partialSum(b []byte, initial uint32) uint32 {
	return uint32(fold(sum(b, uint64(initial))))
}
