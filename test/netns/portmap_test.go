//go:build netns

package netns

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// gatewayBin builds test/gateway, the lab's port-mapping responder.
func gatewayBin(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "gateway")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/rayfish/rayfish/test/gateway")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build test/gateway: %v\n%s", err, out)
	}
	return bin
}

// startGateway runs the port mapper on home's router with protocols.
func (nl *natLab) startGateway(bin, home, protocols string, extra ...string) *exec.Cmd {
	nl.t.Helper()
	rtr := nl.prefix + "-r" + home
	lan := strings.TrimSuffix(nl.nodes[home].underlay, ".2") + ".1"
	logf, _ := os.OpenFile(filepath.Join(nl.dir, "gateway.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	defer logf.Close()
	args := append([]string{"netns", "exec", rtr, bin, "--wan", nl.wan[home], "--lan", lan, "--lan-if", "l" + home, "--protocols", protocols}, extra...)
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		nl.t.Fatal(err)
	}
	waitUntil(nl.t, 5*time.Second, "gateway table on "+rtr, func() bool {
		_, err := nsCmd(rtr, "nft", "list", "map", "ip", "rfgw", "ports")
		return err == nil
	})
	return cmd
}

func stopCmd(c *exec.Cmd) {
	c.Process.Signal(syscall.SIGTERM)
	c.Wait()
}

var elemRE = regexp.MustCompile(`(\d+) : ([\d.]+) \. (\d+)`)

// forwards lists the UDP DNAT map on home's router: "ext -> ip:port".
func (nl *natLab) forwards(home string) []string {
	return nl.forwardsOf(home, "udp")
}

// forwardsOf lists the DNAT map of transport proto ("udp", "tcp") on
// home's router.
func (nl *natLab) forwardsOf(home, proto string) []string {
	m := "ports"
	if proto == "tcp" {
		m = "tcpports"
	}
	out, err := nsCmd(nl.prefix+"-r"+home, "nft", "list", "map", "ip", "rfgw", m)
	if err != nil {
		nl.t.Fatalf("list forwards: %v\n%s", err, out)
	}
	var fw []string
	for _, m := range elemRE.FindAllStringSubmatch(out, -1) {
		fw = append(fw, m[1]+" -> "+m[2]+":"+m[3])
	}
	return fw
}

// portMapping is home's netcheck port_mapping.
func (nl *natLab) portMapping(home string) apitype.NetcheckPortMapping {
	return nl.netcheck(home).PortMapping
}

// netcheck is home's `ray netcheck --json` (an error in
// PortMapping.Error).
func (nl *natLab) netcheck(home string) apitype.Netcheck {
	out, err := nl.rayErr(home, "netcheck", "--json")
	if err != nil {
		return apitype.Netcheck{PortMapping: apitype.NetcheckPortMapping{Error: err.Error()}}
	}
	var nc apitype.Netcheck
	json.Unmarshal([]byte(out), &nc)
	return nc
}

// TestPortMapLab: home a sits behind a router that drops unsolicited WAN
// traffic and runs our port-mapping gateway; c is behind a symmetric NAT
// with no mapping. Without the mapping they meet only through the relay;
// with it, for each protocol alone (PCP, NAT-PMP, UPnP), a's daemon maps
// its port, the same external address results, c reaches a directly, a
// clean stop deletes the mapping, and a kill -9 + restart replaces the
// stale mapping instead of adding a second one. A gateway that grants
// short leases sees them refreshed in time, and when a's default route
// moves to another router the mapping moves with it.
func TestPortMapLab(t *testing.T) {
	nl := newNATLab(t, "p15", map[string]string{"a": "portmap", "c": "hard"})
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	gw := gatewayBin(t, nl.dir)
	nl.startRelay()
	nl.start("a", "--relay", relayURL, "--no-portmap")
	nl.start("c", "--relay", relayURL, "--no-portmap")
	nl.ray("a", "create", "home")
	nl.ray("c", "join", lastLine(nl.ray("a", "invite", "home")))
	waitUntil(t, 20*time.Second, "c reaches a", func() bool { return nl.pings("c", "a") })

	t.Run("without a mapping: relay", func(t *testing.T) {
		if pm := nl.portMapping("a"); pm.Protocol != "" || !strings.Contains(pm.Error, "--no-portmap") {
			t.Fatalf("port_mapping with --no-portmap: %+v", pm)
		}
		if mr := nl.status("a").Self.MemberRelay; mr == nil || mr.Serving || !strings.Contains(mr.Why, "not reachable") || !strings.Contains(mr.Why, "--no-portmap") {
			t.Fatalf("status member_relay with --no-portmap: %+v, want not serving and why", mr)
		}
		time.Sleep(10 * time.Second) // time enough for hole punching to win, if it could
		path, reason := nl.pathOf("c", "a")
		if path != "relay" {
			t.Fatalf("c->a path %s without a mapping: the control case is not a control", path)
		}
		summary("symmetric NAT c -> a behind a filtering router, no port mapping: %s (%s)", path, reason)
	})

	port := ""
	var external string
	for _, proto := range []string{"pcp", "nat-pmp", "upnp"} {
		t.Run(proto, func(t *testing.T) {
			g := nl.startGateway(gw, "a", proto)
			defer stopCmd(g)
			nl.stop("a")
			start := time.Now()
			nl.start("a", "--relay", relayURL)
			var pm apitype.NetcheckPortMapping
			waitUntil(t, 15*time.Second, "a's port mapping", func() bool {
				pm = nl.portMapping("a")
				return pm.Protocol != ""
			})
			toMap := time.Since(start)
			if pm.Protocol != proto {
				t.Fatalf("mapped with %q, want %q (%+v)", pm.Protocol, proto, pm)
			}
			if !strings.HasPrefix(pm.External, nl.wan["a"]+":") || pm.LeaseS < 600 {
				t.Fatalf("port_mapping %+v, want %s:PORT with a lease", pm, nl.wan["a"])
			}
			if external == "" {
				external = pm.External
				port = strings.TrimPrefix(pm.External, nl.wan["a"]+":")
			} else if pm.External != external {
				t.Errorf("%s mapped %s, the first protocol %s", proto, pm.External, external)
			}
			if fw := nl.forwards("a"); len(fw) != 1 || fw[0] != port+" -> "+nl.nodes["a"].underlay+":"+port {
				t.Fatalf("router forwards %q, want one of port %s to a", fw, port)
			}
			waitUntil(t, 20*time.Second, "c->a direct", func() bool {
				p, _ := nl.pathOf("c", "a")
				q, _ := nl.pathOf("a", "c")
				return p == "direct" && q == "direct" && nl.pings("c", "a")
			})
			direct := time.Since(start)
			if st := nl.status("a"); !slices.Contains(st.Self.Endpoints, pm.External) {
				t.Errorf("a does not advertise %s: %v", pm.External, st.Self.Endpoints)
			}

			// The member relay's TCP port is mapped too (a is reachable).
			waitUntil(t, 15*time.Second, "the member relay's TCP mapping", func() bool { return len(nl.forwardsOf("a", "tcp")) == 1 })
			tcpFw := nl.forwardsOf("a", "tcp")
			// netcheck and status show that mapping and the relay's URL.
			var nc apitype.Netcheck
			waitUntil(t, 15*time.Second, "netcheck shows the member relay", func() bool {
				nc = nl.netcheck("a")
				return nc.MemberRelay != nil && nc.MemberRelay.Serving
			})
			rt := nc.PortMapping.RelayTCP
			if rt == nil || rt.Protocol != proto || rt.Port != 41383 || !strings.HasPrefix(rt.External, nl.wan["a"]+":") || rt.LeaseS < 600 ||
				tcpFw[0] != strings.TrimPrefix(rt.External, nl.wan["a"]+":")+" -> "+nl.nodes["a"].underlay+":41383" {
				t.Fatalf("netcheck relay_tcp %+v, want the router's TCP forward %q by %s", rt, tcpFw, proto)
			}
			memberURL := "http://" + rt.External
			if mr := *nc.MemberRelay; mr.URL != memberURL || mr.Via != apitype.MemberRelayMapped || nc.PortMapping.RenewAt.IsZero() {
				t.Fatalf("netcheck member_relay %+v renew_at %v, want serving %s through the port mapping", mr, nc.PortMapping.RenewAt, memberURL)
			}
			if st := nl.status("a").Self; st.MemberRelay == nil || st.MemberRelay.URL != memberURL || st.PortMapping == nil ||
				st.PortMapping.RelayTCP == nil || st.PortMapping.RelayTCP.External != rt.External {
				t.Fatalf("status self port_mapping %+v member_relay %+v, want %s", st.PortMapping, st.MemberRelay, memberURL)
			}
			for _, cmd := range []string{"status", "netcheck"} {
				out := nl.ray("a", cmd)
				if !strings.Contains(out, "TCP "+rt.External+" -> port 41383 by "+proto) || !strings.Contains(out, "serving "+memberURL+" (through the port mapping)") {
					t.Fatalf("ray %s does not show the relay mapping and URL:\n%s", cmd, out)
				}
			}

			nl.stop("a")
			if fw := append(nl.forwards("a"), nl.forwardsOf("a", "tcp")...); len(fw) != 0 {
				t.Fatalf("router still forwards %q after a clean stop", fw)
			}

			nl.start("a", "--relay", relayURL)
			waitUntil(t, 15*time.Second, "mapped again", func() bool {
				return len(nl.forwards("a")) == 1 && len(nl.forwardsOf("a", "tcp")) == 1
			})
			nl.kill("a")
			if fw := append(nl.forwards("a"), nl.forwardsOf("a", "tcp")...); len(fw) != 2 {
				t.Fatalf("after kill -9 the router forwards %q, want the stale UDP and TCP mappings", fw)
			}
			nl.start("a", "--relay", relayURL)
			waitUntil(t, 15*time.Second, "a maps after the crash", func() bool { return nl.portMapping("a").Protocol == proto })
			time.Sleep(time.Second) // a duplicate, if any, would come now
			fw := nl.forwards("a")
			if len(fw) != 1 || fw[0] != port+" -> "+nl.nodes["a"].underlay+":"+port {
				t.Fatalf("after a crash and restart the router forwards %q, want the one mapping replaced", fw)
			}
			if got := nl.forwardsOf("a", "tcp"); !slices.Equal(got, tcpFw) {
				t.Fatalf("after a crash and restart the router forwards TCP %q, want %q replaced", got, tcpFw)
			}
			waitUntil(t, 20*time.Second, "c->a direct after the restart", func() bool {
				p, _ := nl.pathOf("c", "a")
				return p == "direct" && nl.pings("c", "a")
			})
			summary("%s: mapped %s (lease %d s) %v after the daemon started, c->a direct %v after; member relay TCP %q; clean stop removed the forwards; kill -9 + restart left %d UDP and %d TCP forward",
				proto, pm.External, pm.LeaseS, toMap.Round(time.Millisecond), direct.Round(time.Millisecond), tcpFw, len(fw), len(tcpFw))
		})
	}
	for _, proto := range []string{"pcp", "nat-pmp"} {
		t.Run(proto+" refreshes a short lease", func(t *testing.T) {
			logPath := filepath.Join(nl.dir, "gateway.log")
			g := nl.startGateway(gw, "a", proto, "--max-lease", "12s")
			defer stopCmd(g)
			nl.stop("a")
			nl.start("a", "--relay", relayURL)
			var pm apitype.NetcheckPortMapping
			waitUntil(t, 15*time.Second, "a's port mapping", func() bool {
				pm = nl.portMapping("a")
				return pm.Protocol == proto
			})
			if pm.LeaseS > 12 {
				t.Fatalf("lease %d s, the gateway grants at most 12", pm.LeaseS)
			}
			before, _ := os.ReadFile(logPath)
			time.Sleep(30 * time.Second) // two and a half leases
			after, _ := os.ReadFile(logPath)
			refreshes := strings.Count(string(after[len(before):]), proto+": refresh udp") // the relay's TCP mapping is refreshed too
			expired := strings.Count(string(after[len(before):]), "expired")
			if fw := nl.forwards("a"); len(fw) != 1 || refreshes < 4 || expired != 0 {
				t.Fatalf("after 30 s: forwards %q, %d refreshes, %d expiries; want the mapping kept by a refresh every ~6 s", fw, refreshes, expired)
			}
			if !nl.pings("c", "a") {
				t.Error("c cannot reach a")
			}
			summary("%s, lease cut to %d s by the gateway: %d refreshes in 30 s, mapping never lapsed", proto, pm.LeaseS, refreshes)
		})
	}
	t.Run("new default gateway: mapped again there", func(t *testing.T) {
		g := nl.startGateway(gw, "a", "pcp")
		defer stopCmd(g)
		nl.stop("a")
		nl.start("a", "--relay", relayURL)
		waitUntil(t, 15*time.Second, "a mapped on its router", func() bool { return nl.portMapping("a").Protocol == "pcp" })
		// A second router for a: LAN 198.19.9.0/24, WAN 198.18.100.60,
		// the same filtering and its own port mapper.
		r2, home := nl.prefix+"-r2", nl.nodes["a"].ns
		run(t, "ip", "netns", "add", r2)
		run(t, "ip", "-n", r2, "link", "set", "lo", "up")
		run(t, "ip", "link", "add", "w2", "netns", r2, "type", "veth", "peer", "name", "u2", "netns", nl.prefix+"-inet")
		run(t, "ip", "-n", nl.prefix+"-inet", "link", "set", "u2", "master", "br0", "up")
		run(t, "ip", "-n", r2, "addr", "add", "198.18.100.60/24", "dev", "w2")
		run(t, "ip", "-n", r2, "link", "set", "w2", "up")
		run(t, "ip", "link", "add", "l2", "netns", r2, "type", "veth", "peer", "name", "eth1", "netns", home)
		run(t, "ip", "-n", r2, "addr", "add", "198.19.9.1/24", "dev", "l2")
		run(t, "ip", "-n", r2, "link", "set", "l2", "up")
		run(t, "ip", "-n", home, "addr", "add", "198.19.9.2/24", "dev", "eth1")
		run(t, "ip", "-n", home, "link", "set", "eth1", "up")
		run(t, "ip", "netns", "exec", r2, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		cmd := exec.Command("ip", "netns", "exec", r2, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(`table ip nat {
  chain post { type nat hook postrouting priority srcnat; oifname "w2" masquerade; }
}
table inet filter {
  chain forwarding { type filter hook forward priority filter; policy accept;
    iifname "w2" ct state established,related accept
    iifname "w2" ct status dnat accept
    iifname "w2" drop
  }
}`)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft on %s: %v\n%s", r2, err, out)
		}
		g2 := exec.Command("ip", "netns", "exec", r2, gw, "--wan", "198.18.100.60", "--lan", "198.19.9.1", "--lan-if", "l2", "--protocols", "pcp")
		logf, _ := os.OpenFile(filepath.Join(nl.dir, "gateway.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		g2.Stdout, g2.Stderr = logf, logf
		if err := g2.Start(); err != nil {
			t.Fatal(err)
		}
		logf.Close()
		defer stopCmd(g2)
		time.Sleep(500 * time.Millisecond)
		run(t, "ip", "-n", home, "route", "replace", "default", "via", "198.19.9.1")
		start := time.Now()
		var pm apitype.NetcheckPortMapping
		waitUntil(t, 20*time.Second, "a mapped on the new gateway", func() bool {
			pm = nl.portMapping("a")
			return strings.HasPrefix(pm.External, "198.18.100.60:")
		})
		remap := time.Since(start)
		if fw := nl.forwards("a"); len(fw) != 0 {
			t.Errorf("the old router still forwards %q", fw)
		}
		waitUntil(t, 30*time.Second, "c->a direct through the new router", func() bool {
			p, _ := nl.pathOf("c", "a")
			return p == "direct" && nl.pings("c", "a")
		})
		summary("default route moved to a second router: mapped there (%s, old forward deleted) %v later, c->a direct again %v later",
			pm.External, remap.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	})
	if t.Failed() {
		for _, f := range []string{"gateway.log", "a.log"} {
			b, _ := os.ReadFile(filepath.Join(nl.dir, f))
			t.Logf("%s:\n%s", f, tail(string(b), 40))
		}
	}
}

// TestMiniupnpdUPnP checks our UPnP client against a real IGD, Debian's
// miniupnpd: SSDP finds it, its description parses into a WAN connection
// service, and since every lab address is reserved (198.18.0.0/15) its
// AddPortMapping answers 501, which netcheck reports in one clear line.
func TestMiniupnpdUPnP(t *testing.T) {
	bin, err := exec.LookPath("miniupnpd")
	if err != nil {
		t.Fatal("miniupnpd not installed (make deps-test installs it)")
	}
	nl := newNATLab(t, "p15m", map[string]string{"a": "portmap"})
	rtr := nl.prefix + "-ra"
	conf := filepath.Join(nl.dir, "miniupnpd.conf")
	os.WriteFile(conf, []byte(`ext_ifname=wa
listening_ip=la
http_port=5000
enable_natpmp=no
enable_upnp=yes
secure_mode=yes
system_uptime=yes
uuid=7261796d-6973-6800-0000-00000000abcd
allow 1024-65535 198.19.1.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`), 0o644)
	logf, _ := os.Create(filepath.Join(nl.dir, "miniupnpd.log"))
	defer logf.Close()
	igd := exec.Command("ip", "netns", "exec", rtr, bin, "-f", conf, "-d", "-P", filepath.Join(nl.dir, "miniupnpd.pid"))
	igd.Stdout, igd.Stderr = logf, logf
	if err := igd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stopCmd(igd)
	waitUntil(t, 5*time.Second, "miniupnpd listening", func() bool {
		out, _ := nsCmd(rtr, "ss", "-ltn")
		return strings.Contains(out, ":5000")
	})
	nl.start("a")
	var pm apitype.NetcheckPortMapping
	waitUntil(t, 20*time.Second, "a's UPnP attempt", func() bool {
		pm = nl.portMapping("a")
		return strings.Contains(pm.Error, "UPnP")
	})
	b, _ := os.ReadFile(filepath.Join(nl.dir, "miniupnpd.log"))
	if pm.Protocol != "" || !strings.Contains(pm.Error, "UPnP: AddPortMapping: gateway refused with error 501 (ActionFailed)") {
		t.Fatalf("port_mapping %+v, want UPnP's AddPortMapping refused with 501\nminiupnpd log:\n%s", pm, tail(string(b), 30))
	}
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	summary("miniupnpd 2.3.1: SSDP and description found its WANIPConnection; netcheck says: %s", pm.Error)
}
