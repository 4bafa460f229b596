package magicconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/bulk"
	"github.com/rayfish/rayfish/engine/disco"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/magicconn/natlab"
	"github.com/rayfish/rayfish/engine/relay"
	"github.com/rayfish/rayfish/engine/stun"
)

// readPacket reads one packet from c, or fails the test after d.
func readPacket(t *testing.T, c *Conn, d time.Duration) ([]byte, net.Addr) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 2048)
	n, from, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("ReadFrom: %v", err)
	}
	return buf[:n], from
}

// noPacket fails the test if c delivers a packet within d.
func noPacket(t *testing.T, c *Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 2048)
	n, from, err := c.ReadFrom(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadFrom = %d bytes from %v, %v; want a timeout", n, from, err)
	}
}

// quicPacket returns a packet that looks like a QUIC short-header packet.
func quicPacket(size int) []byte {
	b := bytes.Repeat([]byte{0x5a}, size)
	b[0] = 0x40
	return b
}

func TestVirtualAddr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", public, nodeOpts{noQUIC: true, noRelay: true})
		k1, k2 := key.NewNode().Public(), key.NewNode().Public()
		a1, a2 := a.mc.PeerAddr(k1), a.mc.PeerAddr(k2)
		if a1.String() == a2.String() {
			t.Fatalf("two keys share %v", a1)
		}
		for _, addr := range []net.Addr{a1, a2} {
			ua := addr.(*net.UDPAddr)
			if !VirtualPrefix.Contains(ua.AddrPort().Addr()) {
				t.Errorf("%v outside %v", addr, VirtualPrefix)
			}
		}
		if got, ok := a.mc.PeerOf(a1); !ok || got != k1 {
			t.Errorf("PeerOf(%v) = %v, %v", a1, got.ShortString(), ok)
		}
		// A copy of the address works as well as the original.
		cp := *(a1.(*net.UDPAddr))
		if got, ok := a.mc.PeerOf(&cp); !ok || got != k1 {
			t.Errorf("PeerOf(copy) = %v, %v", got.ShortString(), ok)
		}
		if _, ok := a.mc.PeerOf(&net.UDPAddr{IP: net.ParseIP("198.18.0.1"), Port: 1}); ok {
			t.Error("PeerOf of a real address")
		}
		a.mc.RemovePeer(k1)
		if _, ok := a.mc.PeerOf(a1); ok {
			t.Error("PeerOf after RemovePeer")
		}
		if n, err := a.mc.WriteTo(quicPacket(100), a1); n != 100 || err != nil {
			t.Errorf("WriteTo a removed peer = %d, %v; want a silent drop", n, err)
		}
		if a.mc.Stats().Drops.NoPeer != 1 {
			t.Errorf("drops %+v", a.mc.Stats().Drops)
		}
		a.mc.SetPeer(k1, nil, "")
		if again := a.mc.PeerAddr(k1); again.String() != a1.String() {
			t.Errorf("address changed after RemovePeer and SetPeer: %v, was %v", again, a1)
		}
	})
}

