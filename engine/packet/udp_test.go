package packet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestBuildUDPReply(t *testing.T) {
	answer := []byte("\x12\x34\x81\x80 a DNS answer, say")
	tests := []struct {
		name    string
		orig    []byte
		payload []byte
	}{
		{"v4 kernel DNS query", kernelPacket(t, "udp4"), answer},
		{"v6 kernel DNS query", kernelPacket(t, "udp6"), answer},
		{"v4 with options", kernelPacket(t, "opts4"), answer},
		{"v6 with extension headers", kernelPacket(t, "exthdr6"), answer},
		{"v4 first fragment", kernelPacket(t, "frag4a"), seq(1500)},
		{"v6 first fragment", kernelPacket(t, "frag6a"), seq(1)},
		{"v4 empty payload", kernelPacket(t, "udp4"), nil},
		{"v6 odd payload", kernelPacket(t, "udp6"), seq(333)},
		{"v4 largest payload", kernelPacket(t, "udp4"), seq(65535 - 28)},
		{"v6 largest payload", kernelPacket(t, "udp6"), seq(65535 - 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig Info
			if err := Parse(tt.orig, &orig); err != nil {
				t.Fatal(err)
			}
			build := func(dst, o []byte) (int, error) { return BuildUDPReply(dst, o, tt.payload) }
			reply, err := buildBoth(t, build, tt.orig, 70000)
			if err != nil {
				t.Fatal(err)
			}
			proto, dgram := checkBuilt(t, reply)
			if proto != ProtoUDP || len(dgram) != 8+len(tt.payload) {
				t.Fatalf("proto %d, %d-byte datagram", proto, len(dgram))
			}
			var info Info
			if err := Parse(reply, &info); err != nil {
				t.Fatalf("Parse(reply): %v", err)
			}
			if info.Version != orig.Version || info.Src != orig.Dst || info.Dst != orig.Src ||
				info.SrcPort != orig.DstPort || info.DstPort != orig.SrcPort || info.Len != len(reply) {
				t.Errorf("reply parses as %+v, original %+v", info, orig)
			}
			if got := binary.BigEndian.Uint16(dgram[4:6]); int(got) != len(dgram) {
				t.Errorf("UDP length %d, want %d", got, len(dgram))
			}
			p, err := UDPPayload(reply, &info)
			if err != nil || !bytes.Equal(p, tt.payload) {
				t.Errorf("UDPPayload(reply) = %d bytes, %v", len(p), err)
			}
		})
	}
}

func TestBuildUDPReplyPayloadInPlace(t *testing.T) {
	// Magic DNS writes its answer where the reply's payload goes, then
	// builds the headers around it, all in the query's buffer.
	for _, name := range []string{"udp4", "udp6", "exthdr6"} {
		orig := kernelPacket(t, name)
		answer := []byte("an answer longer than the question it answers, by quite a lot")
		want := make([]byte, 200)
		n, err := BuildUDPReply(want, orig, answer)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 200)
		copy(buf, orig)
		off := 28
		if orig[0]>>4 == 6 {
			off = 48
		}
		// exthdr6's payload starts at 72, so this also moves data left.
		payload := buf[off : off+len(answer)]
		if name == "exthdr6" {
			payload = buf[72 : 72+len(answer)]
		}
		copy(payload, answer)
		n2, err := BuildUDPReply(buf, buf[:len(orig)], payload)
		if err != nil || !bytes.Equal(buf[:n2], want[:n]) {
			t.Errorf("%s: in place: %v, %x\nwant %x", name, err, buf[:n2], want[:n])
		}
	}
}

func TestBuildUDPReplyZeroChecksum(t *testing.T) {
	// Find the two payload bytes that make the checksum compute to zero,
	// which UDP must send as 0xffff.
	for _, name := range []string{"udp4", "udp6"} {
		orig := kernelPacket(t, name)
		dst := make([]byte, 100)
		n, err := BuildUDPReply(dst, orig, []byte{0, 0})
		if err != nil {
			t.Fatal(err)
		}
		c := binary.BigEndian.Uint16(dst[n-4 : n-2])
		if c == 0xffff {
			t.Fatalf("%s: unlucky fixture", name)
		}
		n, err = BuildUDPReply(dst, orig, []byte{byte(c >> 8), byte(c)})
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.BigEndian.Uint16(dst[n-4 : n-2]); got != 0xffff {
			t.Errorf("%s: checksum field %#04x, want 0xffff", name, got)
		}
		checkBuilt(t, dst[:n])
	}
}

