package responder

import (
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
)

// PMPPort is the NAT-PMP and PCP server port.
const PMPPort = 5351

// Loopback serves cfg's protocols for a unit test on a random 127.x.y.z
// address, so nothing leaves the host's loopback and no real gateway is
// asked: NAT-PMP and PCP on port 5351 and, with UPnP, an HTTP server
// whose description URL it returns (nil without UPnP). cfg.External
// defaults to 198.18.7.7.
func Loopback(tb testing.TB, cfg Config) (*Server, netip.Addr, *url.URL) {
	tb.Helper()
	if !cfg.External.IsValid() {
		cfg.External = netip.MustParseAddr("198.18.7.7")
	}
	s := New(cfg)
	var conn *net.UDPConn
	var gw netip.Addr
	for range 20 {
		gw = netip.AddrFrom4([4]byte{127, byte(rand.IntN(250) + 1), byte(rand.IntN(250) + 1), byte(rand.IntN(250) + 2)})
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(gw, PMPPort)))
		if err == nil {
			conn = c
			break
		}
	}
	if conn == nil {
		tb.Fatal("no free loopback address for the test gateway")
	}
	go s.ServePMP(conn)
	tb.Cleanup(func() { conn.Close() })
	if !cfg.UPnP {
		return s, gw, nil
	}
	ln, err := net.Listen("tcp4", netip.AddrPortFrom(gw, 0).String())
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s.UPnPHandler())
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	tb.Cleanup(hs.Close)
	loc, err := url.Parse(hs.URL + "/rootDesc.xml")
	if err != nil {
		tb.Fatal(err)
	}
	return s, gw, loc
}
