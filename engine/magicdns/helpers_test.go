package magicdns

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/rayfish/rayfish/engine/packet"
)

// testEntries is the roster the table tests use. Networks are listed in
// join order: "home" first.
var testEntries = []Entry{
	{Network: "home", Hostname: "laptop", IPv4: netip.MustParseAddr("100.64.1.2"), IPv6: netip.MustParseAddr("fd72:6179:6669:0:1::2")},
	{Network: "home", Hostname: "nas", IPv4: netip.MustParseAddr("100.64.1.3"), IPv6: netip.MustParseAddr("fd72:6179:6669:0:1::3")},
	{Network: "work", Hostname: "laptop", IPv4: netip.MustParseAddr("100.70.0.9"), IPv6: netip.MustParseAddr("fd72:6179:6669:0:2::9")},
	{Network: "work", Hostname: "db", IPv4: netip.MustParseAddr("100.70.0.10")},
	// The same node as home's nas, under another name.
	{Network: "work", Hostname: "files", IPv4: netip.MustParseAddr("100.64.1.3"), IPv6: netip.MustParseAddr("fd72:6179:6669:0:1::3")},
	{Network: "Lab Net", Hostname: "Build_Box", IPv4: netip.MustParseAddr("100.99.0.1")},
	// Addresses outside the overlay are never served.
	{Network: "evil", Hostname: "bank", IPv4: netip.MustParseAddr("192.0.2.1"), IPv6: netip.MustParseAddr("2001:db8::1")},
	{Network: "", Hostname: "nonet", IPv4: netip.MustParseAddr("100.64.5.5")},
	{Network: "home", Hostname: "!!!", IPv4: netip.MustParseAddr("100.64.5.6")},
}

func newTestResolver(t testing.TB, cfg Config) *Resolver {
	t.Helper()
	r := NewResolver(cfg)
	r.SetTable(NewTable(testEntries))
	return r
}

// query packs a query for name and qtype; edns > 0 adds an OPT record
// advertising that size.
func query(t testing.TB, name string, qtype uint16, edns uint16) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 0x1234
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unpack(t testing.TB, b []byte) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		t.Fatalf("response does not parse: %v", err)
	}
	return m
}

// udpPacket builds an IPv4 or IPv6 UDP packet with correct checksums.
func udpPacket(src, dst netip.AddrPort, payload []byte) []byte {
	u := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	binary.BigEndian.PutUint16(u[6:], packet.Checksum(u, packet.PseudoHeaderSum(packet.ProtoUDP, src.Addr(), dst.Addr(), len(u))))
	if src.Addr().Is4() {
		h := make([]byte, 20)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(u)))
		h[8], h[9] = 64, packet.ProtoUDP
		s, d := src.Addr().As4(), dst.Addr().As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		binary.BigEndian.PutUint16(h[10:], packet.Checksum(h, 0))
		return append(h, u...)
	}
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(u)))
	h[6], h[7] = packet.ProtoUDP, 64
	s, d := src.Addr().As16(), dst.Addr().As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, u...)
}

// replyPayload parses a reply packet, checks its checksums and returns
// its DNS message.
func replyPayload(t testing.TB, pkt []byte) (*packet.Info, *dns.Msg) {
	t.Helper()
	var info packet.Info
	if err := packet.Parse(pkt, &info); err != nil {
		t.Fatalf("reply packet: %v", err)
	}
	if info.Version == 4 && packet.Checksum(pkt[:info.HeaderLen], 0) != 0 {
		t.Error("bad IPv4 header checksum")
	}
	u := pkt[info.HeaderLen:info.Len]
	if packet.Checksum(u, packet.PseudoHeaderSum(packet.ProtoUDP, info.Src, info.Dst, len(u))) != 0 {
		t.Error("bad UDP checksum")
	}
	p, err := packet.UDPPayload(pkt, &info)
	if err != nil {
		t.Fatal(err)
	}
	return &info, unpack(t, p)
}
