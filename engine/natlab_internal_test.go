package engine

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/magicconn/natlab"
)

// testNets maps the t of a test run by onTestNet to its network.
var testNets sync.Map

// onTestNet runs f in a synctest bubble, on virtual time, where
// startTestEngine and sink put their sockets on a natlab network (public
// addresses, 5 ms links) instead of loopback UDP.
func onTestNet(t *testing.T, f func(t *testing.T)) {
	synctest.Test(t, func(t *testing.T) {
		n := natlab.NewNetwork()
		n.SetLatency(5 * time.Millisecond)
		testNets.Store(t, &testNet{net: n})
		t.Cleanup(func() { testNets.Delete(t) })
		f(t)
	})
}

type testNet struct {
	net   *natlab.Network
	hosts byte
}

// host adds a host on the internet.
func (n *testNet) host(name string) *natlab.Host {
	n.hosts++
	return n.net.NewHost(name, netip.AddrFrom4([4]byte{198, 18, 3, n.hosts}))
}

// onTestNetHost makes cfg use a new host of t's network, if t runs on one.
func onTestNetHost(t *testing.T, name string, cfg *Config) {
	v, ok := testNets.Load(t)
	if !ok {
		return
	}
	h := v.(*testNet).host(name)
	cfg.ListenAddr = netip.Addr{}
	cfg.ListenPort = DefaultPort
	cfg.ListenPacket = func(port uint16) (net.PacketConn, error) { return h.Listen(port) }
	cfg.Endpoints = func() []netip.AddrPort {
		return []netip.AddrPort{netip.AddrPortFrom(h.IPs()[0], DefaultPort)}
	}
}

// listenSink opens the socket of sink: on t's network if it runs on one.
func listenSink(t *testing.T) (net.PacketConn, netip.AddrPort, error) {
	if v, ok := testNets.Load(t); ok {
		pc, err := v.(*testNet).host("sink").Listen(0)
		if err != nil {
			return nil, netip.AddrPort{}, err
		}
		return pc, pc.LocalAddrPort(), nil
	}
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	return pc, pc.LocalAddr().(*net.UDPAddr).AddrPort(), nil
}
