package magicdns

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

func addQuerySeeds(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  uint16
	}{
		{"laptop.home.ray.", dns.TypeA, 0},
		{"LAPTOP.ray.", dns.TypeAAAA, 1232},
		{"nas.ray.", dns.TypeANY, 4096},
		{"nope.ray.", dns.TypeMX, 0},
		{"2.1.64.100.in-addr.arpa.", dns.TypePTR, 0},
		{mustReverse("fd72:6179:6669:0:1::2"), dns.TypePTR, 512},
		{"example.com.", dns.TypeA, 0},
	} {
		f.Add(query(f, q.name, q.qtype, q.edns))
	}
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1}) // compression loop
	f.Add([]byte{0x12, 0x34, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
}

// FuzzHandle checks that no query crashes the resolver and that every
// answer parses, echoes the query's ID and respects the size limit.
func FuzzHandle(f *testing.F) {
	addQuerySeeds(f)
	r := newTestResolver(f, Config{})
	f.Fuzz(func(t *testing.T, q []byte) {
		resp := make([]byte, 4096)
		n, forward, err := r.Handle(q, resp)
		if err != nil || forward {
			if n != 0 {
				t.Fatalf("n = %d with forward %v, err %v", n, forward, err)
			}
			return
		}
		limit := MinUDPSize
		if m := new(dns.Msg); m.Unpack(q) == nil {
			if opt := m.IsEdns0(); opt != nil {
				limit = clientSize(opt.UDPSize())
			}
		}
		if n > limit {
			t.Fatalf("%d-byte answer over the %d-byte limit", n, limit)
		}
		m := new(dns.Msg)
		if err := m.Unpack(resp[:n]); err != nil {
			t.Fatalf("answer does not parse: %v", err)
		}
		if !m.Response || m.Id != uint16(q[0])<<8|uint16(q[1]) {
			t.Fatalf("answer header %+v", m.MsgHdr)
		}
	})
}

// FuzzHandlePacket wraps arbitrary payloads in UDP packets to the
// resolver and checks the reply packets.
func FuzzHandlePacket(f *testing.F) {
	addQuerySeeds(f)
	r := newTestResolver(f, Config{})
	client := netip.MustParseAddrPort("100.64.1.2:5353")
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > 1400 {
			return
		}
		pkt := udpPacket(client, netip.AddrPortFrom(key.MagicDNSv4, 53), payload)
		var info packet.Info
		if err := packet.Parse(pkt, &info); err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 1280)
		n, err := r.HandlePacket(pkt, out, &info)
		if err != nil || n == 0 {
			return
		}
		if n > 20+8+MaxUDPSize {
			t.Fatalf("%d-byte reply", n)
		}
		ri, _ := replyPayload(t, out[:n])
		if ri.Dst != client.Addr() || ri.DstPort != client.Port() {
			t.Fatalf("reply to %v:%d", ri.Dst, ri.DstPort)
		}
	})
}
