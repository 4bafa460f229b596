package netcfg

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/platform/internal/nstest"
	"github.com/rayfish/rayfish/platform/tun"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The test LAN: one end of a veth pair with a default route through a
// gateway on it, standing in for the host's physical network.
const lanName = "y14lan0"

var (
	lanAddr4 = netip.MustParsePrefix("198.18.14.1/24")
	lanAddr6 = netip.MustParsePrefix("2001:db8:14::1/64")
	lanGW4   = netip.MustParseAddr("198.18.14.254")
	lanGW6   = netip.MustParseAddr("2001:db8:14::fe")
)

// setupLAN creates the test LAN in the current namespace.
func setupLAN(t *testing.T) netlink.Link {
	t.Helper()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: lanName}, PeerName: lanName + "p"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("create %s: %v", lanName, err)
	}
	link, err := netlink.LinkByName(lanName)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := netlink.LinkByName(veth.PeerName)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}
	for _, p := range []netip.Prefix{lanAddr4, lanAddr6} {
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(p), Flags: unix.IFA_F_NODAD}); err != nil {
			t.Fatalf("address %v: %v", p, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	// Wait for the carrier: the kernel configures IPv6 on the link then.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		l, err := netlink.LinkByName(lanName)
		if err == nil && l.Attrs().OperState == netlink.OperUp {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no carrier: %v", lanName, err)
		}
	}
	for _, gw := range []netip.Addr{lanGW4, lanGW6} {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw.AsSlice()}
		if err := netlink.RouteAdd(r); err != nil {
			t.Fatalf("default route via %v: %v", gw, err)
		}
	}
	return link
}