// TestUnknownSource: QUIC packets reach ReadFrom only from addresses a
// verified disco message came from.
func TestUnknownSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", public, nodeOpts{noQUIC: true, noRelay: true})
		b := w.newNode("b", easy, nodeOpts{noQUIC: true, noRelay: true})
		stranger, err := w.net.NewHost("stranger", natlabAddr("198.18.3.1")).Listen(41641)
		if err != nil {
			t.Fatal(err)
		}
		defer stranger.Close()
		aAddr := a.pc.LocalAddrPort()

		long := quicPacket(1200)
		long[0] = 0xc0 // a long-header Initial
		stranger.WriteToUDPAddrPort(quicPacket(100), aAddr)
		stranger.WriteToUDPAddrPort(long, aAddr)
		// A disco ping signed for someone else.
		stranger.WriteToUDPAddrPort(disco.Encode(key.NewNode(), b.pub, &disco.Ping{TxID: disco.NewTxID()}), aAddr)
		noPacket(t, a.mc, 100*time.Millisecond)
		d := a.mc.Stats().Drops
		if d.UnknownSource != 2 || d.BadDisco != 1 {
			t.Fatalf("drops %+v", d)
		}

		// b, which a was never told about, pings a first: its packets get in.
		b.mc.SetPeer(a.pub, []netip.AddrPort{aAddr}, "")
		if _, err := b.mc.WriteTo(quicPacket(300), b.mc.PeerAddr(a.pub)); err != nil {
			t.Fatal(err)
		}
		pkt, from := readPacket(t, a.mc, 2*time.Second)
		if len(pkt) != 300 {
			t.Fatalf("got %d bytes", len(pkt))
		}
		if k, ok := a.mc.PeerOf(from); !ok || k != b.pub {
			t.Fatalf("packet from %v (%v), want b", from, k.ShortString())
		}
		// The stranger still cannot.
		stranger.WriteToUDPAddrPort(quicPacket(100), aAddr)
		enginetest.WaitFor(t, time.Second, "the drop", func() bool { return a.mc.Stats().Drops.UnknownSource == 3 })

		// A call-me-maybe over UDP from a key a was not told about (b
		// included: a only learned it from its pings) makes a ping nothing.
		pings := a.mc.Stats().Disco.PingsSent
		cmm := &disco.CallMeMaybe{Endpoints: []netip.AddrPort{netip.MustParseAddrPort("198.18.7.7:1")}}
		a.mc.handleDiscoUDP(disco.Encode(key.NewNode(), a.pub, cmm), stranger.LocalAddrPort())
		a.mc.handleDiscoUDP(disco.Encode(b.key, a.pub, cmm), stranger.LocalAddrPort())
		if st := a.mc.Stats().Disco; st.CallMeMaybeReceived != 0 || st.PingsSent != pings {
			t.Errorf("call-me-maybe from strangers handled: %+v", st)
		}
	})
}

// TestRealUDP runs two Conns on real loopback UDP sockets with quic-go on
// top, as the engine does.
func TestRealUDP(t *testing.T) {
	var nodes [2]*node
	for i := range nodes {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		k := key.NewNode()
		mc, err := New(Config{Key: k, PacketConn: udp, timing: testTiming()})
		if err != nil {
			t.Fatal(err)
		}
		mc.SetLocalEndpoints([]netip.AddrPort{udp.LocalAddr().(*net.UDPAddr).AddrPort()})
		n := &node{name: fmt.Sprint("udp", i), key: k, pub: k.Public(), mc: mc}
		n.tr = &quic.Transport{Conn: mc}
		srv, err := k.TLSConfig([]string{"test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n.ln, err = n.tr.Listen(srv, quicConfig()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.close)
		nodes[i] = n
	}
	a, b := nodes[0], nodes[1]
	introduce(a, b)
	introduce(b, a)
	ca, cb := connect(t, a, b)
	exchange(t, ca, cb)
	waitPath(t, 2*time.Second, a, b, PathDirect)
	if st := a.mc.Stats(); st.Drops.WriteError != 0 || st.DirectRx.Packets == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestSpoofedPing: a ping from another key cannot take an address whose
// owner confirmed it recently.
func TestSpoofedPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", public, nodeOpts{noQUIC: true, noRelay: true})
		b := w.newNode("b", public, nodeOpts{noQUIC: true, noRelay: true})
		introduce(a, b)
		introduce(b, a)
		waitPath(t, 2*time.Second, a, b, PathDirect)
		bAddr := b.pc.LocalAddrPort()

		x := key.NewNode()
		a.mc.handleDiscoUDP(disco.Encode(x, a.pub, &disco.Ping{TxID: disco.NewTxID()}), bAddr)
		a.mc.mu.RLock()
		owner := a.mc.byAddr[bAddr]
		a.mc.mu.RUnlock()
		if owner == nil || owner.key != b.pub {
			t.Fatalf("b's address now belongs to %v", owner)
		}
		b.mc.WriteTo(quicPacket(100), b.mc.PeerAddr(a.pub))
		if _, from := readPacket(t, a.mc, time.Second); from.String() != a.mc.PeerAddr(b.pub).String() {
			t.Fatalf("b's packet arrived as %v", from)
		}
	})
}