func TestBuildUDPReplyRefused(t *testing.T) {
	udp := udpDatagram(5353, 53, seq(12))
	tests := []struct {
		name    string
		orig    []byte
		payload []byte
		dstLen  int
		want    error
	}{
		{"v4 non-first fragment", kernelPacket(t, "frag4b"), nil, 100, ErrNoReply},
		{"v6 non-first fragment", kernelPacket(t, "frag6b"), nil, 100, ErrNoReply},
		{"multicast destination", ipv4Packet("100.64.1.2", "224.0.0.251", ProtoUDP, nil, 0, udp), nil, 100, ErrNoReply},
		{"v6 multicast destination", ipv6Packet("fd72::1", "ff02::fb", ProtoUDP, udp), nil, 100, ErrNoReply},
		{"broadcast destination", ipv4Packet("100.64.1.2", "255.255.255.255", ProtoUDP, nil, 0, udp), nil, 100, ErrNoReply},
		{"unspecified source", ipv4Packet("0.0.0.0", "100.64.3.4", ProtoUDP, nil, 0, udp), nil, 100, ErrNoReply},
		{"TCP", kernelPacket(t, "tcp4syn"), nil, 100, ErrWrongProto},
		{"ICMP", kernelPacket(t, "ping6"), nil, 100, ErrWrongProto},
		{"truncated UDP header", ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0, udp[:7]), nil, 100, ErrBadTransport},
		{"v4 payload too large", kernelPacket(t, "udp4"), make([]byte, 65535-27), 70000, ErrTooLarge},
		{"v6 payload too large", kernelPacket(t, "udp6"), make([]byte, 65535-7), 70000, ErrTooLarge},
		{"v4 short buffer", kernelPacket(t, "udp4"), seq(10), 37, ErrShortBuffer},
		{"v6 short buffer", kernelPacket(t, "udp6"), seq(10), 57, ErrShortBuffer},
		{"unparseable", []byte{0x70}, nil, 100, ErrBadVersion},
	}
	for _, tt := range tests {
		_, err := BuildUDPReply(make([]byte, tt.dstLen), tt.orig, tt.payload)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestUDPPayload(t *testing.T) {
	parse := func(b []byte) *Info {
		var info Info
		if err := Parse(b, &info); err != nil {
			t.Fatal(err)
		}
		return &info
	}
	q4, q6 := kernelPacket(t, "udp4"), kernelPacket(t, "udp6")
	if p, err := UDPPayload(q4, parse(q4)); err != nil || !bytes.Equal(p, q4[28:]) {
		t.Errorf("udp4: %x, %v", p, err)
	}
	if p, err := UDPPayload(q6, parse(q6)); err != nil || !bytes.Equal(p, q6[48:]) {
		t.Errorf("udp6: %x, %v", p, err)
	}
	// The UDP length, not the IP length, bounds the payload.
	short := ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0, udpDatagram(1, 2, seq(10)))
	short[20+5] -= 4
	if p, err := UDPPayload(short, parse(short)); err != nil || !bytes.Equal(p, seq(6)) {
		t.Errorf("short UDP length: %x, %v", p, err)
	}
	bad := func(udpLen uint16) []byte {
		b := ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0, udpDatagram(1, 2, seq(10)))
		binary.BigEndian.PutUint16(b[24:26], udpLen)
		return b
	}
	tests := []struct {
		name string
		pkt  []byte
		want error
	}{
		{"UDP length below header", bad(7), ErrBadTransport},
		{"UDP length beyond packet", bad(19), ErrBadTransport},
		{"truncated header", ipv4Packet("100.64.1.2", "100.64.3.4", ProtoUDP, nil, 0, seq(7)), ErrBadTransport},
		{"first fragment", kernelPacket(t, "frag4a"), ErrFragment},
		{"later fragment", kernelPacket(t, "frag6b"), ErrFragment},
		{"TCP", kernelPacket(t, "tcp6syn"), ErrWrongProto},
	}
	for _, tt := range tests {
		if _, err := UDPPayload(tt.pkt, parse(tt.pkt)); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}
