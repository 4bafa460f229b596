package magicconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/magicconn/natlab"
	"github.com/rayfish/rayfish/engine/relay"
	"github.com/rayfish/rayfish/engine/stun"
)

// testTiming shrinks the protocol's timers so that the tests run fast.
func testTiming() *timing {
	return &timing{
		trust:          1500 * time.Millisecond,
		heartbeat:      300 * time.Millisecond,
		quietHeartbeat: 500 * time.Millisecond,
		idleHeartbeat:  2 * time.Second,
		quietTrust:     1500 * time.Millisecond,
		retry:          500 * time.Millisecond,
		upgrade:        3 * time.Second,
		active:         10 * time.Second,
		tick:           50 * time.Millisecond,
		minPingGap:     200 * time.Millisecond,
		pingBackGap:    30 * time.Millisecond,
		pingTimeout:    2 * time.Second,
		candidateTTL:   10 * time.Second,
		lostReason:     10 * time.Second,
		stunInterval:   5 * time.Second,
		stunTimeout:    time.Second,
		relayIdle:      10 * time.Second,
		homeFailover:   time.Second,
		reflexiveTTL:   30 * time.Second,
	}
}

// testLogger discards logs unless MAGICCONN_TEST_LOG is set.
func testLogger(name string) *slog.Logger {
	if os.Getenv("MAGICCONN_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
}

// linkLatency is the one-way delay of the world's links, so that round
// trips on virtual time are not zero (allocation tests set it to 0).
const linkLatency = 5 * time.Millisecond

// world is a simulated internet with two STUN servers and a relay, all
// in memory (natlab), so that tests can run in testing/synctest bubbles.
type world struct {
	t         testing.TB
	net       *natlab.Network
	relayURL  string
	relay     *relay.Server
	stun      []netip.AddrPort
	nextIP    byte
	nextRelay byte
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, net: natlab.NewNetwork()}
	w.net.SetMaxPayload(1452) // a 1500-byte IPv6 link
	w.net.SetLatency(linkLatency)
	for i, ip := range []string{"198.18.0.1", "198.18.0.2"} {
		pc, err := w.net.NewHost(fmt.Sprintf("stun%d", i), netip.MustParseAddr(ip)).Listen(3478)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			stun.Serve(pc)
		}()
		t.Cleanup(func() {
			pc.Close()
			<-done
		})
		w.stun = append(w.stun, netip.AddrPortFrom(netip.MustParseAddr(ip), 3478))
	}
	w.relay, w.relayURL = w.startRelay()
	return w
}

// startRelay runs a relay on a new host of the world until the test ends.
func (w *world) startRelay() (*relay.Server, string) {
	t := w.t
	t.Helper()
	w.nextRelay++
	ip := netip.AddrFrom4([4]byte{198, 18, 0, 10 + w.nextRelay})
	ln, err := w.net.NewHost(fmt.Sprintf("relay%d", w.nextRelay), ip).ListenStream(80)
	if err != nil {
		t.Fatal(err)
	}
	s := relay.NewServer(relay.ServerConfig{})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("relay Serve: %v", err)
		}
	})
	return s, "http://" + netip.AddrPortFrom(ip, 80).String()
}

// deadURL is a relay that never answers: no host has its address.
const deadURL = "http://198.18.0.9:80"

// placement says where a node sits.
type placement struct {
	nat    *natlab.NATConfig // nil: on the internet
	shared *node             // sit on this node's LAN
	v6     bool              // also a routable IPv6 address
	noV4   bool              // no IPv4 address at all
}

var (
	public         = placement{}
	easy           = placement{nat: &natlab.EasyNAT}
	portRestricted = placement{nat: &natlab.PortRestrictedNAT}
	addrDependent  = placement{nat: &natlab.AddressDependentNAT}
	symmetric      = placement{nat: &natlab.SymmetricNAT}
)

// node is a Conn with quic-go on top.
type node struct {
	w    *world
	name string
	key  key.NodePrivate
	pub  key.NodePublic
	host *natlab.Host
	nat  *natlab.NAT
	pc   *natlab.Conn
	mc   *Conn
	tr   *quic.Transport
	ln   *quic.Listener

	mu    sync.Mutex
	peers []*node // told our endpoints whenever they change
}

type nodeOpts struct {
	noQUIC  bool // the test reads and writes the Conn itself
	noRelay bool
	relays  []string // instead of the world's relay
	timing  *timing
	onBulk  func([]byte)
}