// TestJoinWithoutRelay: a node that knows nothing about the joiner, and no
// relay anywhere, accepts its connection; the joiner's pings come first.
// The inviter answers where the joiner spoke from but pings it only once
// it is admitted.
func TestJoinWithoutRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		inviter := w.newNode("inviter", public, nodeOpts{noRelay: true})
		joiner := w.newNode("joiner", easy, nodeOpts{noRelay: true})
		introduce(joiner, inviter) // the invite: the inviter's key and address
		ci, cj := connect(t, joiner, inviter)
		exchange(t, ci, cj)
		waitPath(t, 3*time.Second, joiner, inviter, PathDirect)
		if n := inviter.mc.Stats().Disco.PingsSent; n != 0 {
			t.Errorf("the inviter sent %d pings to a joiner not admitted", n)
		}
		introduce(inviter, joiner) // admitted: the joiner's record
		waitPath(t, 3*time.Second, inviter, joiner, PathDirect)
	})
}

// TestJoinThroughRelay: the same, between symmetric NATs, where only the
// relay works and the inviter learns the joiner's relay from its packets.
func TestJoinThroughRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		inviter := w.newNode("inviter", symmetric, nodeOpts{})
		joiner := w.newNode("joiner", symmetric, nodeOpts{})
		inviter.waitHome(t)
		introduce(joiner, inviter)
		ci, cj := connect(t, joiner, inviter)
		exchange(t, ci, cj)
		if p := inviter.mc.Path(joiner.pub); p.Kind != PathRelay || p.Remote != w.relayURL {
			t.Fatalf("inviter's path %+v", p)
		}
	})
}

// TestMaxPacketSize: 1400-byte packets (quic-go's InitialPacketSize in the
// engine) cross both a direct path and a relay.
func TestMaxPacketSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		for _, tt := range []struct {
			name string
			pl   placement
			want string
		}{
			{"direct", public, PathDirect},
			{"relay", symmetric, PathRelay},
		} {
			a := w.newNode("a-"+tt.name, tt.pl, nodeOpts{noQUIC: true})
			b := w.newNode("b-"+tt.name, tt.pl, nodeOpts{noQUIC: true})
			meet(t, a, b)
			pkt := quicPacket(1400)
			var got []byte
			enginetest.WaitFor(t, 5*time.Second, tt.name+" packet", func() bool {
				if a.mc.Path(b.pub).Kind != tt.want {
					return false
				}
				a.mc.WriteTo(pkt, a.mc.PeerAddr(b.pub))
				b.mc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				buf := make([]byte, 1500)
				n, _, err := b.mc.ReadFrom(buf)
				got = buf[:n]
				return err == nil
			})
			if !bytes.Equal(got, pkt) {
				t.Errorf("%s: got %d bytes", tt.name, len(got))
			}
		}
	})
}

func TestDeadlinesAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", public, nodeOpts{noQUIC: true, noRelay: true})
		start := time.Now()
		noPacket(t, a.mc, 50*time.Millisecond)
		if time.Since(start) < 50*time.Millisecond {
			t.Error("deadline fired early")
		}
		a.mc.SetWriteDeadline(time.Now().Add(-time.Second))
		if _, err := a.mc.WriteTo(quicPacket(10), a.mc.PeerAddr(key.NewNode().Public())); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("WriteTo past the deadline: %v", err)
		}
		a.mc.SetDeadline(time.Time{})

		done := make(chan error, 1)
		go func() {
			_, _, err := a.mc.ReadFrom(make([]byte, 100))
			done <- err
		}()
		synctest.Wait() // the reader is blocked
		a.mc.Close()
		a.mc.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadFrom after Close: %v", err)
		}
		if _, err := a.mc.WriteTo(quicPacket(10), a.mc.PeerAddr(key.NewNode().Public())); !errors.Is(err, net.ErrClosed) {
			t.Errorf("WriteTo after Close: %v", err)
		}
		if _, err := a.mc.Netcheck(context.Background()); err == nil {
			t.Error("Netcheck after Close succeeded")
		}
	})
}

