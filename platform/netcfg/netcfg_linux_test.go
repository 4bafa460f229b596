package netcfg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/rayfish/rayfish/platform/internal/nstest"
	"github.com/rayfish/rayfish/platform/tun"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestApplyLinux creates a real TUN in a fresh network namespace, configures
// it, checks the result with netlink, passes packets both ways, reconfigures,
// tears down and closes it.
func TestApplyLinux(t *testing.T) {
	nstest.Do(t, func() {
		const name = "rftest0"
		dev, err := tun.Create(name, 1420)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()

		// Act like a host that disables IPv6 on new interfaces.
		disable := "/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6"
		if err := os.WriteFile(disable, []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}

		v4 := netip.MustParsePrefix("100.64.9.9/10")
		v6 := netip.MustParsePrefix("fd72:6179:6669:0:1:2:3:4/48")
		cfg := Config{Name: name, MTU: 1300, Addrs: []netip.Prefix{v4, v6}}
		for range 2 { // idempotent
			if err := Apply(cfg); err != nil {
				t.Fatalf("Apply: %v", err)
			}
		}

		link, err := netlink.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := link.Attrs().MTU; got != 1300 {
			t.Errorf("MTU = %d, want 1300", got)
		}
		if link.Attrs().Flags&net.FlagUp == 0 {
			t.Error("link is not up")
		}
		if b, _ := os.ReadFile(disable); string(bytes.TrimSpace(b)) != "0" {
			t.Errorf("disable_ipv6 = %q, want 0", b)
		}
		addrs := linkAddrs(t, link)
		if !sameSet(prefixes(addrs), []netip.Prefix{v4, v6}) {
			t.Errorf("addresses = %v, want %v and %v", prefixes(addrs), v4, v6)
		}
		for _, a := range addrs {
			if a.IP.To4() == nil && (a.Flags&unix.IFA_F_NODAD == 0 || a.Flags&unix.IFA_F_TENTATIVE != 0) {
				t.Errorf("IPv6 address %v flags %#x: want NODAD and not tentative", a.IPNet, a.Flags)
			}
		}
		checkRoutedTo(t, link, "100.64.0.0/10", "fd72:6179:6669::/48")
		checkRouteGet(t, link, "100.127.1.1", "fd72:6179:6669:ffff::1")

		// The IPv6 address is usable at once (no DAD).
		c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: v6.Addr().AsSlice()})
		if err != nil {
			t.Errorf("bind to %v: %v", v6.Addr(), err)
		} else {
			c6.Close()
		}

		pingPong(t, dev, v4.Addr())

		// Reconfigure: new IPv4 address, extra routes (the /10 one is
		// already there through the address).
		v4b := netip.MustParsePrefix("100.64.9.10/10")
		cfg.Addrs = []netip.Prefix{v4b, v6}
		cfg.Routes = pfx("198.18.7.0/24", "2001:db8::/32", "100.64.0.0/10")
		if err := Apply(cfg); err != nil {
			t.Fatalf("Apply again: %v", err)
		}
		if got := prefixes(linkAddrs(t, link)); !sameSet(got, []netip.Prefix{v4b, v6}) {
			t.Errorf("addresses = %v, want %v and %v", got, v4b, v6)
		}
		if got := ownRoutes(t, link); !sameSet(got, pfx("198.18.7.0/24", "2001:db8::/32")) {
			t.Errorf("own routes = %v", got)
		}
		checkRoutedTo(t, link, "100.64.0.0/10", "fd72:6179:6669::/48", "198.18.7.0/24", "2001:db8::/32")

		cfg.Routes = pfx("198.18.7.0/24")
		if err := Apply(cfg); err != nil {
			t.Fatalf("Apply with fewer routes: %v", err)
		}
		if got := ownRoutes(t, link); !sameSet(got, pfx("198.18.7.0/24")) {
			t.Errorf("own routes = %v, want 198.18.7.0/24 only", got)
		}

		if err := Teardown(name); err != nil {
			t.Fatalf("Teardown: %v", err)
		}
		if got := prefixes(linkAddrs(t, link)); len(got) != 0 {
			t.Errorf("addresses after Teardown = %v", got)
		}
		if got := ownRoutes(t, link); len(got) != 0 {
			t.Errorf("routes after Teardown = %v", got)
		}
		if l, err := netlink.LinkByName(name); err != nil || l.Attrs().Flags&net.FlagUp != 0 {
			t.Errorf("after Teardown: link %v, err %v; want down", l, err)
		}

		if err := dev.Close(); err != nil {
			t.Fatal(err)
		}
		var nf netlink.LinkNotFoundError
		if _, err := netlink.LinkByName(name); !errors.As(err, &nf) {
			t.Errorf("after Close: LinkByName = %v, want not found", err)
		}
		if err := Teardown(name); err != nil {
			t.Errorf("Teardown of a missing interface: %v", err)
		}
		if err := Apply(Config{Name: name}); err == nil {
			t.Error("Apply on a missing interface succeeded")
		}
	})
}