func (w *world) newNode(name string, pl placement, o nodeOpts) *node {
	t := w.t
	t.Helper()
	w.nextIP++
	n := &node{w: w, name: name, key: key.NewNode()}
	n.pub = n.key.Public()
	var ips []netip.Addr
	switch {
	case pl.shared != nil:
		n.nat = pl.shared.nat
		if !pl.noV4 {
			ips = append(ips, netip.AddrFrom4([4]byte{10, pl.shared.host.IPs()[0].As4()[1], 0, 100 + w.nextIP}))
		}
	case pl.nat != nil:
		n.nat = w.net.NewNAT(name+"-nat", netip.AddrFrom4([4]byte{198, 18, 1, w.nextIP}), *pl.nat)
		if !pl.noV4 {
			ips = append(ips, netip.AddrFrom4([4]byte{10, w.nextIP, 0, 2}))
		}
	default:
		if !pl.noV4 {
			ips = append(ips, netip.AddrFrom4([4]byte{198, 18, 2, w.nextIP}))
		}
	}
	if pl.v6 || pl.noV4 {
		ips = append(ips, netip.MustParseAddr(fmt.Sprintf("2001:db8::%d", w.nextIP)))
	}
	if n.nat != nil {
		n.host = n.nat.NewHost(name, ips...)
	} else {
		n.host = w.net.NewHost(name, ips...)
	}
	pc, err := n.host.Listen(41641)
	if err != nil {
		t.Fatal(err)
	}
	n.pc = pc
	tm := o.timing
	if tm == nil {
		tm = testTiming()
	}
	cfg := Config{
		Key:         n.key,
		PacketConn:  pc,
		STUNServers: w.stun,
		Logger:      testLogger(name),
		RelayOptions: relay.ConnOptions{
			ClientOptions: relay.ClientOptions{DialContext: n.host.DialContext},
			MinBackoff:    10 * time.Millisecond,
			MaxBackoff:    200 * time.Millisecond,
			DialTimeout:   2 * time.Second,
		},
		OnEndpointsChanged: n.gossip,
		OnBulk:             o.onBulk,
		timing:             tm,
	}
	switch {
	case o.relays != nil:
		cfg.Relays = o.relays
	case !o.noRelay:
		cfg.Relays = []string{w.relayURL}
	}
	mc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	n.mc = mc
	n.mu.Unlock()
	n.setLocal()
	t.Cleanup(n.close)
	if o.noQUIC {
		return n
	}

	n.tr = &quic.Transport{Conn: mc}
	srv, err := n.key.TLSConfig([]string{"test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.ln, err = n.tr.Listen(srv, quicConfig())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *node) close() {
	if n.tr != nil {
		n.ln.Close()
		n.tr.Close()
	}
	n.mc.Close()
}

// setLocal gives the Conn the host's addresses, as the engine does with
// the interface addresses.
func (n *node) setLocal() {
	var eps []netip.AddrPort
	for _, ip := range n.host.IPs() {
		eps = append(eps, netip.AddrPortFrom(ip, n.pc.Port()))
	}
	n.mc.SetLocalEndpoints(eps)
}

func quicConfig() *quic.Config {
	return &quic.Config{
		EnableDatagrams:      true,
		InitialPacketSize:    1400,
		KeepAlivePeriod:      time.Second,
		MaxIdleTimeout:       20 * time.Second,
		HandshakeIdleTimeout: 10 * time.Second,
	}
}

// gossip tells the node's peers its endpoints, as endpoint records do.
func (n *node) gossip() {
	n.mu.Lock()
	mc := n.mc
	peers := append([]*node(nil), n.peers...)
	n.mu.Unlock()
	if mc == nil {
		return // still in New
	}
	eps, home := mc.Endpoints()
	for _, q := range peers {
		q.mc.SetPeer(n.pub, eps, home)
	}
}

// meet waits until a and b are on their home relays, then introduces
// each to the other.
func meet(t testing.TB, a, b *node) {
	t.Helper()
	a.waitHome(t)
	b.waitHome(t)
	introduce(a, b)
	introduce(b, a)
}

// introduce tells a about b (b's endpoints, and from now on their changes).
func introduce(a, b *node) {
	b.mu.Lock()
	b.peers = append(b.peers, a)
	b.mu.Unlock()
	eps, home := b.mc.Endpoints()
	a.mc.SetPeer(b.pub, eps, home)
}

// waitHome waits until the node is connected to its home relay and knows
// its reflexive address.
func (n *node) waitHome(t testing.TB) {
	t.Helper()
	enginetest.WaitFor(t, 5*time.Second, n.name+" home relay and STUN", func() bool {
		return n.mc.HomeRelay() != "" && n.hasReflexive()
	})
}

func (n *node) hasReflexive() bool {
	n.mc.mu.RLock()
	defer n.mc.mu.RUnlock()
	return len(n.mc.stunAddrs) > 0
}

// waitPath waits until a's path to b is of the given kind.
func waitPath(t testing.TB, d time.Duration, a, b *node, kind string) PathInfo {
	t.Helper()
	var last PathInfo
	defer func() {
		if t.Failed() {
			t.Logf("%s -> %s: last path %+v", a.name, b.name, last)
		}
	}()
	enginetest.WaitFor(t, d, a.name+" -> "+b.name+" path "+kind, func() bool {
		last = a.mc.Path(b.pub)
		return last.Kind == kind
	})
	return last
}

// waitPaths waits until a's path to b and b's path to a are both of kind.
func waitPaths(t testing.TB, a, b *node, kind string) {
	t.Helper()
	waitPath(t, 5*time.Second, a, b, kind)
	waitPath(t, 5*time.Second, b, a, kind)
}

// connect dials b from a by key and returns both ends.
func connect(t *testing.T, a, b *node) (ca, cb *quic.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conf, err := a.key.TLSConfig([]string{"test"}, key.ExpectPeer(b.pub))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		c   *quic.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := b.ln.Accept(ctx)
		accepted <- result{c, err}
	}()
	ca, err = a.tr.Dial(ctx, a.mc.PeerAddr(b.pub), conf, quicConfig())
	if err != nil {
		t.Fatalf("%s dials %s: %v (path %+v)", a.name, b.name, err, a.mc.Path(b.pub))
	}
	r := <-accepted
	if r.err != nil {
		t.Fatalf("%s accepts: %v", b.name, r.err)
	}
	cb = r.c
	t.Cleanup(func() {
		ca.CloseWithError(0, "")
		cb.CloseWithError(0, "")
	})
	if got, ok := b.mc.PeerOf(cb.RemoteAddr()); !ok || got != a.pub {
		t.Fatalf("%s: PeerOf(%v) = %v, %v; want %s", b.name, cb.RemoteAddr(), got.ShortString(), ok, a.pub.ShortString())
	}
	return ca, cb
}

// exchange checks that a stream and datagrams both ways work on the
// connection between ca and cb.
func exchange(t *testing.T, ca, cb *quic.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A stream: ca sends, cb echoes.
	msg := bytes.Repeat([]byte("rayfish "), 4000) // several full packets
	errc := make(chan error, 1)
	go func() {
		s, err := cb.AcceptStream(ctx)
		if err != nil {
			errc <- err
			return
		}
		buf := make([]byte, len(msg))
		if _, err := readFull(s, buf); err != nil {
			errc <- err
			return
		}
		_, err = s.Write(buf)
		s.Close()
		errc <- err
	}()
	s, err := ca.OpenStreamSync(ctx)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	s.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := s.Write(msg); err != nil {
		t.Fatalf("stream write: %v", err)
	}
	echo := make([]byte, len(msg))
	if _, err := readFull(s, echo); err != nil {
		t.Fatalf("stream read: %v", err)
	}
	if !bytes.Equal(echo, msg) {
		t.Fatal("stream echo differs")
	}
	if err := <-errc; err != nil {
		t.Fatalf("stream echo side: %v", err)
	}

	// Datagrams, as large as the connection allows, each way.
	datagram(t, ctx, ca, cb)
	datagram(t, ctx, cb, ca)
}

func readFull(s *quic.Stream, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := s.Read(b[n:])
		n += m
		if err != nil && n < len(b) {
			return n, err
		}
	}
	return n, nil
}