// TestUnknownPeers: keys we were not told about are kept in a bounded
// set, oldest out first; known peers are never evicted.
func TestUnknownPeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", public, nodeOpts{noQUIC: true, noRelay: true})
		known := key.NewNode().Public()
		a.mc.SetPeer(known, nil, "")
		var first key.NodePublic
		for i := range maxUnknownPeers + 10 {
			k := key.NewNode()
			if i == 0 {
				first = k.Public()
			}
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 4, byte(i)}), 1000)
			a.mc.handleDiscoUDP(disco.Encode(k, a.pub, &disco.Ping{TxID: disco.NewTxID()}), src)
			time.Sleep(time.Millisecond) // on virtual time: each is older than the next
		}
		a.mc.mu.RLock()
		defer a.mc.mu.RUnlock()
		if a.mc.unknown != maxUnknownPeers || len(a.mc.peers) != maxUnknownPeers+1 {
			t.Fatalf("%d unknown of %d peers", a.mc.unknown, len(a.mc.peers))
		}
		if a.mc.peers[known] == nil {
			t.Error("known peer evicted")
		}
		if a.mc.peers[first] != nil {
			t.Error("oldest unknown peer kept")
		}
	})
}

func TestEndpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", easy, nodeOpts{noQUIC: true})
		a.waitHome(t)
		eps, home := a.mc.Endpoints()
		if home != w.relayURL {
			t.Errorf("home %q", home)
		}
		wantLocal := a.pc.LocalAddrPort()
		if len(eps) < 2 || eps[0] != wantLocal || eps[1].Addr() != a.nat.Public() {
			t.Fatalf("endpoints %v, want %v then the NAT's address", eps, wantLocal)
		}

		// Pairs of members confirm one address each: one pair more than
		// there are slots.
		var members []key.NodePublic
		for range 2 * (maxPongReflexive + 1) {
			k := key.NewNode().Public()
			a.mc.SetPeer(k, nil, "")
			members = append(members, k)
		}
		now := a.mc.now()
		a.mc.mu.Lock()
		for i, k := range members {
			a.mc.addPongReflexiveLocked(a.mc.peers[k], netip.AddrPortFrom(natlabAddr("198.18.9.9"), uint16(1000+i/2)), now)
		}
		a.mc.addPongReflexiveLocked(a.mc.peers[members[0]], wantLocal, now) // already a local one
		a.mc.addPongReflexiveLocked(a.mc.peers[members[1]], wantLocal, now)
		a.mc.addPongReflexiveLocked(a.mc.peers[members[0]], netip.AddrPort{}, now)
		a.mc.mu.Unlock()
		eps2, _ := a.mc.Endpoints()
		if len(eps2) != len(eps)+maxPongReflexive {
			t.Errorf("endpoints %v after pongs, was %v", eps2, eps)
		}

		many := make([]netip.AddrPort, 30)
		for i := range many {
			many[i] = netip.AddrPortFrom(natlabAddr("10.9.9.9"), uint16(i+1))
		}
		a.mc.SetLocalEndpoints(many)
		if eps3, _ := a.mc.Endpoints(); len(eps3) != disco.MaxEndpoints {
			t.Errorf("%d endpoints, want at most %d", len(eps3), disco.MaxEndpoints)
		}
	})
}

