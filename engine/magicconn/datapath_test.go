package magicconn

import (
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/bulk"
	"github.com/rayfish/rayfish/engine/disco"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/stun"
)

// quietTiming keeps the background quiet (no heartbeats, no expiry) so
// that allocation counts see only the data path.
func quietTiming() *timing {
	t := testTiming()
	t.trust = time.Hour
	t.tick = time.Hour
	t.stunInterval = time.Hour
	return t
}

// TestAllocs: WriteTo and ReadFrom allocate nothing on a direct path or
// through a relay, once the path is set up.
func TestAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a build without -race (make unit runs them without it)")
	}
	w := newWorld(t)
	w.net.SetLatency(0) // delayed delivery allocates a timer
	for _, tt := range []struct {
		name string
		pl   placement
		want string
	}{
		{"direct", public, PathDirect},
		{"relay", symmetric, PathRelay},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := w.newNode("a", tt.pl, nodeOpts{noQUIC: true, timing: quietTiming()})
			b := w.newNode("b", tt.pl, nodeOpts{noQUIC: true, timing: quietTiming()})
			a.waitHome(t)
			b.waitHome(t)
			if tt.want == PathRelay {
				a.mc.SetPeer(b.pub, nil, w.relayURL)
				b.mc.SetPeer(a.pub, nil, w.relayURL)
			} else {
				introduce(a, b)
				introduce(b, a)
			}
			waitPath(t, 5*time.Second, a, b, tt.want)
			dst := a.mc.PeerAddr(b.pub)
			pkt := quicPacket(1200)
			buf := make([]byte, 1500)
			roundTrip := func() {
				a.mc.WriteTo(pkt, dst)
				b.mc.ReadFrom(buf)
			}
			roundTrip() // opens the relay connection, warms the pools
			roundTrip()
			if n := testing.AllocsPerRun(500, roundTrip); n != 0 {
				t.Errorf("%v allocations per packet", n)
			}
		})
	}
}

// BenchmarkWriteRead measures one packet through WriteTo on one Conn and
// ReadFrom on the other, over a direct path in the simulated network.
func BenchmarkWriteRead(b *testing.B) {
	w := newWorld(b)
	w.net.SetLatency(0)
	x := w.newNode("x", public, nodeOpts{noQUIC: true, noRelay: true, timing: quietTiming()})
	y := w.newNode("y", public, nodeOpts{noQUIC: true, noRelay: true, timing: quietTiming()})
	introduce(x, y)
	introduce(y, x)
	waitPath(b, 5*time.Second, x, y, PathDirect)
	dst := x.mc.PeerAddr(y.pub)
	pkt := quicPacket(1200)
	buf := make([]byte, 1500)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		x.mc.WriteTo(pkt, dst)
		y.mc.ReadFrom(buf)
	}
}

// TestNoLeaks: closing Conns with QUIC connections, relays and STUN stops
// every goroutine.
func TestNoLeaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		enginetest.CheckLeaks(t)
		w := newWorld(t)
		a := w.newNode("a", portRestricted, nodeOpts{})
		b := w.newNode("b", symmetric, nodeOpts{})
		meet(t, a, b)
		ca, cb := connect(t, a, b)
		exchange(t, ca, cb)
		_, url2 := w.startRelay()
		a.mc.SetPeer(key.NewNode().Public(), nil, url2) // an on-demand relay connection
		a.mc.WriteTo(quicPacket(100), a.mc.PeerAddr(key.NewNode().Public()))
	})
}

