package netcfg

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/rayfish/rayfish/platform/internal/nstest"
	"github.com/rayfish/rayfish/platform/tun"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestForwardingRecord(t *testing.T) {
	for _, f := range []forwarding{{"0", "0"}, {"1", "0"}, {"0", "-"}, {"1", "1"}} {
		got, err := parseRecord(f.comment())
		if err != nil || got != f {
			t.Errorf("parseRecord(%q) = %v, %v; want %v", f.comment(), got, err, f)
		}
		s, ok := commentOf(comment(f.comment()))
		if !ok || s != f.comment() {
			t.Errorf("commentOf(comment(%q)) = %q, %v", f.comment(), s, ok)
		}
	}
	for _, s := range []string{
		"", "rayfish: restore", "rayfish: restore ip_forward=0", "rayfish: restore ip_forward=2 ipv6_forwarding=0",
		"rayfish: restore ip_forward=- ipv6_forwarding=0", "other ip_forward=0 ipv6_forwarding=0",
	} {
		if f, err := parseRecord(s); err == nil {
			t.Errorf("parseRecord(%q) = %v, want an error", s, f)
		}
	}
	for _, u := range [][]byte{nil, {0}, {0, 5, 'a'}, {1, 1, 'x'}, {1, 9}} {
		if s, ok := commentOf(u); ok {
			t.Errorf("commentOf(%v) = %q, want none", u, s)
		}
	}
	if s, ok := commentOf([]byte{1, 1, 'x', 0, 3, 'a', 'b', 0}); !ok || s != "ab" {
		t.Errorf("commentOf after another TLV = %q, %v", s, ok)
	}
}

func TestPrefixMask(t *testing.T) {
	for _, c := range []struct {
		p    string
		want []byte
	}{
		{"100.64.0.0/10", []byte{255, 192, 0, 0}},
		{"10.0.0.0/8", []byte{255, 0, 0, 0}},
		{"fd72:6179:6669::/48", []byte{255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	} {
		if got := prefixMask(netip.MustParsePrefix(c.p)); !bytes.Equal(got, c.want) {
			t.Errorf("prefixMask(%s) = %v, want %v", c.p, got, c.want)
		}
	}
}

// setForwarding writes the forwarding sysctls for a test.
func setForwarding(t *testing.T, f forwarding) {
	t.Helper()
	if err := writeForwarding(f); err != nil {
		t.Fatal(err)
	}
}

func checkForwarding(t *testing.T, want forwarding) {
	t.Helper()
	got, err := readForwarding()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("forwarding = %+v, want %+v", got, want)
	}
}

// forwardState returns the number of masquerade rules in nat-<tun>, the
// rules of fwd-<tun> and the record in its comment; -1 for a missing
// chain.
func forwardState(t *testing.T, tun string) (masq, fwd int, rec string) {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	have, err := tableChains(c)
	if err != nil {
		t.Fatal(err)
	}
	count := func(ch *nftables.Chain, f func(*nftables.Rule)) int {
		if !slices.Contains(have, ch.Name) {
			return -1
		}
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			f(r)
		}
		return len(rules)
	}
	masq = count(natChain(tun), func(r *nftables.Rule) {
		if !slices.ContainsFunc(r.Exprs, func(e expr.Any) bool { _, ok := e.(*expr.Masq); return ok }) {
			t.Errorf("nat rule without masquerade: %v", r.Exprs)
		}
	})
	fwd = count(fwdChain(tun), func(r *nftables.Rule) {
		if s, ok := commentOf(r.UserData); ok {
			rec = s
		}
	})
	return masq, fwd, rec
}