// TestEndpointsCallback: OnEndpointsChanged runs when the home relay
// connects and STUN answers.
func TestEndpointsCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		h := w.net.NewHost("a", natlabAddr("198.18.2.50"))
		pc, err := h.Listen(41641)
		if err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		mc, err := New(Config{
			Key:                key.NewNode(),
			PacketConn:         pc,
			Relays:             []string{w.relayURL},
			RelayOptions:       relay.ConnOptions{ClientOptions: relay.ClientOptions{DialContext: h.DialContext}},
			STUNServers:        w.stun,
			OnEndpointsChanged: func() { calls.Add(1) },
			timing:             testTiming(),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer mc.Close()
		enginetest.WaitFor(t, 5*time.Second, "endpoints with a home relay", func() bool {
			eps, home := mc.Endpoints()
			return home != "" && len(eps) > 0 && calls.Load() > 0
		})
	})
}

func TestNetcheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		dead := deadURL
		for _, tt := range []struct {
			pl   placement
			want stun.Mapping
		}{
			{easy, stun.MappingEndpointIndependent},
			{symmetric, stun.MappingAddressDependent},
		} {
			n := w.newNode(tt.want.String(), tt.pl, nodeOpts{noQUIC: true, relays: []string{w.relayURL, dead}})
			n.waitHome(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			rep, err := n.mc.Netcheck(ctx)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if rep.UDPPort != 41641 || rep.MappingV4 != tt.want || rep.ReflexiveV4.Addr() != n.nat.Public() || rep.HomeRelay != w.relayURL {
				t.Errorf("%v: report %+v", tt.want, rep)
			}
			if len(rep.STUN) != 2 || rep.STUN[0].Err != "" || rep.STUN[0].RTT <= 0 {
				t.Errorf("%v: STUN results %+v", tt.want, rep.STUN)
			}
			if len(rep.Relays) != 2 || rep.Relays[0].Latency <= 0 || rep.Relays[1].Err == "" {
				t.Errorf("%v: relay results %+v", tt.want, rep.Relays)
			}
		}
	})
}

// TestHomeFailover: the first relay does not answer, so the next becomes
// home.
func TestHomeFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		dead := deadURL
		a := w.newNode("a", public, nodeOpts{noQUIC: true, relays: []string{dead, w.relayURL}})
		enginetest.WaitFor(t, 5*time.Second, "home relay", func() bool { return a.mc.HomeRelay() == w.relayURL })
		if st := a.mc.RelayStates(); len(st) != 2 || st[dead] || !st[w.relayURL] {
			t.Errorf("relay states %v", st)
		}
	})
}

// TestRelayOnly: a peer with no direct address at all is reached through
// the relay, even when its home relay is not ours.
func TestRelayOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		_, url2 := w.startRelay()
		a := w.newNode("a", symmetric, nodeOpts{})
		b := w.newNode("b", symmetric, nodeOpts{relays: []string{url2}})
		a.waitHome(t)
		b.waitHome(t)
		a.mc.SetPeer(b.pub, nil, url2)
		ca, cb := connect(t, a, b)
		exchange(t, ca, cb)
		// The reason depends on timing: "peer has no direct addresses" until
		// b, told a's addresses by call-me-maybe, pings a through both NATs;
		// then it names the NATs. Either way there is one.
		if p := a.mc.Path(b.pub); p.Kind != PathRelay || p.Remote != url2 || p.Reason == "" {
			t.Errorf("a's path %+v", p)
		}
		if p := b.mc.Path(a.pub); p.Kind != PathRelay || p.Remote != url2 {
			t.Errorf("b's path %+v", p)
		}
	})
}

