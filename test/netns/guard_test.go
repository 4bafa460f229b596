//go:build netns

package netns

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/rayfish/rayfish/platform/tun"
)

// TestOverlayGuard: a LAN neighbour that routes our overlay addresses to
// our physical interface (Tailscale TS-2024-005) gets no answer, since
// such packets are dropped before the kernel's weak host model delivers
// them; mesh traffic over the TUN still flows.
func TestOverlayGuard(t *testing.T) {
	l := newLab(t, "rfE", 19, "alpha", "beta", "eve")
	l.start("alpha")
	l.start("beta")
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	l.ray("alpha", "create", "home")
	l.ray("beta", "join", lastLine(l.ray("alpha", "invite", "home")))
	l.waitFor(20*time.Second, "beta sees alpha online", func() bool { return l.peerOnline("beta", "alpha") })

	self := l.status("alpha").Self
	alpha, eve := l.nodes["alpha"], l.nodes["eve"]
	// eve, on the LAN without rayfish, sends to alpha's overlay
	// addresses through alpha's eth0.
	run(t, "ip", "-n", eve.ns, "route", "add", self.IPv4.String()+"/32", "via", alpha.underlay, "dev", "eth0")
	ll := alphaLinkLocal(t, alpha.ns)
	run(t, "ip", "-n", eve.ns, "-6", "route", "add", self.IPv6.String()+"/128", "via", ll.String(), "dev", "eth0")

	for _, a := range []netip.Addr{self.IPv4, self.IPv6} {
		if out, err := nsCmd(eve.ns, "ping", "-c", "2", "-W", "1", a.String()); err == nil {
			t.Errorf("eve reached alpha's overlay address %v through the LAN:\n%s", a, out)
		} else if !strings.Contains(out, "100% packet loss") {
			t.Errorf("ping %v from the LAN: %v\n%s", a, err, out)
		}
	}
	dropped := guardDrops(t, alpha.ns)
	if dropped < 4 {
		t.Errorf("overlay guard counted %d dropped packets, want the 4 pings", dropped)
	}
	if t.Failed() {
		t.FailNow()
	}
	summary("LAN pings to alpha's %v and %v via eth0: 100%% loss, %d packets dropped by table inet rayfish", self.IPv4, self.IPv6, dropped)

	// The mesh itself is untouched: beta pings alpha over its TUN.
	for _, a := range []netip.Addr{self.IPv4, self.IPv6} {
		if out, err := nsCmd(l.nodes["beta"].ns, "ping", "-c", "1", "-W", "3", a.String()); err != nil {
			t.Errorf("beta cannot ping alpha's %v over the mesh: %v\n%s", a, err, out)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	summary("beta pings alpha's overlay addresses over the TUN")

	// A restart after a crash replaces the guard instead of adding a copy.
	l.kill("alpha")
	l.start("alpha")
	l.waitFor(20*time.Second, "alpha up again", func() bool { return l.status("alpha").State == "up" })
	if n := guardRules(t, alpha.ns); n != 2 {
		t.Errorf("after a crash and restart the guard has %d rules, want 2", n)
	}
	l.stop("alpha")
	if n := guardRules(t, alpha.ns); n != 0 {
		t.Errorf("after a clean stop the guard has %d rules, want none", n)
	}
	if t.Failed() {
		t.FailNow()
	}
	summary("guard replaced (2 rules) after kill -9 and restart, removed on stop")
}

// alphaLinkLocal returns the link-local address of eth0 in ns.
func alphaLinkLocal(t *testing.T, ns string) netip.Addr {
	t.Helper()
	out := run(t, "ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
	for _, f := range strings.Fields(out) {
		if p, err := netip.ParsePrefix(f); err == nil {
			return p.Addr()
		}
	}
	t.Fatalf("no link-local address on eth0 in %s: %s", ns, out)
	return netip.Addr{}
}

// guardChainRules returns the rules of the overlay guard in ns (nil if
// there is no guard).
func guardChainRules(t *testing.T, ns string) []*nftables.Rule {
	var rules []*nftables.Rule
	inNS(t, ns, func() {
		c, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		table := &nftables.Table{Family: nftables.TableFamilyINet, Name: "rayfish"}
		rules, _ = c.GetRules(table, &nftables.Chain{Name: "guard-" + tun.DefaultName, Table: table})
	})
	return rules
}

func guardRules(t *testing.T, ns string) int { return len(guardChainRules(t, ns)) }

// guardDrops sums the guard's counters in ns.
func guardDrops(t *testing.T, ns string) uint64 {
	var n uint64
	for _, r := range guardChainRules(t, ns) {
		for _, e := range r.Exprs {
			if c, ok := e.(*expr.Counter); ok {
				n += c.Packets
			}
		}
	}
	return n
}
