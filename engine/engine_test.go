package engine_test

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/magicconn/natlab"
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
	return startNodeWith(t, name, dir, nil)
}

// startNodeNet is startNode with an OS network configurator.
func startNodeNet(t *testing.T, name, dir string, nc engine.NetConfigurator) *node {
	t.Helper()
	return startNodeWith(t, name, dir, func(c *engine.Config) { c.Net = nc })
}

// startNodeTUN starts a node whose engine reads fake through dev.
func startNodeTUN(t *testing.T, name, dir string, fake *enginetest.TUN, dev tun.Device) *node {
	t.Helper()
	return startNodeFull(t, name, dir, fake, func(c *engine.Config) { c.TUN = dev })
}

// startNodeWith is startNode with a hook that adjusts the configuration;
// extra, if set, returns addresses to advertise besides the socket's.
func startNodeWith(t *testing.T, name, dir string, adjust func(*engine.Config), extra ...netip.AddrPort) *node {
	t.Helper()
	return startNodeFull(t, name, dir, enginetest.NewTUN(), adjust, extra...)
}

func startNodeFull(t *testing.T, name, dir string, fake *enginetest.TUN, adjust func(*engine.Config), extra ...netip.AddrPort) *node {
	t.Helper()
	n := &node{name: name, dir: dir, tun: fake}
	var e *engine.Engine
	cfg := engine.LoopbackConfig(dir, name, n.tun, &e)
	if w, ok := virtualNets.Load(t); ok {
		w.(*natWorld).onHost(w.(*natWorld).publicHost(dir))(&cfg) // by dir: a node restarted comes back on its host
	}
	if len(extra) > 0 {
		own := cfg.Endpoints
		cfg.Endpoints = func() []netip.AddrPort { return append(own(), extra...) }
	}
	if adjust != nil {
		adjust(&cfg)
	}
	e, err := engine.New(cfg)
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

// meshOfThree starts alpha, beta and gamma under root, all members of
// network "home" (alpha its admin). Whatever nodes the slice holds when
// the test ends are closed.
func meshOfThree(t *testing.T, root string) []*node {
	t.Helper()
	return meshOfThreeWith(t, root, startNode)
}

// starter starts one node: startNode, or one on a simulated network.
type starter func(t *testing.T, name, dir string) *node

// meshOfThreeWith is meshOfThree with nodes started by start.
func meshOfThreeWith(t *testing.T, root string, start starter) []*node {
	t.Helper()
	a := start(t, "alpha", root+"/a")
	b := start(t, "beta", root+"/b")
	c := start(t, "gamma", root+"/c")
	nodes := []*node{a, b, c}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.e.Close()
		}
	})
	if _, err := a.e.CreateNetwork("home", false); err != nil {
		t.Fatal(err)
	}
	join(t, a, b, "home", netmap.InviteSingle)
	join(t, a, c, "home", netmap.InviteReusable)
	return nodes
}

// TestThreeNodes runs three engines on a simulated network (natlab, on
// virtual time) with fake TUNs: joins, a full mesh, packets both ways over
// IPv4 and IPv6, the spoofing check, ICMP for oversized packets, down/up,
// leave, restart — and no goroutine left behind.
func TestThreeNodes(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		threeNodes(t, inBubble(t), startNode)
	})
}

// TestThreeNodesBehindNATs runs the scenario of TestThreeNodes on virtual
// time, each engine behind a port-restricted NAT of its own on a
// simulated internet with a relay (natWorld): hole punching must give
// direct paths. synctest.Test fails if a goroutine is left behind.
func TestThreeNodesBehindNATs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newNATWorld(t)
		threeNodes(t, inBubble(t), w.behindNATs(t, natlab.PortRestrictedNAT))
	})
}

// inBubble runs the steps of a scenario in t itself, logging their
// names: a synctest bubble allows no t.Run.
func inBubble(t *testing.T) func(string, func(*testing.T)) bool {
	return func(name string, f func(*testing.T)) bool {
		t.Log("step:", name)
		f(t)
		return !t.Failed()
	}
}

