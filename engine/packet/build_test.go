package packet

import (
	"bytes"
	"testing"
)

// namedBuilders lists every builder with fixed arguments, for the
// allocation test, the fuzzer and the benchmarks.
func namedBuilders(payload []byte, mtu int, code uint8) []struct {
	name string
	b    builder
} {
	return []struct {
		name string
		b    builder
	}{
		{"ICMPv4FragNeeded", fragNeeded(mtu)},
		{"ICMPv4Unreachable", unreach4(code)},
		{"ICMPv6PacketTooBig", tooBig(mtu)},
		{"ICMPv6Unreachable", unreach6(code)},
		{"TCPReset", BuildTCPReset},
		{"UDPReply", func(dst, orig []byte) (int, error) { return BuildUDPReply(dst, orig, payload) }},
	}
}

func TestBuildersAllocs(t *testing.T) {
	origs := map[string][]byte{
		"ICMPv4FragNeeded":   kernelPacket(t, "frag4a"),
		"ICMPv4Unreachable":  kernelPacket(t, "tcp4syn"),
		"ICMPv6PacketTooBig": kernelPacket(t, "frag6a"),
		"ICMPv6Unreachable":  kernelPacket(t, "exthdr6"),
		"TCPReset":           kernelPacket(t, "tcp6syn"),
		"UDPReply":           kernelPacket(t, "udp4"),
	}
	dst := make([]byte, 2000)
	for _, nb := range namedBuilders(seq(100), 1280, 1) {
		orig := origs[nb.name]
		if _, err := nb.b(dst, orig); err != nil {
			t.Fatalf("%s: %v", nb.name, err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = nb.b(dst, orig) }); n != 0 {
			t.Errorf("%s: %v allocations", nb.name, n)
		}
		// Refusals and failures are on the per-packet path too.
		bad := kernelPacket(t, "frag6b")
		if n := testing.AllocsPerRun(100, func() { _, _ = nb.b(dst, bad) }); n != 0 {
			t.Errorf("%s error path: %v allocations", nb.name, n)
		}
	}
	q := kernelPacket(t, "udp6")
	var info Info
	if err := Parse(q, &info); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = UDPPayload(q, &info) }); n != 0 {
		t.Errorf("UDPPayload: %v allocations", n)
	}
}

// FuzzBuilders feeds arbitrary packets to every builder: none may panic,
// and every reply must parse back, verify with the independent checker,
// go back to the original's source, and be the same built in place.
func FuzzBuilders(f *testing.F) {
	for _, pkt := range kernelPackets(f) {
		f.Add(pkt, uint16(2000), uint16(1280), uint8(1), uint16(40))
		f.Add(pkt, uint16(len(pkt)), uint16(576), uint8(13), uint16(0))
	}
	f.Add(ipv4Packet("10.0.0.1", "10.0.0.2", ProtoTCP, seq(8), 0, tcpSegment(1, 2, 3, 4, TCPSyn|TCPFin, seq(9))), uint16(60), uint16(68), uint8(3), uint16(1))
	f.Add(ipv6Packet("fd72::1", "ff02::1", ipv6DestOpts, cat(extHeader(ProtoUDP, 1), udpDatagram(1, 2, nil))), uint16(100), uint16(1500), uint8(4), uint16(3))
	f.Fuzz(func(t *testing.T, orig []byte, dstLen, mtu uint16, code uint8, payloadLen uint16) {
		dstLen %= 4096
		payload := seq(int(payloadLen % 2048))
		var o Info
		origErr := Parse(orig, &o)
		for _, nb := range namedBuilders(payload, int(mtu), code) {
			reply, err := buildBoth(t, nb.b, orig, int(dstLen))
			if err != nil {
				continue
			}
			if origErr != nil {
				t.Fatalf("%s answered an unparseable packet (%v)", nb.name, origErr)
			}
			checkBuilt(t, reply)
			var info Info
			if err := Parse(reply, &info); err != nil {
				t.Fatalf("%s: Parse(reply): %v", nb.name, err)
			}
			if info.Len != len(reply) || info.Version != o.Version || info.Dst != o.Src || o.FragOffset != 0 {
				t.Fatalf("%s: reply %+v to %+v", nb.name, info, o)
			}
			if hl := ipHeaderLen(info.Version) + 8; info.Proto == ProtoICMPv4 || info.Proto == ProtoICMPv6 {
				if !bytes.Equal(reply[hl:], orig[:len(reply)-hl]) || len(reply) > 576 && info.Version == 4 || len(reply) > 1280 {
					t.Fatalf("%s: bad quote in %d-byte reply", nb.name, len(reply))
				}
			}
		}
	})
}

func BenchmarkBuild(b *testing.B) {
	origs := map[string][]byte{
		"ICMPv4FragNeeded":   kernelPacket(b, "frag4a"),
		"ICMPv4Unreachable":  kernelPacket(b, "tcp4syn"),
		"ICMPv6PacketTooBig": kernelPacket(b, "frag6a"),
		"ICMPv6Unreachable":  kernelPacket(b, "exthdr6"),
		"TCPReset":           kernelPacket(b, "tcp6syn"),
		"UDPReply":           kernelPacket(b, "udp4"),
	}
	dst := make([]byte, 2000)
	for _, nb := range namedBuilders(seq(100), 1280, 1) {
		orig := origs[nb.name]
		b.Run(nb.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := nb.b(dst, orig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
