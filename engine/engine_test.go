package engine_test

import (
	"bytes"
	"context"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/engine/packet"
	"github.com/rayfish/rayfish/platform/tun"
)

// node is one in-process engine on loopback with a fake TUN.
type node struct {
	name string
	dir  string
	tun  *enginetest.TUN
	e    *engine.Engine
}

func startNode(t *testing.T, name, dir string) *node {
	t.Helper()
	return startNodeTUN(t, name, dir, enginetest.NewTUN(), nil)
}

// startNodeTUN starts a node whose engine reads fake through dev (nil: fake
// itself).
func startNodeTUN(t *testing.T, name, dir string, fake *enginetest.TUN, dev tun.Device) *node {
	t.Helper()
	n := &node{name: name, dir: dir, tun: fake}
	if dev == nil {
		dev = fake
	}
	var e *engine.Engine
	e, err := engine.New(engine.Config{
		StateDir:    dir,
		ListenPort:  -1,
		ListenAddr:  netip.MustParseAddr("127.0.0.1"),
		TUN:         dev,
		Hostname:    name,
		DisableMDNS: true,
		Endpoints: func() []netip.AddrPort {
			return []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(e.ListenPort()))}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	// Inbound UDP to port 2000 is what the tests send.
	err = e.UpdateFirewall(func(rs *firewall.Ruleset, _ *firewall.Suggested) error {
		return rs.Add(firewall.Rule{Direction: firewall.In, Action: firewall.Allow, Proto: firewall.ProtoUDP,
			Ports: []firewall.PortRange{{First: 1, Last: 2000}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	n.e = e
	return n
}

func (n *node) self() apitype.Self { return n.e.Status().Self }

func (n *node) peer(hostname string) (apitype.Peer, bool) {
	for _, p := range n.e.Status().Peers {
		if p.Hostname == hostname {
			return p, true
		}
	}
	return apitype.Peer{}, false
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectPacket waits for a packet on tun matching pred.
func expectPacket(t *testing.T, tun *enginetest.TUN, what string, pred func([]byte) bool) []byte {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case p := <-tun.FromEngine:
			if pred(p) {
				return p
			}
		case <-timeout:
			t.Fatalf("no packet: %s", what)
			return nil
		}
	}
}

func join(t *testing.T, admin, n *node, network string, kind netmap.InviteKind) {
	t.Helper()
	code, _, err := admin.e.Invite(network, kind, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.e.Join(context.Background(), code, "", 10*time.Second); err != nil {
		t.Fatalf("%s joins %s: %v", n.name, network, err)
	}
}

// TestThreeNodes runs three engines over loopback UDP with fake TUNs:
// joins, a full mesh, packets both ways over IPv4 and IPv6, the spoofing
// check, ICMP for oversized packets, down/up, leave, restart — and no
// goroutine left behind.
func TestThreeNodes(t *testing.T) {
	before := runtime.NumGoroutine()
	root := t.TempDir()
	a := startNode(t, "alpha", root+"/a")
	b := startNode(t, "beta", root+"/b")
	c := startNode(t, "gamma", root+"/c")
	nodes := []*node{a, b, c}
	defer func() {
		for _, n := range nodes {
			n.e.Close()
		}
	}()

	if _, err := a.e.CreateNetwork("home", false); err != nil {
		t.Fatal(err)
	}
	join(t, a, b, "home", netmap.InviteSingle)
	join(t, a, c, "home", netmap.InviteReusable)
	for _, x := range nodes {
		for _, y := range nodes {
			if x != y {
				waitFor(t, 10*time.Second, x.name+" sees "+y.name, func() bool {
					p, ok := x.peer(y.name)
					return ok && p.Online
				})
			}
		}
	}

	t.Run("packets both ways, v4 and v6", func(t *testing.T) {
		for _, pair := range [][2]*node{{a, b}, {b, c}, {c, a}, {b, a}} {
			src, dst := pair[0].self(), pair[1].self()
			for _, addrs := range [][2]netip.Addr{{src.IPv4, dst.IPv4}, {src.IPv6, dst.IPv6}} {
				pkt := enginetest.UDPPacket(addrs[0], addrs[1], 1000, 2000, 1200)
				pair[0].tun.ToEngine <- pkt
				expectPacket(t, pair[1].tun, "delivery "+pair[0].name+"->"+pair[1].name, func(p []byte) bool {
					return bytes.Equal(p, pkt)
				})
			}
		}
	})

	t.Run("full-size packet fits one datagram", func(t *testing.T) {
		pkt := enginetest.UDPPacket(a.self().IPv6, b.self().IPv6, 1, 2, engine.TUNMTU-48)
		if len(pkt) != engine.TUNMTU {
			t.Fatalf("built %d bytes", len(pkt))
		}
		a.tun.ToEngine <- pkt
		expectPacket(t, b.tun, "full-MTU packet", func(p []byte) bool { return bytes.Equal(p, pkt) })
	})

	t.Run("oversized packet answered with ICMP", func(t *testing.T) {
		for _, v6 := range []bool{false, true} {
			src, dst := a.self().IPv4, b.self().IPv4
			if v6 {
				src, dst = a.self().IPv6, b.self().IPv6
			}
			a.tun.ToEngine <- enginetest.UDPPacket(src, dst, 1, 2, engine.TUNMTU)
			reply := expectPacket(t, a.tun, "ICMP too big", func(p []byte) bool {
				var info packet.Info
				return packet.Parse(p, &info) == nil && (info.Proto == packet.ProtoICMPv4 || info.Proto == packet.ProtoICMPv6)
			})
			var info packet.Info
			packet.Parse(reply, &info)
			wantType := uint8(3) // destination unreachable, code 4
			if v6 {
				wantType = 2 // packet too big
			}
			if info.Dst != src || info.ICMPType != wantType {
				t.Errorf("v6=%v: got ICMP type %d to %v", v6, info.ICMPType, info.Dst)
			}
		}
	})

	t.Run("spoofed source dropped", func(t *testing.T) {
		before := a.e.Status().Drops["spoofed_source"]
		// beta sends a packet claiming gamma's address.
		b.tun.ToEngine <- enginetest.UDPPacket(c.self().IPv4, a.self().IPv4, 1, 2, 100)
		waitFor(t, 5*time.Second, "spoof counted", func() bool {
			return a.e.Status().Drops["spoofed_source"] == before+1
		})
	})

	t.Run("no route counted", func(t *testing.T) {
		before := a.e.Status().Drops["no_peer"]
		a.tun.ToEngine <- enginetest.UDPPacket(a.self().IPv4, netip.MustParseAddr("100.64.0.9"), 1, 2, 10)
		waitFor(t, 5*time.Second, "no_peer counted", func() bool { return a.e.Status().Drops["no_peer"] == before+1 })
	})

	t.Run("ping", func(t *testing.T) {
		k, err := a.e.ResolvePeer("beta")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r, err := a.e.Ping(ctx, k, 7)
		if err != nil || r.RTT <= 0 || r.Path != "direct" {
			t.Fatalf("ping: %+v %v", r, err)
		}
		if _, err := a.e.ResolvePeer("nobody"); err == nil {
			t.Error("resolved an unknown name")
		}
	})

	t.Run("down drops, keeps connections", func(t *testing.T) {
		if err := b.e.SetUp(false); err != nil {
			t.Fatal(err)
		}
		before := b.e.Status().Drops["down"]
		a.tun.ToEngine <- enginetest.UDPPacket(a.self().IPv4, b.self().IPv4, 1, 2, 10)
		waitFor(t, 5*time.Second, "down drop", func() bool { return b.e.Status().Drops["down"] == before+1 })
		if p, _ := a.peer("beta"); !p.Online {
			t.Error("connection lost on down")
		}
		b.e.SetUp(true)
	})

	t.Run("leave prunes", func(t *testing.T) {
		if err := c.e.Leave("home"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "alpha prunes gamma", func() bool {
			st := a.e.Status()
			return len(st.Networks) == 1 && st.Networks[0].Members == 2
		})
		waitFor(t, 5*time.Second, "beta drops gamma", func() bool { _, ok := b.peer("gamma"); return !ok })
		join(t, a, c, "home", netmap.InviteSingle)
	})

	t.Run("bulk channel carries packets", func(t *testing.T) {
		waitFor(t, 5*time.Second, "bulk on every connection", func() bool {
			for _, n := range nodes {
				for _, p := range n.e.Status().Peers {
					if p.Carrier != "bulk" {
						return false
					}
				}
			}
			return true
		})
		if n := a.e.BulkSessions(); n != 4 { // 2 peers x epochs 0 and 1
			t.Errorf("alpha has %d bulk sessions, want 4", n)
		}
	})

	t.Run("restart keeps identity and reconnects", func(t *testing.T) {
		id := b.self().ID
		b.e.Close()
		// The closed connection's bulk keys go at once.
		waitFor(t, 2*time.Second, "alpha drops beta's bulk keys", func() bool { return a.e.BulkSessions() == 2 })
		b = startNode(t, "beta", root+"/b")
		nodes[1] = b
		if b.self().ID != id {
			t.Fatal("identity changed across restart")
		}
		waitFor(t, 10*time.Second, "beta back", func() bool {
			p, ok := a.peer("beta")
			q, ok2 := c.peer("beta")
			return ok && ok2 && p.Online && q.Online
		})
	})

	for _, n := range nodes {
		n.e.Close()
		n.e.Close() // idempotent
	}
	waitFor(t, 10*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before+2 })
}
