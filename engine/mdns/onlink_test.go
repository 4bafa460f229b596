package mdns

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/netmap"
)

// withLinks gives s the interfaces eth0 (index 2) and wlan0 (index 3).
func withLinks(s *Service) {
	s.links[2] = &link{ifi: net.Interface{Index: 2, Name: "eth0"}, prefixes: []netip.Prefix{
		netip.MustParsePrefix("198.18.40.1/24"), netip.MustParsePrefix("2001:db8:1::1/64"),
	}}
	s.links[3] = &link{ifi: net.Interface{Index: 3, Name: "wlan0"}, prefixes: []netip.Prefix{
		netip.MustParsePrefix("198.18.41.1/24"),
	}}
}

func TestOnLink(t *testing.T) {
	now := time.Unix(1000, 0)
	s, _ := newOffline(fixedKey(t, 9).Public(), &now)
	withLinks(s)
	tests := []struct {
		ifIndex int
		src     string
		want    bool
	}{
		{2, "198.18.40.7", true},
		{2, "::ffff:198.18.40.7", true},
		{2, "2001:db8:1::9", true},
		{2, "fe80::1%eth0", true},
		{2, "169.254.3.4", true},
		{2, "198.18.41.7", false}, // wlan0's prefix, arrived on eth0
		{3, "198.18.41.7", true},
		{0, "198.18.41.7", true}, // interface unknown: any link's prefix
		{2, "203.0.113.9", false},
		{2, "2001:db8:2::1", false},
		{0, "203.0.113.9", false},
		{9, "fe80::1", false},     // an interface we do not use (the TUN)
		{9, "198.18.40.7", false}, // likewise
		{2, "0.0.0.0", false},     // unspecified
		{2, "224.0.0.251", false}, // multicast source
		{2, "100.64.1.2", false},  // an overlay sender
	}
	for _, tt := range tests {
		if got := s.onLinkLocked(tt.ifIndex, netip.MustParseAddr(tt.src)); got != tt.want {
			t.Errorf("onLink(%d, %s) = %v, want %v", tt.ifIndex, tt.src, got, tt.want)
		}
	}
}

// TestOffLinkIgnored drives handle with real packets: a unicast query
// (legacy resolver port) from off-link gets no answer and an off-link
// record is not heard, while the same from on-link work.
func TestOffLinkIgnored(t *testing.T) {
	now := time.Unix(1000, 0)
	s, got := newOffline(fixedKey(t, 9).Public(), &now)
	s.cfg.Port = freePort(t)
	ours := netmap.SignEndpoints(fixedKey(t, 9), nil, "", 1)
	s.cfg.Record = func() netmap.EndpointRecord { return ours }
	rec := testRecords(t)[1] // another node's
	withLinks(s)
	// Loopback stands in for the link, so that answers can be read.
	s.links[1] = &link{ifi: net.Interface{Index: 1, Name: "lo"}, prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}}
	c, err := listen(netip.AddrPortFrom(DefaultGroup4, s.cfg.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	asker, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer asker.Close()
	askerAddr := asker.LocalAddr().(*net.UDPAddr).AddrPort()
	answered := func() bool {
		asker.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		b := make([]byte, maxPacket)
		n, _, err := asker.ReadFromUDP(b)
		return err == nil && n > 0
	}

	// From off-link: a routed unicast query arriving on eth0, and one on
	// an interface we do not use.
	offLink := netip.AddrPortFrom(netip.MustParseAddr("203.0.113.9"), askerAddr.Port())
	s.handle(c, buildQuery(), 2, offLink)
	s.handle(c, buildQuery(), 9, askerAddr)
	// The answer, had there been one, goes to from: to see it, pose as
	// the asker on a link whose prefix does not hold it.
	s.handle(c, buildQuery(), 2, askerAddr)
	if answered() {
		t.Fatal("answered a query from off-link")
	}
	resp, err := buildResponse(rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.handle(c, resp, 2, netip.MustParseAddrPort("203.0.113.9:5353"))
	if len(*got) != 0 {
		t.Fatalf("record from off-link heard: %+v", *got)
	}
	if n := s.offLink.Load(); n != 4 {
		t.Errorf("offLink = %d, want 4", n)
	}

	// On-link, both work.
	s.handle(c, buildQuery(), 1, askerAddr)
	if !answered() {
		t.Fatal("no answer to a query from on-link")
	}
	s.handle(c, resp, 2, netip.MustParseAddrPort("198.18.40.7:5353"))
	if len(*got) != 1 {
		t.Fatalf("record from on-link: heard %d", len(*got))
	}
}