// FuzzReceive feeds arbitrary datagrams to the socket demultiplexer and
// arbitrary relayed packets to the relay handler: nothing may panic.
func FuzzReceive(f *testing.F) {
	w := newWorld(f)
	n := w.newNode("self", public, nodeOpts{noQUIC: true, noRelay: true, timing: quietTiming(),
		onBulk: func(p []byte) {
			if len(p) > maxBulkLen {
				panic("oversize bulk packet passed on")
			}
		}})
	c, self, peer := n.mc, n.key, key.NewNode()
	dead := deadURL
	c.SetPeer(peer.Public(), []netip.AddrPort{netip.MustParseAddrPort("198.18.0.9:41641")}, dead)
	c.mu.Lock()
	rc := c.relayLocked(dead)
	c.mu.Unlock()

	ping := disco.Encode(peer, self.Public(), &disco.Ping{TxID: disco.NewTxID()})
	pong := disco.Encode(peer, self.Public(), &disco.Pong{TxID: disco.NewTxID(), Src: netip.MustParseAddrPort("198.18.0.9:1")})
	cmm := disco.Encode(peer, self.Public(), &disco.CallMeMaybe{Endpoints: []netip.AddrPort{netip.MustParseAddrPort("198.18.0.9:2")}})
	stunResp := stun.AppendResponse(nil, stun.NewTxID(), netip.MustParseAddrPort("198.18.0.9:3"))
	bulkPkt := make([]byte, maxBulkLen+1)
	bulkPkt[0] = bulk.Marker
	for _, seed := range [][]byte{nil, {0}, ping, pong, cmm, stunResp, quicPacket(100), []byte(disco.Magic), ping[:50], bulkPkt, bulkPkt[:100]} {
		f.Add(seed, false, uint16(41641))
		f.Add(seed, true, uint16(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, viaRelay bool, port uint16) {
		if viaRelay {
			c.onRelayPacket(rc, peer.Public(), b)
		} else {
			bp := c.getBuf()
			n := copy(*bp, b)
			c.receiveUDP(bp, n, netip.AddrPortFrom(netip.MustParseAddr("198.18.0.9"), port))
		}
		// Keep the receive queue from filling up.
		for {
			select {
			case pkt := <-c.rxq:
				c.putBuf(pkt.bp)
			default:
				return
			}
		}
	})
}

// BenchmarkQUICStream compares a QUIC stream over loopback UDP through a
// Conn with the same over bare *net.UDPConn sockets, where quic-go uses
// GSO and ECN: the cost of the socket layer.
func BenchmarkQUICStream(b *testing.B) {
	for _, bare := range []bool{false, true} {
		name := "magicconn"
		if bare {
			name = "bare-udp"
		}
		b.Run(name, func(b *testing.B) {
			benchStream(b, bare)
		})
	}
}

func benchStream(b *testing.B, bare bool) {
	var trs [2]*quic.Transport
	var keys [2]key.NodePrivate
	var addrs [2]net.Addr
	var mcs [2]*Conn
	for i := range trs {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = key.NewNode()
		addrs[i] = udp.LocalAddr()
		trs[i] = &quic.Transport{Conn: udp}
		if !bare {
			mc, err := New(Config{Key: keys[i], PacketConn: udp})
			if err != nil {
				b.Fatal(err)
			}
			mc.SetLocalEndpoints([]netip.AddrPort{udp.LocalAddr().(*net.UDPAddr).AddrPort()})
			mcs[i] = mc
			trs[i] = &quic.Transport{Conn: mc}
			b.Cleanup(func() { mc.Close() })
		}
		b.Cleanup(func() { trs[i].Close(); udp.Close() })
	}
	dst := addrs[1]
	if !bare {
		mcs[0].SetPeer(keys[1].Public(), []netip.AddrPort{addrs[1].(*net.UDPAddr).AddrPort()}, "")
		mcs[1].SetPeer(keys[0].Public(), []netip.AddrPort{addrs[0].(*net.UDPAddr).AddrPort()}, "")
		dst = mcs[0].PeerAddr(keys[1].Public())
	}
	srvConf, _ := keys[1].TLSConfig([]string{"bench"}, nil)
	cliConf, _ := keys[0].TLSConfig([]string{"bench"}, key.ExpectPeer(keys[1].Public()))
	ln, err := trs[1].Listen(srvConf, quicConfig())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan int64, 1)
	go func() {
		c, err := ln.Accept(ctx)
		if err != nil {
			done <- 0
			return
		}
		s, err := c.AcceptStream(ctx)
		if err != nil {
			done <- 0
			return
		}
		n, _ := io.Copy(io.Discard, s)
		done <- n
	}()
	c, err := trs[0].Dial(ctx, dst, cliConf, quicConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseWithError(0, "")
	s, err := c.OpenStreamSync(ctx)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if _, err := s.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	<-done
}