// linkAddrs returns the addresses of link, without IPv6 link-local ones.
func linkAddrs(t *testing.T, link netlink.Link) []netlink.Addr {
	t.Helper()
	list, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(list, func(a netlink.Addr) bool { return a.IP.IsLinkLocalUnicast() })
}

func prefixes(addrs []netlink.Addr) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range addrs {
		p, _ := prefixFromIPNet(a.IPNet)
		out = append(out, p)
	}
	return out
}

// ownRoutes returns the destinations of the routes Apply installed on link.
func ownRoutes(t *testing.T, link netlink.Link) []netip.Prefix {
	t.Helper()
	list, err := netlink.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{LinkIndex: link.Attrs().Index, Protocol: routeProtocol},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Prefix
	for _, r := range list {
		p, _ := prefixFromIPNet(r.Dst)
		out = append(out, p)
	}
	return out
}

// checkRoutedTo checks that the main table has a route for each destination
// out of link.
func checkRoutedTo(t *testing.T, link netlink.Link, dsts ...string) {
	t.Helper()
	list, err := netlink.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{LinkIndex: link.Attrs().Index}, netlink.RT_FILTER_OIF)
	if err != nil {
		t.Fatal(err)
	}
	var have []netip.Prefix
	for _, r := range list {
		if p, ok := prefixFromIPNet(r.Dst); ok {
			have = append(have, p)
		}
	}
	for _, d := range dsts {
		if !slices.Contains(have, netip.MustParsePrefix(d)) {
			t.Errorf("no route %s via %s (routes: %v)", d, link.Attrs().Name, have)
		}
	}
}

// checkRouteGet checks that the kernel sends packets for each address out of
// link.
func checkRouteGet(t *testing.T, link netlink.Link, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		rs, err := netlink.RouteGet(net.ParseIP(a))
		if err != nil {
			t.Errorf("route get %s: %v", a, err)
			continue
		}
		if len(rs) == 0 || rs[0].LinkIndex != link.Attrs().Index {
			t.Errorf("route get %s = %v, want via %s", a, rs, link.Attrs().Name)
		}
	}
}

func sameSet(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	for _, p := range a {
		if !slices.Contains(b, p) {
			return false
		}
	}
	return true
}