// TestForwardLinux serves as a router in a namespace with a real TUN:
// forwarding on and the masquerade and forward chains present (once, with
// the original sysctls recorded) while Forward is set, everything
// restored when it is unset, on Teardown, and by Cleanup after a
// simulated crash.
func TestForwardLinux(t *testing.T) {
	nstest.Do(t, func() {
		setupLAN(t)
		const name = "y14fwd0"
		dev, err := tun.Create(name, 1420)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { dev.Close() }()
		orig := forwarding{v4: "0", v6: "1"} // distinct, to catch a swap
		setForwarding(t, orig)
		on := forwarding{v4: "1", v6: "1"}
		cfg := Config{Name: name, Addrs: pfx("100.64.9.9/10", "fd72:6179:6669:0:1:2:3:4/48"), Forward: true}
		check := func(step string, wantMasq, wantFwd int, wantRec string, wantSysctl forwarding) {
			t.Helper()
			masq, fwd, rec := forwardState(t, name)
			if masq != wantMasq || fwd != wantFwd || rec != wantRec {
				t.Errorf("%s: %d masquerade rules, %d forward rules, record %q; want %d, %d, %q",
					step, masq, fwd, rec, wantMasq, wantFwd, wantRec)
			}
			checkForwarding(t, wantSysctl)
		}
		for range 3 {
			if err := Apply(cfg); err != nil {
				t.Fatalf("Apply with Forward: %v", err)
			}
		}
		check("serving", 2, 1, orig.comment(), on)

		cfg.Forward = false
		if err := Apply(cfg); err != nil {
			t.Fatalf("Apply without Forward: %v", err)
		}
		check("stopped", -1, -1, "", orig)
		if n := guardRuleCount(t, name); n != 2 {
			t.Errorf("overlay guard has %d rules after forwarding stopped, want 2", n)
		}

		// Teardown restores too.
		cfg.Forward = true
		if err := Apply(cfg); err != nil {
			t.Fatal(err)
		}
		if err := Teardown(name); err != nil {
			t.Fatal(err)
		}
		check("after Teardown", -1, -1, "", orig)

		// Crash: the TUN goes, the rest stays. A restart that applies
		// again keeps the original record and adds no rules; Cleanup at
		// the next start restores everything.
		if err := Apply(cfg); err != nil {
			t.Fatal(err)
		}
		dev.Close()
		if dev, err = tun.Create(name, 1420); err != nil {
			t.Fatal(err)
		}
		if err := Apply(cfg); err != nil {
			t.Fatal(err)
		}
		check("restarted without Cleanup", 2, 1, orig.comment(), on)
		dev.Close()
		check("crashed", 2, 1, orig.comment(), on)
		if err := Cleanup(name); err != nil {
			t.Fatalf("Cleanup: %v", err)
		}
		check("after Cleanup", -1, -1, "", orig)
		c, _ := nftables.New()
		if have, _ := tableChains(c); len(have) != 0 {
			t.Errorf("chains left in table inet rayfish after Cleanup: %v", have)
		}
		if err := Cleanup(name); err != nil {
			t.Errorf("second Cleanup: %v", err)
		}
		checkForwarding(t, orig)

		// A record that cannot be read is reported, and the chains go.
		if dev, err = tun.Create(name, 1420); err != nil {
			t.Fatal(err)
		}
		if err := Apply(cfg); err != nil {
			t.Fatal(err)
		}
		breakRecord(t, name)
		if err := Cleanup(name); err == nil {
			t.Error("Cleanup with a malformed record succeeded")
		}
		if masq, fwd, _ := forwardState(t, name); masq != -1 || fwd != -1 {
			t.Errorf("chains left after Cleanup with a malformed record: %d, %d", masq, fwd)
		}
		b, _ := os.ReadFile(sysctlForward4)
		if string(bytes.TrimSpace(b)) != "1" {
			t.Errorf("ip_forward = %q after an unreadable record, want left on", b)
		}
	})
}

// breakRecord replaces fwd-<tun>'s rule with one whose comment is not a
// record.
func breakRecord(t *testing.T, tun string) {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	ch := fwdChain(tun)
	c.FlushChain(ch)
	c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: inboundDropRule(tun),
		UserData: comment(recordPrefix + "ip_forward=7")})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

// tunUDP reads dev until it is closed and sends every IPv4/UDP packet it
// reads on the returned channel.
func tunUDP(dev tun.Device) <-chan []byte {
	ch := make(chan []byte, 16)
	go func() {
		defer close(ch)
		bufs := make([][]byte, dev.BatchSize())
		sizes := make([]int, len(bufs))
		for i := range bufs {
			bufs[i] = make([]byte, tun.Headroom+65535)
		}
		for {
			n, err := dev.Read(bufs, sizes, tun.Headroom)
			if err != nil {
				return
			}
			for i := range n {
				pkt := bufs[i][tun.Headroom : tun.Headroom+sizes[i]]
				if len(pkt) >= 28 && pkt[0]>>4 == 4 && pkt[9] == 17 {
					select {
					case ch <- bytes.Clone(pkt):
					default:
					}
				}
			}
		}
	}()
	return ch
}

// writeTUN writes one packet into dev, as if a peer sent it.
func writeTUN(t *testing.T, dev tun.Device, pkt []byte) {
	t.Helper()
	buf := make([]byte, tun.Headroom+len(pkt))
	copy(buf[tun.Headroom:], pkt)
	if _, err := dev.Write([][]byte{buf}, tun.Headroom); err != nil {
		t.Fatalf("TUN write: %v", err)
	}
}

// inNS runs f with the calling (locked) thread in namespace ns, then
// moves it back to back.
func inNS(t *testing.T, ns, back netns.NsHandle, f func()) {
	t.Helper()
	if err := netns.Set(ns); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := netns.Set(back); err != nil {
			panic(err) // the thread is in the wrong namespace
		}
	}()
	f()
}

