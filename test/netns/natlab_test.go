//go:build netns

package netns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// natLab builds an "internet" namespace with a relay (and STUN) and home
// namespaces, each behind its own router namespace doing NAT with
// nftables. All addresses are in 198.18.0.0/15:
//
//	inet: bridge 198.18.100.1/24 (relay :8443, STUN :3478)
//	rtr-X: WAN 198.18.100.1N/24, LAN 198.19.N.1/24, NAT (easy or hard),
//	       unsolicited WAN input dropped like a home router's firewall
//	X: 198.19.N.2/24, default via 198.19.N.1, runs the daemon
type natLab struct {
	*lab
	relay *exec.Cmd
	wan   map[string]string // home -> router WAN address
}

const relayURL = "http://198.18.100.1:8443"

func newNATLab(t *testing.T, prefix string, homes map[string]string) *natLab {
	l := &lab{t: t, prefix: prefix, bin: rayBin(t), nodes: map[string]*node{}}
	dir, err := os.MkdirTemp("", prefix+"-lab-")
	if err != nil {
		t.Fatal(err)
	}
	l.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	cleanupNamespaces(prefix)
	nl := &natLab{lab: l, wan: map[string]string{}}
	t.Cleanup(func() {
		nl.stopRelay()
		l.close()
	})
	inet := prefix + "-inet"
	run(t, "ip", "netns", "add", inet)
	run(t, "ip", "-n", inet, "link", "set", "lo", "up")
	run(t, "ip", "-n", inet, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", inet, "addr", "add", "198.18.100.1/24", "dev", "br0")
	run(t, "ip", "-n", inet, "link", "set", "br0", "up")
	i := 0
	for _, name := range sortedKeys(homes) {
		i++
		kind := homes[name]
		rtr := prefix + "-r" + name
		home := prefix + "-" + name
		wan := fmt.Sprintf("198.18.100.%d", 10+i)
		nl.wan[name] = wan
		run(t, "ip", "netns", "add", rtr)
		run(t, "ip", "netns", "add", home)
		run(t, "ip", "-n", rtr, "link", "set", "lo", "up")
		run(t, "ip", "-n", home, "link", "set", "lo", "up")
		// WAN: router <-> internet bridge.
		run(t, "ip", "link", "add", "w"+name, "netns", rtr, "type", "veth", "peer", "name", "u"+name, "netns", inet)
		run(t, "ip", "-n", inet, "link", "set", "u"+name, "master", "br0", "up")
		run(t, "ip", "-n", rtr, "addr", "add", wan+"/24", "dev", "w"+name)
		run(t, "ip", "-n", rtr, "link", "set", "w"+name, "up")
		// LAN: router <-> home.
		run(t, "ip", "link", "add", "l"+name, "netns", rtr, "type", "veth", "peer", "name", "eth0", "netns", home)
		run(t, "ip", "-n", rtr, "addr", "add", fmt.Sprintf("198.19.%d.1/24", i), "dev", "l"+name)
		run(t, "ip", "-n", rtr, "link", "set", "l"+name, "up")
		run(t, "ip", "-n", home, "addr", "add", fmt.Sprintf("198.19.%d.2/24", i), "dev", "eth0")
		run(t, "ip", "-n", home, "link", "set", "eth0", "up")
		run(t, "ip", "-n", home, "route", "add", "default", "via", fmt.Sprintf("198.19.%d.1", i))
		run(t, "ip", "netns", "exec", rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		masq := "masquerade"
		if kind == "hard" {
			masq = "masquerade random,fully-random"
		}
		// A "portmap" router lets in what its port mapper forwards
		// (test/gateway programs the DNAT).
		dnat := ""
		if kind == "portmap" {
			dnat = "ct status dnat accept"
		}
		nft := fmt.Sprintf(`table ip nat {
  chain post { type nat hook postrouting priority srcnat; oifname "w%s" %s; }
}
table inet filter {
  chain forwarding { type filter hook forward priority filter; policy accept;
    iifname "w%s" ct state established,related accept
    iifname "w%s" %s
    iifname "w%s" drop
  }
  chain input { type filter hook input priority filter; policy accept;
    iifname "w%s" ct state established,related accept
    iifname "w%s" drop
  }
}`, name, masq, name, name, dnat, name, name, name)
		cmd := exec.Command("ip", "netns", "exec", rtr, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(nft)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft on %s: %v\n%s", rtr, err, out)
		}
		l.nodes[name] = &node{
			name: name, ns: home, underlay: fmt.Sprintf("198.19.%d.2", i),
			stateDir: filepath.Join(dir, name), socket: filepath.Join(dir, name+".sock"), logPath: filepath.Join(dir, name+".log"),
		}
	}
	return nl
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func (nl *natLab) startRelay() {
	nl.t.Helper()
	logf, _ := os.OpenFile(filepath.Join(nl.dir, "relay.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	nl.relay = exec.Command("ip", "netns", "exec", nl.prefix+"-inet", nl.bin, "relay", "--listen", "198.18.100.1:8443", "--stun-port", "3478")
	nl.relay.Stdout, nl.relay.Stderr = logf, logf
	if err := nl.relay.Start(); err != nil {
		nl.t.Fatal(err)
	}
	logf.Close()
}

func (nl *natLab) stopRelay() {
	if nl.relay == nil {
		return
	}
	nl.relay.Process.Signal(syscall.SIGTERM)
	nl.relay.Wait()
	nl.relay = nil
}

// pathOf returns on's view of peer: path and reason.
func (nl *natLab) pathOf(on, peer string) (string, string) {
	p, ok := nl.peer(on, peer)
	if !ok || !p.Online {
		return "none", ""
	}
	return p.Path, p.RelayReason
}

// pings reports whether one ping from a to b's overlay IPv4 succeeds.
func (nl *natLab) pings(a, b string) bool {
	p, ok := nl.peer(a, b)
	if !ok {
		return false
	}
	_, err := nsCmd(nl.nodes[a].ns, "ping", "-c", "1", "-W", "1", p.IPv4.String())
	return err == nil
}

// nft runs an nftables script in a router namespace.
func (nl *natLab) nft(home, script string) {
	nl.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", nl.prefix+"-r"+home, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		nl.t.Fatalf("nft: %v\n%s", err, out)
	}
}

// TestNATLab proves connectivity behind NATs: easy NATs go direct, hard
// (symmetric) NATs use the relay, every pairing carries traffic, and the
// paths recover from a relay restart, a cut direct path and an address
// change.
func TestNATLab(t *testing.T) {
	nl := newNATLab(t, "rfn", map[string]string{"ea": "easy", "eb": "easy", "ha": "hard", "hb": "hard"})
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	nl.startRelay()
	for _, n := range []string{"ea", "eb", "ha", "hb"} {
		nl.start(n, "--relay", relayURL)
	}
	nl.ray("ea", "create", "home")
	for _, n := range []string{"eb", "ha", "hb"} {
		code := lastLine(nl.ray("ea", "invite", "home"))
		nl.ray(n, "join", code)
	}
	joined := time.Now()
	waitUntil(t, 20*time.Second, "first packet ea->hb", func() bool { return nl.pings("ea", "hb") })
	firstPacket := time.Since(joined)

	t.Run("easy-easy goes direct within 10 s", func(t *testing.T) {
		defer func() {
			if t.Failed() {
				out, _ := nl.rayErr("ea", "netcheck")
				t.Logf("ea netcheck:\n%s", out)
				out, _ = nl.rayErr("ea", "status", "--json")
				t.Logf("ea status:\n%s", out)
			}
		}()
		waitUntil(t, 10*time.Second, "ea-eb direct", func() bool {
			a, _ := nl.pathOf("ea", "eb")
			b, _ := nl.pathOf("eb", "ea")
			return a == "direct" && b == "direct"
		})
		summary("time to first packet after joining (relay): %v; easy<->easy direct %v after the joins",
			firstPacket.Round(time.Millisecond), time.Since(joined).Round(time.Millisecond))
	})

	t.Run("hard-hard works through the relay", func(t *testing.T) {
		waitUntil(t, 15*time.Second, "ha-hb online", func() bool { p, _ := nl.pathOf("ha", "hb"); return p != "none" })
		if !nl.pings("ha", "hb") {
			t.Fatal("no traffic between the hard NATs")
		}
		path, reason := nl.pathOf("ha", "hb")
		if path != "relay" || reason == "" {
			t.Errorf("ha->hb path %q reason %q, want relay with a reason", path, reason)
		}
		summary("hard<->hard: path %s (%s)", path, reason)
	})

	t.Run("traffic in every pairing", func(t *testing.T) {
		var paths []string
		for _, a := range []string{"ea", "eb", "ha", "hb"} {
			for _, b := range []string{"ea", "eb", "ha", "hb"} {
				if a == b {
					continue
				}
				waitUntil(t, 15*time.Second, a+"->"+b+" ping", func() bool { return nl.pings(a, b) })
				p, _ := nl.pathOf(a, b)
				paths = append(paths, a+"->"+b+":"+p)
			}
		}
		summary("all 12 ordered pairs ping: %s", strings.Join(paths, " "))
	})

	t.Run("throughput direct vs relayed", func(t *testing.T) {
		if _, err := exec.LookPath("iperf3"); err != nil {
			t.Skip("iperf3 not installed")
		}
		for _, n := range []string{"eb", "hb"} {
			nl.ray(n, "firewall", "add", "in", "allow", "-p", "tcp", "-P", "5299")
		}
		eb, _ := nl.peer("ea", "eb")
		hb, _ := nl.peer("ha", "hb")
		direct := iperf(t, nl.nodes["ea"].ns, nl.nodes["eb"].ns, eb.IPv4.String())
		relayed := iperf(t, nl.nodes["ha"].ns, nl.nodes["hb"].ns, hb.IPv4.String())
		summary("iperf3 TCP 5 s: direct (easy<->easy) %.0f Mbit/s, relayed (hard<->hard) %.0f Mbit/s", direct, relayed)
	})

	t.Run("relay restart: back within 5 s of its return", func(t *testing.T) {
		nl.stopRelay()
		time.Sleep(2 * time.Second)
		nl.startRelay()
		back := time.Now()
		waitUntil(t, 5*time.Second, "relayed traffic after the relay's return", func() bool { return nl.pings("ha", "hb") })
		summary("relay restarted: hard<->hard traffic flowed again %v after it came back", time.Since(back).Round(time.Millisecond))
	})

	t.Run("cut direct path falls back, then recovers", func(t *testing.T) {
		cut := fmt.Sprintf(`table inet cut {
  chain forwarding { type filter hook forward priority -10; policy accept;
    ip daddr %s udp dport != 3478 drop
    ip saddr %s udp sport != 3478 drop
  }
}`, nl.wan["eb"], nl.wan["eb"])
		nl.nft("ea", cut)
		start := time.Now()
		waitUntil(t, 10*time.Second, "fallback to relay", func() bool {
			p, _ := nl.pathOf("ea", "eb")
			return p == "relay" && nl.pings("ea", "eb")
		})
		fallback := time.Since(start)
		if fallback > 5*time.Second+time.Second {
			t.Errorf("fallback took %v", fallback)
		}
		nl.nft("ea", "delete table inet cut")
		start = time.Now()
		waitUntil(t, 15*time.Second, "recover to direct", func() bool { p, _ := nl.pathOf("ea", "eb"); return p == "direct" })
		summary("direct path cut: relay after %v (traffic kept flowing); cut lifted: direct again after %v",
			fallback.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	})

	t.Run("underlay address change reconnects within 10 s", func(t *testing.T) {
		rtr := nl.prefix + "-rea"
		old := nl.wan["ea"]
		// Deleting the primary address would take a secondary in the same
		// subnet with it: swap them in this order.
		run(t, "ip", "-n", rtr, "addr", "del", old+"/24", "dev", "wea")
		run(t, "ip", "-n", rtr, "addr", "add", "198.18.100.99/24", "dev", "wea")
		start := time.Now()
		waitUntil(t, 10*time.Second, "traffic after the address change", func() bool { return nl.pings("ea", "eb") && nl.pings("ea", "hb") })
		summary("ea's public address changed %s -> 198.18.100.99: traffic to eb and hb again after %v", old, time.Since(start).Round(time.Millisecond))
	})
}

// TestMemberRelay: a network whose only reachable member serves as relay
// for the others (`ray daemon --serve-relay`); no third-party relay exists.
// Two nodes behind hard NATs reach each other through it.
func TestMemberRelay(t *testing.T) {
	nl := newNATLab(t, "rfr", map[string]string{"ha": "hard", "hb": "hard"})
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	// The public member lives on the internet bridge itself.
	pub := nl.prefix + "-pub"
	run(t, "ip", "netns", "add", pub)
	run(t, "ip", "-n", pub, "link", "set", "lo", "up")
	run(t, "ip", "link", "add", "up0", "netns", nl.prefix+"-inet", "type", "veth", "peer", "name", "eth0", "netns", pub)
	run(t, "ip", "-n", nl.prefix+"-inet", "link", "set", "up0", "master", "br0", "up")
	run(t, "ip", "-n", pub, "addr", "add", "198.18.100.50/24", "dev", "eth0")
	run(t, "ip", "-n", pub, "link", "set", "eth0", "up")
	nl.nodes["pub"] = &node{name: "pub", ns: pub, underlay: "198.18.100.50",
		stateDir: filepath.Join(nl.dir, "pub"), socket: filepath.Join(nl.dir, "pub.sock"), logPath: filepath.Join(nl.dir, "pub.log")}
	served := "http://198.18.100.50:8443"
	nl.start("pub", "--serve-relay", ":8443")
	nl.start("ha")
	nl.start("hb")
	nl.ray("pub", "create", "home")
	for _, n := range []string{"ha", "hb"} {
		nl.ray(n, "join", lastLine(nl.ray("pub", "invite", "home")))
	}
	waitUntil(t, 30*time.Second, "ha reaches hb", func() bool { return nl.pings("ha", "hb") })
	p, _ := nl.peer("ha", "hb")
	if p.Path != "relay" || p.Endpoint != served {
		t.Errorf("ha->hb path %s via %s, want relay via %s", p.Path, p.Endpoint, served)
	}
	// A member's relay carries what cannot go direct, but is nobody's
	// home relay or STUN server unless configured (issue 12 M4).
	nc, _ := nl.rayErr("ha", "netcheck")
	if strings.Contains(nc, "home relay:      "+served) {
		t.Errorf("ha took the member's relay as home relay:\n%s", nc)
	}
	summary("no third-party relay: hard<->hard traffic through the relay member pub serves (%s), not as home relay", served)
}
