package engine_test

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/magicconn/natlab"
	"github.com/rayfish/rayfish/engine/relay"
)

// natWorld is a simulated internet (natlab) with a relay that also
// answers STUN, where each node sits behind a NAT of its own: engines run
// on it through Config.ListenPacket and the relay dialer, inside a
// testing/synctest bubble.
type natWorld struct {
	net      *natlab.Network
	relayURL string
	nodes    int
	public   map[string]*natlab.Host // by id
}

// virtualNets maps the t of a test run by onVirtualNet to its world.
var virtualNets sync.Map

// onVirtualNet runs f in a synctest bubble, on virtual time, where
// startNode puts nodes on a natWorld (public addresses, no NAT) instead
// of loopback UDP. synctest.Test fails if a goroutine is left behind.
func onVirtualNet(t *testing.T, f func(t *testing.T)) {
	synctest.Test(t, func(t *testing.T) {
		virtualNets.Store(t, newNATWorld(t))
		t.Cleanup(func() { virtualNets.Delete(t) })
		f(t)
	})
}

// listenUDP opens a UDP socket: on a host of t's natWorld if t runs on
// one (onVirtualNet), else on loopback.
func listenUDP(t *testing.T, name string) (net.PacketConn, netip.AddrPort) {
	t.Helper()
	if w, ok := virtualNets.Load(t); ok {
		pc, err := w.(*natWorld).publicHost(name).Listen(0)
		if err != nil {
			t.Fatal(err)
		}
		return pc, pc.LocalAddrPort()
	}
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return pc, pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// listenTCP opens a stream listener, as listenUDP does a socket.
func listenTCP(t *testing.T, name string) net.Listener {
	t.Helper()
	if w, ok := virtualNets.Load(t); ok {
		ln, err := w.(*natWorld).publicHost(name).ListenStream(80)
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// natLatency is the one-way delay of the world's links.
const natLatency = 5 * time.Millisecond

func newNATWorld(t *testing.T) *natWorld {
	t.Helper()
	w := &natWorld{net: natlab.NewNetwork(), public: make(map[string]*natlab.Host)}
	w.net.SetLatency(natLatency)
	ip := netip.MustParseAddr("198.18.0.10")
	h := w.net.NewHost("relay", ip)
	ln, err := h.ListenStream(80)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := h.Listen(3478)
	if err != nil {
		t.Fatal(err)
	}
	s := relay.NewServer(relay.ServerConfig{})
	served := make(chan error, 2)
	go func() { served <- s.Serve(ln) }()
	go func() { served <- s.ServeSTUN(pc) }()
	t.Cleanup(func() {
		s.Close()
		for range 2 {
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("relay: %v", err)
			}
		}
	})
	w.relayURL = "http://" + netip.AddrPortFrom(ip, 80).String()
	return w
}

// host returns the host named name behind a NAT of cfg's kind, adding
// both the first time.
func (w *natWorld) host(name string, cfg natlab.NATConfig) *natlab.Host {
	w.nodes++
	nat := w.net.NewNAT(name+"-nat", netip.AddrFrom4([4]byte{198, 18, 1, byte(w.nodes)}), cfg)
	return nat.NewHost(name, netip.AddrFrom4([4]byte{10, byte(w.nodes), 0, 2}))
}

// publicHost returns the host named id on the internet, adding it the
// first time: a node started again (same id) comes back on its host.
func (w *natWorld) publicHost(id string) *natlab.Host {
	h := w.public[id]
	if h == nil {
		w.nodes++
		h = w.net.NewHost(id, netip.AddrFrom4([4]byte{198, 18, 2, byte(w.nodes)}))
		w.public[id] = h
	}
	return h
}

// onHost makes a node's engine use h: a socket on the default port, its
// address as the only endpoint, the world's relay dialed from it.
func (w *natWorld) onHost(h *natlab.Host) func(*engine.Config) {
	return func(c *engine.Config) {
		c.ListenAddr = netip.Addr{}
		c.ListenPort = engine.DefaultPort
		c.ListenPacket = func(port uint16) (net.PacketConn, error) { return h.Listen(port) }
		c.Endpoints = func() []netip.AddrPort {
			return []netip.AddrPort{netip.AddrPortFrom(h.IPs()[0], engine.DefaultPort)}
		}
		c.Relays = []string{w.relayURL}
		c.RelayOptions.ClientOptions.DialContext = h.DialContext
	}
}

// behindNATs returns a starter for nodes behind NATs of cfg's kind; a
// node started again (same name) comes back on the same host.
func (w *natWorld) behindNATs(t *testing.T, cfg natlab.NATConfig) starter {
	hosts := make(map[string]*natlab.Host)
	return func(t *testing.T, name, dir string) *node {
		t.Helper()
		h := hosts[name]
		if h == nil {
			h = w.host(name, cfg)
			hosts[name] = h
		}
		n := startNodeWith(t, name, dir, w.onHost(h))
		public := h.IPs()[0] // until STUN tells the NAT's address
		enginetest.WaitFor(t, 10*time.Second, name+" learns its public address", func() bool {
			for _, ep := range n.self().Endpoints {
				if ap, err := netip.ParseAddrPort(ep); err == nil && ap.Addr() != public && ap.Addr().Is4() {
					return true
				}
			}
			return false
		})
		return n
	}
}