// TestForwardTrafficLinux forwards real packets: a datagram a mesh peer
// (100.64.1.1) sends through the TUN to a LAN host in another namespace
// arrives from this host's LAN address, the reply comes back through the
// TUN to the peer, a LAN host cannot open a flow into the mesh, and with
// Forward off nothing is forwarded.
func TestForwardTrafficLinux(t *testing.T) {
	nstest.Do(t, func() {
		here, err := netns.Get()
		if err != nil {
			t.Fatal(err)
		}
		defer here.Close()
		const name = "y14fwd1"
		dev, err := tun.Create(name, 1420)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		cfg := Config{Name: name, Addrs: pfx("100.64.9.9/10"), Forward: true}
		if err := Apply(cfg); err != nil {
			t.Fatal(err)
		}
		fromTUN := tunUDP(dev)

		// The LAN host: 198.18.78.20 in its own namespace, behind a veth.
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "y14lan1"}, PeerName: "y14lan1p"}
		if err := netlink.LinkAdd(veth); err != nil {
			t.Fatal(err)
		}
		lanHost, err := netns.New() // moves the thread there
		if err != nil {
			t.Fatal(err)
		}
		defer lanHost.Close()
		if err := netns.Set(here); err != nil {
			t.Fatal(err)
		}
		peer, err := netlink.LinkByName(veth.PeerName)
		if err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkSetNsFd(peer, int(lanHost)); err != nil {
			t.Fatal(err)
		}
		up(t, "y14lan1", "198.18.78.1/24")
		var srv, intruder *net.UDPConn
		inNS(t, lanHost, here, func() {
			up(t, veth.PeerName, "198.18.78.20/24")
			link, err := netlink.LinkByName(veth.PeerName)
			if err != nil {
				t.Fatal(err)
			}
			if err := netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index,
				Dst: ipNet(netip.MustParsePrefix("100.64.0.0/10")), Gw: net.IPv4(198, 18, 78, 1)}); err != nil {
				t.Fatal(err)
			}
			if srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(198, 18, 78, 20), Port: 7000}); err != nil {
				t.Fatal(err)
			}
			if intruder, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(198, 18, 78, 20), Port: 7001}); err != nil {
				t.Fatal(err)
			}
		})
		defer srv.Close()
		defer intruder.Close()

		meshPeer := netip.MustParseAddrPort("100.64.1.1:5000")
		lanAddr := netip.MustParseAddrPort("198.18.78.20:7000")
		writeTUN(t, dev, udp4(meshPeer, lanAddr, []byte("hi")))
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 64)
		n, from, err := srv.ReadFromUDPAddrPort(b)
		if err != nil {
			t.Fatalf("the LAN host got nothing: %v", err)
		}
		if string(b[:n]) != "hi" || from.Addr() != netip.MustParseAddr("198.18.78.1") {
			t.Errorf("the LAN host got %q from %v, want \"hi\" from 198.18.78.1 (masqueraded)", b[:n], from)
		}
		if _, err := srv.WriteToUDPAddrPort([]byte("ho"), from); err != nil {
			t.Fatal(err)
		}
		wantReply := func(pkt []byte) bool {
			return netip.AddrFrom4([4]byte(pkt[12:16])) == lanAddr.Addr() &&
				netip.AddrFrom4([4]byte(pkt[16:20])) == meshPeer.Addr() && string(pkt[28:]) == "ho"
		}
		if !awaitUDP(fromTUN, wantReply, 5*time.Second) {
			t.Fatal("the reply never came back through the TUN to the mesh peer")
		}

		// A flow the LAN host opens into the mesh is dropped.
		if _, err := intruder.WriteToUDPAddrPort([]byte("in"), netip.MustParseAddrPort("100.64.1.1:5001")); err != nil {
			t.Fatal(err)
		}
		if awaitUDP(fromTUN, func(pkt []byte) bool { return string(pkt[28:]) == "in" }, 500*time.Millisecond) {
			t.Error("a flow opened from the LAN reached the mesh")
		}

		// Forward off: nothing is forwarded any more.
		cfg.Forward = false
		if err := Apply(cfg); err != nil {
			t.Fatal(err)
		}
		writeTUN(t, dev, udp4(netip.MustParseAddrPort("100.64.1.1:5002"), lanAddr, []byte("again")))
		srv.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if n, from, err := srv.ReadFromUDPAddrPort(b); err == nil {
			t.Errorf("with Forward off the LAN host got %q from %v", b[:n], from)
		}
	})
}

// up sets link name up with address addr.
func up(t *testing.T, name, addr string) {
	t.Helper()
	link, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix(addr))}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
}

// awaitUDP reports whether a packet matching ok arrives on ch within d.
func awaitUDP(ch <-chan []byte, ok func([]byte) bool, d time.Duration) bool {
	deadline := time.After(d)
	for {
		select {
		case pkt, open := <-ch:
			if !open {
				return false
			}
			if ok(pkt) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}