// datagram sends a maximum-size datagram from → to until one arrives.
func datagram(t *testing.T, ctx context.Context, from, to *quic.Conn) {
	t.Helper()
	size := 1400
	payload := bytes.Repeat([]byte{0xd7}, size)
	for {
		err := from.SendDatagram(payload)
		var tooLarge *quic.DatagramTooLargeError
		if errors.As(err, &tooLarge) {
			size = int(tooLarge.MaxDatagramPayloadSize)
			payload = payload[:size]
			continue
		}
		if err != nil {
			t.Fatalf("send datagram: %v", err)
		}
		break
	}
	if size < 1100 {
		t.Fatalf("largest datagram is %d bytes", size)
	}
	got := make(chan []byte, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		b, err := to.ReceiveDatagram(rctx)
		if err == nil {
			got <- b
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case b := <-got:
			if !bytes.Equal(b, payload) {
				t.Fatalf("datagram of %d bytes differs", len(b))
			}
			return
		case <-tick.C:
			from.SendDatagram(payload) // datagrams may be lost: again
		case <-ctx.Done():
			t.Fatal("no datagram arrived")
		}
	}
}

// alive fails the test if the QUIC connection ended.
func alive(t *testing.T, cs ...*quic.Conn) {
	t.Helper()
	for _, c := range cs {
		select {
		case <-c.Context().Done():
			t.Fatalf("QUIC connection ended: %v", context.Cause(c.Context()))
		default:
		}
	}
}

func natlabAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
