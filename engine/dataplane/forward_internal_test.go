package dataplane

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/magicdns"
	"github.com/rayfish/rayfish/engine/packet"
	"github.com/rayfish/rayfish/engine/router"
)

var (
	fwSelf  = netip.MustParseAddr("100.64.1.2")
	fwPeer  = netip.MustParseAddr("100.64.1.3")
	fwInet  = netip.MustParseAddr("198.18.77.10")
	fwLAN   = netip.MustParseAddr("198.18.78.20")
	fwOther = netip.MustParseAddr("100.64.1.9") // no one's
)

// drainTUN returns how many packets wait for the TUN, freeing them.
func drainTUN(pl *Plane) int {
	n := 0
	for len(pl.tunq) > 0 {
		pl.putBuf(<-pl.tunq)
		n++
	}
	return n
}

func TestForwardingInbound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		routing Routing
		dst     netip.Addr
		reason  string // "" delivered to the TUN
	}{
		{"not serving", Routing{}, fwInet, "not_for_us"},
		{"exit node", Routing{ServeExit: true}, fwInet, ""},
		{"exit node, overlay destination", Routing{ServeExit: true}, fwOther, "not_for_us"},
		{"subnet router, in its route", Routing{ServePrefixes: []netip.Prefix{netip.MustParsePrefix("198.18.78.0/24")}}, fwLAN, ""},
		{"subnet router, outside", Routing{ServePrefixes: []netip.Prefix{netip.MustParsePrefix("198.18.78.0/24")}}, fwInet, "not_for_us"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, p := testPlane(t, fwSelf, fwPeer)
			pl.SetRouting(tc.routing)
			pl.Receive(p, enginetest.UDPPacket(fwPeer, tc.dst, 1, 2, 10))
			got := drainTUN(pl)
			switch {
			case tc.reason == "" && got != 1:
				t.Errorf("not forwarded; drops %v", nonZero(pl.Drops()))
			case tc.reason != "" && pl.Drops()[tc.reason] != 1:
				t.Errorf("drops %v, want %s", nonZero(pl.Drops()), tc.reason)
			}
		})
	}
}

func nonZero(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range m {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}

// exitPlane is a client's plane whose exit node is p (the default peer).
func exitPlane(t *testing.T) (*Plane, *Peer) {
	pl, p := testPlane(t, fwSelf, fwPeer)
	var b router.Builder[*Peer]
	b.AddLocal(fwSelf)
	b.Add(fwPeer, p)
	b.SetDefault(p)
	pl.SetRoutes(&b)
	pl.SetRouting(Routing{Exit: p})
	return pl, p
}

func TestExitNodeKillSwitch(t *testing.T) {
	pl, p := exitPlane(t)
	pl.outbound(enginetest.UDPPacket(fwSelf, fwInet, 1, 2, 10))
	pl.flushOut()
	if len(p.sendq) != 1 {
		t.Fatalf("internet packet not sent to the exit node; drops %v", nonZero(pl.Drops()))
	}
	pl.putBatch(<-p.sendq)
	p.queued.Store(0)
	// Replies from the exit node may carry any source but an overlay one.
	pl.Receive(p, enginetest.UDPPacket(fwInet, fwSelf, 2, 1, 10))
	if drainTUN(pl) != 1 {
		t.Errorf("reply from the internet dropped: %v", nonZero(pl.Drops()))
	}
	pl.Receive(p, enginetest.UDPPacket(fwOther, fwSelf, 2, 1, 10))
	if pl.Drops()["spoofed_source"] != 1 {
		t.Errorf("an unowned overlay source from the exit node: drops %v", nonZero(pl.Drops()))
	}

	// Offline: dropped as exit_node_down.
	p.SetCarrier(nil)
	pl.outbound(enginetest.UDPPacket(fwSelf, fwInet, 1, 2, 10))
	// Unapproved: no default peer, still dropped, never "no route".
	var b router.Builder[*Peer]
	b.AddLocal(fwSelf)
	b.Add(fwPeer, p)
	pl.SetRoutes(&b)
	pl.SetRouting(Routing{ExitBlocked: true})
	pl.outbound(enginetest.UDPPacket(fwSelf, fwInet, 1, 2, 10))
	if d := pl.Drops(); d["exit_node_down"] != 2 || d["no_peer"] != 0 {
		t.Errorf("drops %v, want exit_node_down 2", nonZero(d))
	}
	if a := testing.AllocsPerRun(100, func() { pl.outbound(enginetest.UDPPacket(fwSelf, fwInet, 1, 2, 10)) }); a > 1 {
		t.Errorf("%v allocs per dropped packet (the test's packet is one)", a)
	}
}

// dnsQuery builds a UDP packet from src to dst:53 asking for name.
func dnsQuery(t *testing.T, src, dst netip.Addr, name string) []byte {
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	wire, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	pkt := enginetest.UDPPacket(src, dst, 5353, 53, len(wire))
	copy(pkt[28:], wire)
	return pkt
}

func TestExitNodeAnswersPeerDNS(t *testing.T) {
	res := magicdns.NewResolver(magicdns.Config{})
	res.SetTable(magicdns.NewTable([]magicdns.Entry{{Network: "lab", Hostname: "nas", IPv4: netip.MustParseAddr("100.64.1.7")}}))
	pl, p := testPlane(t, fwSelf, fwPeer)
	pl.cfg.DNS = res
	query := dnsQuery(t, fwPeer, fwSelf, "nas.lab.ray.")

	// Not serving as an exit node: the query is an ordinary inbound
	// packet (the firewall allows it here, so it reaches the TUN).
	pl.Receive(p, query)
	if drainTUN(pl) != 1 || len(p.sendq) != 0 {
		t.Fatal("a plane that is no exit node answered DNS")
	}
	pl.SetRouting(Routing{ServeExit: true})
	pl.Receive(p, query)
	if len(p.sendq) != 1 || drainTUN(pl) != 0 {
		t.Fatalf("no answer queued for the peer; drops %v", nonZero(pl.Drops()))
	}
	sb := <-p.sendq
	defer pl.putBatch(sb)
	reply := sb.bufs[0].packet()
	var info packet.Info
	if err := packet.Parse(reply, &info); err != nil || info.Src != fwSelf || info.Dst != fwPeer || info.SrcPort != 53 {
		t.Fatalf("reply %+v, %v", info, err)
	}
	var m dns.Msg
	if err := m.Unpack(reply[28:]); err != nil || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "100.64.1.7" {
		t.Errorf("answer %v, %v", m.Answer, err)
	}
	// A forwarded reply for the peer goes to the peer, not the TUN.
	if !pl.deliverToPeer(enginetest.UDPPacket(fwSelf, fwPeer, 53, 5353, 20)) || len(p.sendq) != 1 {
		t.Error("forwarded reply not sent to the peer")
	}
	pl.putBatch(<-p.sendq)
	if pl.deliverToPeer(enginetest.UDPPacket(fwPeer, fwSelf, 53, 5353, 20)) {
		t.Error("a reply for us was not left to the TUN")
	}
}
