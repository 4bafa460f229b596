package firewall

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

// Addresses used throughout the tests: this host ("self") and peers B and
// C, on IPv4 and IPv6.
const (
	selfV4  = "100.64.0.10"
	peerBV4 = "100.64.0.20"
	peerCV4 = "100.64.0.30"
	selfV6  = "fd72:6179:6669::10"
	peerBV6 = "fd72:6179:6669::20"
	peerCV6 = "fd72:6179:6669::30"
)

var (
	peerB = nodeKey(0xb0)
	peerC = nodeKey(0xc0)
	netA  = netKey(0xa1)
	netZ  = netKey(0x21)
)

func nodeKey(b byte) key.NodePublic {
	var k key.NodePublic
	for i := range k {
		k[i] = b ^ byte(i)
	}
	return k
}

func netKey(b byte) key.NetworkPublic {
	var k key.NetworkPublic
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

const sec = int64(time.Second)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func version(a netip.Addr) uint8 {
	if a.Is4() {
		return 4
	}
	return 6
}

// tcpInfo describes a TCP segment from src to dst ("addr:port" or
// "[addr]:port") with flags.
func tcpInfo(src, dst string, flags uint8) *packet.Info {
	s, d := ap(src), ap(dst)
	return &packet.Info{
		Version: version(s.Addr()), Proto: packet.ProtoTCP, Src: s.Addr(), Dst: d.Addr(),
		SrcPort: s.Port(), DstPort: d.Port(), TCPFlags: flags, HasTransport: true,
		Len: 60, HeaderLen: 20,
	}
}

func udpInfo(src, dst string) *packet.Info {
	s, d := ap(src), ap(dst)
	return &packet.Info{
		Version: version(s.Addr()), Proto: packet.ProtoUDP, Src: s.Addr(), Dst: d.Addr(),
		SrcPort: s.Port(), DstPort: d.Port(), HasTransport: true, Len: 40, HeaderLen: 20,
	}
}

// icmpInfo describes an ICMP message; id is the echo identifier (used for
// echo types only).
func icmpInfo(src, dst string, typ, code uint8, id uint16) *packet.Info {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	info := &packet.Info{
		Version: version(s), Src: s, Dst: d, ICMPType: typ, ICMPCode: code,
		HasTransport: true, Len: 40, HeaderLen: 20,
	}
	info.Proto = packet.ProtoICMPv4
	echo := typ == 0 || typ == 8
	if info.Version == 6 {
		info.Proto = packet.ProtoICMPv6
		echo = typ == 128 || typ == 129
	}
	if echo {
		info.SrcPort, info.DstPort = id, id
	}
	return info
}

// icmpError describes an ICMP error from src to dst quoting the packet
// quoted describes.
func icmpError(src, dst string, typ, code uint8, quoted *packet.Info) *packet.Info {
	info := icmpInfo(src, dst, typ, code, 0)
	info.Quote = packet.Quote{Valid: true, Proto: quoted.Proto, Src: quoted.Src, Dst: quoted.Dst,
		SrcPort: quoted.SrcPort, DstPort: quoted.DstPort}
	return info
}

// reversed returns the reply direction of a TCP or UDP info.
func reversed(info *packet.Info, flags uint8) *packet.Info {
	r := *info
	r.Src, r.Dst = info.Dst, info.Src
	r.SrcPort, r.DstPort = info.DstPort, info.SrcPort
	r.TCPFlags = flags
	return &r
}

func mustRule(t testing.TB, s string) Rule {
	t.Helper()
	var r Rule
	if err := r.UnmarshalJSON([]byte(s)); err != nil {
		t.Fatalf("rule %s: %v", s, err)
	}
	return r
}

func newFW(t testing.TB, cfg Config, rules ...Rule) *Firewall {
	t.Helper()
	fw := New(cfg)
	if err := fw.Update(func(rs *Ruleset, _ *Suggested) error {
		for i := len(rules) - 1; i >= 0; i-- { // so rules[0] ends up first
			if err := rs.Add(rules[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return fw
}

func expect(t *testing.T, what string, got, want Verdict) {
	t.Helper()
	if got != want {
		t.Errorf("%s: verdict %v, want %v", what, got, want)
	}
}