// ruleDump and routeDump are `ip rule` (both families) and `ip route show
// table all` (both families), as comparable text.
func ruleDump(t *testing.T) string {
	t.Helper()
	list, err := netlink.RuleList(netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range list {
		mask := "-"
		if r.Mask != nil {
			mask = fmt.Sprintf("%#x", *r.Mask)
		}
		lines = append(lines, fmt.Sprintf("fam %d prio %d table %d mark %#x/%s src %v dst %v proto %d sup %d invert %v",
			r.Family, r.Priority, r.Table, r.Mark, mask, r.Src, r.Dst, r.Protocol, r.SuppressPrefixlen, r.Invert))
	}
	return strings.Join(lines, "\n")
}

func routeDump(t *testing.T) string {
	t.Helper()
	list, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range list {
		lines = append(lines, fmt.Sprintf("table %d fam %d dst %v gw %v dev %d proto %d scope %d type %d metric %d src %v",
			r.Table, r.Family, r.Dst, r.Gw, r.LinkIndex, r.Protocol, r.Scope, r.Type, r.Priority, r.Src))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// checkDump reports the lines that differ between dump and before.
func checkDump(t *testing.T, what, dump, before string) {
	t.Helper()
	if dump == before {
		return
	}
	a, b := strings.Split(dump, "\n"), strings.Split(before, "\n")
	var diff []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			diff = append(diff, "+ "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			diff = append(diff, "- "+l)
		}
	}
	t.Errorf("%s differs from before (+ now, - before; same lines in another order if none):\n%s", what, strings.Join(diff, "\n"))
}

// settledRoutes returns routeDump once it stopped changing: the kernel
// adds IPv6 link-local and local routes a moment after a link gets its
// carrier.
func settledRoutes(t *testing.T) string {
	t.Helper()
	last, same := routeDump(t), 0
	for deadline := time.Now().Add(10 * time.Second); same < 5 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		d := routeDump(t)
		if d == last {
			same++
		} else {
			last, same = d, 0
		}
	}
	return last
}

// ownRules returns the rules carrying routeProtocol, as the plan prints
// them.
func ownRules(t *testing.T) []string {
	t.Helper()
	list, err := netlink.RuleList(netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range list {
		if r.Protocol != uint8(routeProtocol) {
			continue
		}
		ir, ok := ruleFromNetlink(r)
		if !ok {
			t.Errorf("unexpected rule of ours: %+v", r)
		}
		out = append(out, ir.String())
	}
	return out
}

// checkVia checks that the kernel routes dst (with mark, if non-zero) out
// of the interface named want.
func checkVia(t *testing.T, dst string, mark uint32, want string) {
	t.Helper()
	rs, err := netlink.RouteGetWithOptions(net.ParseIP(dst), &netlink.RouteGetOptions{Mark: mark})
	if err != nil {
		t.Errorf("route get %s mark %#x: %v", dst, mark, err)
		return
	}
	l, err := netlink.LinkByName(want)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 || rs[0].LinkIndex != l.Attrs().Index {
		t.Errorf("route get %s mark %#x = %v, want via %s", dst, mark, rs, want)
	}
}

// TestExitLinux uses an exit node in a namespace with a real TUN and a
// dummy LAN: rules and table present and stable across Applies, marked
// lookups go to the LAN while unmarked ones go to the TUN, AllowLAN and
// Exclude keep the main table, and turning it off (or Teardown) leaves
// `ip rule` and `ip route show table all` exactly as before.
func TestExitLinux(t *testing.T) {
	nstest.Do(t, func() {
		setupLAN(t)
		const name = "y14tun0"
		dev, err := tun.Create(name, 1420)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		base := Config{Name: name, Addrs: pfx("100.64.9.9/10", "fd72:6179:6669:0:1:2:3:4/48")}
		if err := Apply(base); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		rulesBefore, routesBefore := ruleDump(t), settledRoutes(t)

		exit := base
		exit.Exit = &Exit{Exclude: pfx("198.19.6.6/32", "2001:db8:99::6/128")}
		for range 3 { // idempotent
			if err := Apply(exit); err != nil {
				t.Fatalf("Apply with Exit: %v", err)
			}
		}
		want := []string{
			"IPv4 5280 fwmark 0x520000/0xff0000 lookup main",
			"IPv4 5281 to 169.254.0.0/16 lookup main",
			"IPv4 5282 to 198.19.6.6/32 lookup main",
			"IPv4 5290 lookup 82",
			"IPv6 5280 fwmark 0x520000/0xff0000 lookup main",
			"IPv6 5281 to fe80::/10 lookup main",
			"IPv6 5282 to 2001:db8:99::6/128 lookup main",
			"IPv6 5290 lookup 82",
		}
		if got := ownRules(t); !slices.Equal(got, want) {
			t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, c := range []struct {
			dst  string
			mark uint32
			via  string
		}{
			{"198.19.5.5", 0, name},
			{"198.19.5.5", FwMark, lanName},
			{"198.19.5.5", FwMark | 0x1234, lanName}, // other bits are not ours
			{"198.19.5.5", 0x510000, name},
			{"198.19.6.6", 0, lanName},
			{"198.18.14.7", 0, name}, // the LAN goes through the exit node
			{"100.64.1.1", 0, name},
			{"2001:db8:77::1", 0, name},
			{"2001:db8:77::1", FwMark, lanName},
			{"2001:db8:99::6", 0, lanName},
			{"2001:db8:14::7", 0, name},
		} {
			checkVia(t, c.dst, c.mark, c.via)
		}
		// A socket marked by Control gets the LAN's source address, an
		// unmarked one the TUN's (connecting a UDP socket sends nothing).
		for _, c := range []struct {
			dst     string
			control bool
			src     netip.Addr
		}{
			{"198.19.5.5:9", true, lanAddr4.Addr()},
			{"198.19.5.5:9", false, base.Addrs[0].Addr()},
			{"[2001:db8:77::1]:9", true, lanAddr6.Addr()},
			{"[2001:db8:77::1]:9", false, base.Addrs[1].Addr()},
		} {
			var d net.Dialer
			if c.control {
				d.Control = Control
			}
			conn, err := d.Dial("udp", c.dst)
			if err != nil {
				t.Errorf("dial %s (marked %v): %v", c.dst, c.control, err)
				continue
			}
			if src := conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(); src != c.src {
				t.Errorf("dial %s (marked %v): source %v, want %v", c.dst, c.control, src, c.src)
			}
			conn.Close()
		}

		exit.Exit.AllowLAN = true
		if err := Apply(exit); err != nil {
			t.Fatalf("Apply with AllowLAN: %v", err)
		}
		checkVia(t, "198.18.14.7", 0, lanName)
		checkVia(t, "2001:db8:14::7", 0, lanName)
		checkVia(t, "198.19.5.5", 0, name)
		if got := ownRules(t); !slices.Contains(got, "IPv4 5281 to 198.18.14.0/24 lookup main") ||
			!slices.Contains(got, "IPv6 5281 to 2001:db8:14::/64 lookup main") || slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "100.64") }) {
			t.Errorf("AllowLAN rules:\n%s", strings.Join(got, "\n"))
		}

		if err := Apply(base); err != nil {
			t.Fatalf("Apply without Exit: %v", err)
		}
		checkDump(t, "ip rule after exit off", ruleDump(t), rulesBefore)
		checkDump(t, "ip route show table all after exit off", routeDump(t), routesBefore)

		// Teardown removes them too.
		if err := Apply(exit); err != nil {
			t.Fatal(err)
		}
		if err := Teardown(name); err != nil {
			t.Fatal(err)
		}
		checkDump(t, "ip rule after Teardown", ruleDump(t), rulesBefore)
		if got := ownRoutesInTable(t); len(got) != 0 {
			t.Errorf("routes left in table %d after Teardown: %v", exitTable, got)
		}

		// A crash closes the TUN and leaves the rules; Cleanup at the next
		// start removes them.
		if err := Apply(exit); err != nil {
			t.Fatal(err)
		}
		dev.Close()
		if got := ownRules(t); len(got) == 0 {
			t.Fatal("no rules left after the simulated crash: the test checks nothing")
		}
		if err := Cleanup(name); err != nil {
			t.Fatalf("Cleanup: %v", err)
		}
		checkDump(t, "ip rule after Cleanup", ruleDump(t), rulesBefore)
		if got := ownRoutesInTable(t); len(got) != 0 {
			t.Errorf("routes left in table %d after Cleanup: %v", exitTable, got)
		}
	})
}

func ownRoutesInTable(t *testing.T) []netlink.Route {
	t.Helper()
	list, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: exitTable}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestMarkSocket checks that Control marks a socket with FwMark.
func TestMarkSocket(t *testing.T) {
	nstest.Do(t, func() {
		lc := net.ListenConfig{Control: Control}
		pc, err := lc.ListenPacket(t.Context(), "udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen with Control: %v", err)
		}
		defer pc.Close()
		rc, err := pc.(*net.UDPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var mark int
		var gerr error
		if err := rc.Control(func(fd uintptr) { mark, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK) }); err != nil {
			t.Fatal(err)
		}
		if gerr != nil || mark != FwMark {
			t.Errorf("SO_MARK = %#x, %v; want %#x", mark, gerr, FwMark)
		}
		if err := markSocket(^uintptr(0)); err == nil {
			t.Error("markSocket on a bad descriptor succeeded")
		}
	})
}