// threeNodes is the scenario of TestThreeNodes: run runs each step,
// start starts each node.
func threeNodes(t *testing.T, run func(string, func(*testing.T)) bool, start starter) {
	root := t.TempDir()
	nodes := meshOfThreeWith(t, root, start)
	a, b, c := nodes[0], nodes[1], nodes[2]
	for _, x := range nodes {
		for _, y := range nodes {
			if x != y {
				enginetest.WaitFor(t, 10*time.Second, x.name+" sees "+y.name, func() bool {
					p, ok := x.peer(y.name)
					return ok && p.Online
				})
			}
		}
	}

	run("packets both ways, v4 and v6", func(t *testing.T) {
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

	run("full-size packet fits one datagram", func(t *testing.T) {
		pkt := enginetest.UDPPacket(a.self().IPv6, b.self().IPv6, 1, 2, engine.TUNMTU-48)
		if len(pkt) != engine.TUNMTU {
			t.Fatalf("built %d bytes", len(pkt))
		}
		a.tun.ToEngine <- pkt
		expectPacket(t, b.tun, "full-MTU packet", func(p []byte) bool { return bytes.Equal(p, pkt) })
	})

	run("oversized packet answered with ICMP", func(t *testing.T) {
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

	run("spoofed source dropped", func(t *testing.T) {
		before := a.e.Status().Drops["spoofed_source"]
		// beta sends a packet claiming gamma's address.
		b.tun.ToEngine <- enginetest.UDPPacket(c.self().IPv4, a.self().IPv4, 1, 2, 100)
		enginetest.WaitFor(t, 5*time.Second, "spoof counted", func() bool {
			return a.e.Status().Drops["spoofed_source"] == before+1
		})
	})

	run("no route counted", func(t *testing.T) {
		before := a.e.Status().Drops["no_peer"]
		a.tun.ToEngine <- enginetest.UDPPacket(a.self().IPv4, netip.MustParseAddr("100.64.0.9"), 1, 2, 10)
		enginetest.WaitFor(t, 5*time.Second, "no_peer counted", func() bool { return a.e.Status().Drops["no_peer"] == before+1 })
	})

	run("ping", func(t *testing.T) {
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

	run("down drops, keeps connections", func(t *testing.T) {
		if err := b.e.SetUp(false); err != nil {
			t.Fatal(err)
		}
		before := b.e.Status().Drops["down"]
		a.tun.ToEngine <- enginetest.UDPPacket(a.self().IPv4, b.self().IPv4, 1, 2, 10)
		enginetest.WaitFor(t, 5*time.Second, "down drop", func() bool { return b.e.Status().Drops["down"] == before+1 })
		if p, _ := a.peer("beta"); !p.Online {
			t.Error("connection lost on down")
		}
		b.e.SetUp(true)
	})

	run("leave prunes", func(t *testing.T) {
		if err := c.e.Leave("home"); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, 5*time.Second, "alpha prunes gamma", func() bool {
			st := a.e.Status()
			return len(st.Networks) == 1 && st.Networks[0].Members == 2
		})
		enginetest.WaitFor(t, 5*time.Second, "beta drops gamma", func() bool { _, ok := b.peer("gamma"); return !ok })
		join(t, a, c, "home", netmap.InviteSingle)
	})

	run("bulk channel carries packets", func(t *testing.T) {
		enginetest.WaitFor(t, 5*time.Second, "bulk on every connection", func() bool {
			for _, n := range nodes {
				for _, p := range n.e.Status().Peers {
					if p.Carrier != "bulk" {
						return false
					}
				}
			}
			return true
		})
		if n := a.e.BulkSessions(); n != 6 { // 2 peers x epochs 0, 1 and 2
			t.Errorf("alpha has %d bulk sessions, want 6", n)
		}
	})

	run("restart keeps identity and reconnects", func(t *testing.T) {
		id := b.self().ID
		b.e.Close()
		// The closed connection's bulk keys go at once.
		enginetest.WaitFor(t, 2*time.Second, "alpha drops beta's bulk keys", func() bool { return a.e.BulkSessions() == 3 })
		b = start(t, "beta", root+"/b")
		nodes[1] = b
		if b.self().ID != id {
			t.Fatal("identity changed across restart")
		}
		enginetest.WaitFor(t, 10*time.Second, "beta back", func() bool {
			p, ok := a.peer("beta")
			q, ok2 := c.peer("beta")
			return ok && ok2 && p.Online && q.Online
		})
	})

	for _, n := range nodes {
		n.e.Close()
		n.e.Close() // idempotent
	}
}