// pingPong sends a UDP datagram from local to a peer address in the overlay,
// reads it from the TUN, and writes a reply into the TUN that must reach the
// socket, both with tun.Headroom bytes of offset.
func pingPong(t *testing.T, dev tun.Device, local netip.Addr) {
	t.Helper()
	peer := netip.AddrPortFrom(netip.MustParseAddr("100.64.1.1"), 9)
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	localPort := uint16(conn.LocalAddr().(*net.UDPAddr).Port)

	// Read the datagram (skipping anything else the kernel sends, such as
	// IPv6 router solicitations) in another goroutine; the TUN fd is not tied
	// to a namespace.
	got := make(chan []byte, 1)
	go func() {
		bufs := make([][]byte, dev.BatchSize())
		sizes := make([]int, len(bufs))
		for i := range bufs {
			bufs[i] = make([]byte, tun.Headroom+65535)
		}
		for {
			n, err := dev.Read(bufs, sizes, tun.Headroom)
			if err != nil {
				got <- nil
				return
			}
			for i := range n {
				pkt := bufs[i][tun.Headroom : tun.Headroom+sizes[i]]
				if len(pkt) >= 28 && pkt[0]>>4 == 4 && pkt[9] == 17 &&
					netip.AddrFrom4([4]byte(pkt[16:20])) == peer.Addr() &&
					bytes.Equal(pkt[28:], []byte("ping")) {
					got <- bytes.Clone(pkt)
					return
				}
			}
		}
	}()
	if _, err := conn.WriteToUDPAddrPort([]byte("ping"), peer); err != nil {
		t.Fatal(err)
	}
	select {
	case pkt := <-got:
		if pkt == nil {
			t.Fatal("TUN read failed")
		}
		if src := netip.AddrFrom4([4]byte(pkt[12:16])); src != local {
			t.Errorf("ping source %v, want %v", src, local)
		}
	case <-time.After(5 * time.Second):
		dev.Close() // unblocks the reader
		<-got
		t.Fatal("ping never reached the TUN")
	}

	reply := udp4(peer, netip.AddrPortFrom(local, localPort), []byte("pong"))
	buf := make([]byte, tun.Headroom+len(reply))
	copy(buf[tun.Headroom:], reply)
	if _, err := dev.Write([][]byte{buf}, tun.Headroom); err != nil {
		t.Fatalf("TUN write: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	n, from, err := conn.ReadFromUDPAddrPort(b)
	if err != nil {
		t.Fatalf("pong never arrived: %v", err)
	}
	if string(b[:n]) != "pong" || from != peer {
		t.Errorf("got %q from %v, want pong from %v", b[:n], from, peer)
	}
}

// udp4 builds an IPv4/UDP packet (UDP checksum left zero, as IPv4 allows).
func udp4(src, dst netip.AddrPort, payload []byte) []byte {
	p := make([]byte, 28+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64
	p[9] = 17
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(p[12:16], s[:])
	copy(p[16:20], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(p[20:], src.Port())
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload)
	return p
}

// guardRuleCount returns how many rules the overlay guard of tun has, or
// -1 when rayfish's table has no chain for it.
func guardRuleCount(t *testing.T, tun string) int {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	ch := guardChain(tun)
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(chains, func(o *nftables.Chain) bool { return o.Table.Name == guardTable && o.Name == ch.Name }) {
		return -1
	}
	rules, err := c.GetRules(ch.Table, ch)
	if err != nil {
		t.Fatal(err)
	}
	return len(rules)
}

// TestOverlayGuardLinux checks the nftables chain that drops overlay
// traffic arriving outside the TUN: one rule per address, replaced (not
// added to) by every Apply and by a restart after a crash, gone after
// Teardown. test/netns/guard_test.go checks that it drops.
func TestOverlayGuardLinux(t *testing.T) {
	nstest.Do(t, func() {
		const name = "rfguard0"
		dev, err := tun.Create(name, 1420)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		v4 := netip.MustParsePrefix("100.64.9.9/10")
		v6 := netip.MustParsePrefix("fd72:6179:6669:0:1:2:3:4/48")
		for range 3 { // re-applied, and applied again after a "crash"
			if err := Apply(Config{Name: name, Addrs: []netip.Prefix{v4, v6}}); err != nil {
				t.Fatalf("Apply: %v", err)
			}
		}
		if n := guardRuleCount(t, name); n != 2 {
			t.Fatalf("guard has %d rules after three Applies, want 2 (one per address)", n)
		}
		if err := Apply(Config{Name: name, Addrs: []netip.Prefix{v4}}); err != nil {
			t.Fatal(err)
		}
		if n := guardRuleCount(t, name); n != 1 {
			t.Fatalf("guard has %d rules for one address, want 1", n)
		}
		if err := Teardown(name); err != nil {
			t.Fatal(err)
		}
		if n := guardRuleCount(t, name); n != -1 {
			t.Fatalf("guard chain left after Teardown (%d rules)", n)
		}
		c, _ := nftables.New()
		tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(tables, func(tb *nftables.Table) bool { return tb.Name == guardTable }) {
			t.Error("table inet rayfish left after Teardown")
		}
		if err := Teardown(name); err != nil {
			t.Errorf("second Teardown: %v", err)
		}

		// The daemon closes the TUN before Teardown: the guard goes anyway.
		if err := Apply(Config{Name: name, Addrs: []netip.Prefix{v4}}); err != nil {
			t.Fatal(err)
		}
		dev.Close()
		if err := Teardown(name); err != nil {
			t.Fatal(err)
		}
		if n := guardRuleCount(t, name); n != -1 {
			t.Fatalf("guard chain left after Teardown of a closed TUN (%d rules)", n)
		}
	})
}