func TestNewErrors(t *testing.T) {
	n := natlab.NewNetwork()
	pc, err := n.NewHost("a", natlabAddr("198.18.0.1")).Listen(1)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, cfg := range []Config{
		{PacketConn: pc},
		{Key: key.NewNode()},
		{Key: key.NewNode(), PacketConn: pc, Relays: []string{"ftp://relay"}},
	} {
		if c, err := New(cfg); err == nil {
			c.Close()
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

// TestWriteSegmentsRelay: a train to a peer reachable only through the
// relay arrives whole and in order, and counts as relayed packets.
func TestWriteSegmentsRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		got := make(chan string, 100)
		a := w.newNode("a", symmetric, nodeOpts{noQUIC: true})
		b := w.newNode("b", symmetric, nodeOpts{noQUIC: true, onBulk: func(p []byte) { got <- string(p) }})
		meet(t, a, b)
		enginetest.WaitFor(t, 5*time.Second, "relay path", func() bool { return a.mc.Path(b.pub).Kind == PathRelay })
		const seg, n = 1000, 7
		train := make([]byte, 0, seg*n)
		var want []string
		for i := range n {
			size := seg
			if i == n-1 {
				size = 300 // the last one is shorter
			}
			p := bytes.Repeat([]byte{byte('a' + i)}, size)
			p[0] = bulk.Marker
			train = append(train, p...)
			want = append(want, string(p))
		}
		before := a.mc.Stats().RelayTx.Packets
		if err := a.mc.WriteSegments(train, seg, a.mc.PeerAddr(b.pub)); err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			select {
			case p := <-got:
				if p != w {
					t.Fatalf("packet %d: %d bytes starting %q, want %d starting %q", i, len(p), p[1:2], len(w), w[1:2])
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("got %d of %d packets", i, n)
			}
		}
		if sent := a.mc.Stats().RelayTx.Packets - before; sent != n {
			t.Errorf("relay tx counted %d packets, want %d", sent, n)
		}
	})
}

// TestReplayedPing: a peer's ping captured on the wire and sent again,
// from another address, is ignored: no pong, no ping back, and the
// address does not become the peer's. The genuine next ping still counts.
func TestReplayedPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		a := w.newNode("a", public, nodeOpts{noQUIC: true, noRelay: true, timing: quietTiming()})
		// b is only a key and an address: nothing answers a, so every count
		// below is a's own doing.
		b := key.NewNode()
		bAddr := netip.MustParseAddrPort("198.18.55.5:41641")
		attacker := netip.MustParseAddrPort("198.18.66.6:41641")
		a.mc.SetPeer(b.Public(), []netip.AddrPort{bAddr}, "")

		ping := disco.Encode(b, a.pub, &disco.Ping{TxID: disco.NewTxID()})
		a.mc.handleDiscoUDP(ping, bAddr)
		before := a.mc.Stats()
		a.mc.handleDiscoUDP(ping, attacker) // the replay, from elsewhere
		a.mc.handleDiscoUDP(ping, bAddr)    // and from the same address
		after := a.mc.Stats()
		if before.Disco.PingsReceived != 1 || before.Disco.PongsSent != 1 {
			t.Fatalf("the genuine ping: %d received, %d pongs, want 1 and 1", before.Disco.PingsReceived, before.Disco.PongsSent)
		}
		if got := after.Disco.PingsReceived - before.Disco.PingsReceived; got != 0 {
			t.Errorf("%d replayed pings handled, want 0", got)
		}
		if got := after.Disco.PongsSent - before.Disco.PongsSent; got != 0 {
			t.Errorf("%d pongs sent to replays, want 0", got)
		}
		if got := after.Drops.StaleDisco - before.Drops.StaleDisco; got != 2 {
			t.Errorf("%d stale disco drops, want 2", got)
		}
		a.mc.mu.RLock()
		_, cand := a.mc.peers[b.Public()].cands[attacker]
		owner := a.mc.byAddr[attacker]
		a.mc.mu.RUnlock()
		if cand || owner != nil {
			t.Errorf("the replay's address became b's (candidate %v, claimed %v)", cand, owner != nil)
		}

		a.mc.handleDiscoUDP(disco.Encode(b, a.pub, &disco.Ping{TxID: disco.NewTxID()}), bAddr)
		if got := a.mc.Stats().Disco.PingsReceived - after.Disco.PingsReceived; got != 1 {
			t.Errorf("the next genuine ping handled %d times, want once", got)
		}
	})
}
