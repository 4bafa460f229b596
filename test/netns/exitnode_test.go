//go:build netns

package netns

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Exit node and subnet router lab (issue 14):
//
//	x14-client 198.18.90.2 ─┐                 ┌─ x14-inet 198.18.77.10
//	x14-exit   198.18.90.1 ─┼─ br0 (x14-sw) ──┤  (only via exit's eth1 198.18.77.1)
//	x14-router 198.18.90.3 ─┘  .254 = leak    └─ x14-lan  198.18.78.20
//	                           catcher            (only via router's eth1 198.18.78.1)
//
// The client's default route points at 198.18.90.254 on the switch, which
// forwards nothing: a packet for 198.18.77.10 that leaked out of the
// client's eth0 is counted there by nftables, and never arrives.
const (
	inetAddr = "198.18.77.10"
	lanAddr  = "198.18.78.20"
)

// addStub adds namespace x14-NAME with addr/24 on a veth whose other end,
// with gw/24, goes into the namespace of node via, as eth1.
func (l *lab) addStub(name, addr, via, gw string) string {
	t := l.t
	ns := l.prefix + "-" + name
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { killNamespace(ns); exec.Command("ip", "netns", "del", ns).Run() })
	viaNS := l.nodes[via].ns
	run(t, "ip", "link", "add", "x14"+name, "netns", ns, "type", "veth", "peer", "name", "eth1", "netns", viaNS)
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	run(t, "ip", "-n", ns, "link", "set", "x14"+name, "name", "eth0")
	run(t, "ip", "-n", ns, "addr", "add", addr+"/24", "dev", "eth0")
	run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	run(t, "ip", "-n", ns, "route", "add", "default", "via", gw)
	run(t, "ip", "-n", viaNS, "addr", "add", gw+"/24", "dev", "eth1")
	run(t, "ip", "-n", viaNS, "link", "set", "eth1", "up")
	return ns
}

// whoAmI serves TCP in ns on addr:port, answering each connection with
// the remote address it sees. It stops with the test.
func whoAmI(t *testing.T, ns, addr string, port int) {
	var ln net.Listener
	inNS(t, ns, func() {
		var err error
		if ln, err = net.Listen("tcp4", fmt.Sprintf("%s:%d", addr, port)); err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintln(c, host)
			c.Close()
		}
	}()
}

// askWho connects from ns to addr:port and returns the address the
// server saw, or an error.
func askWho(t *testing.T, ns, addr string, port int) (string, error) {
	var c net.Conn
	var err error
	inNS(t, ns, func() {
		c, err = net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", addr, port), 2*time.Second)
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func ping(ns, addr string) error {
	out, err := nsCmd(ns, "ping", "-c", "1", "-W", "1", addr)
	if err != nil {
		return fmt.Errorf("%v: %s", err, lastLine(out))
	}
	return nil
}

// routingDump is `ip rule` and `ip route show table all` for both
// families in ns: what turning an exit node on and off must restore
// (all but the TUN's own link-local address).
func routingDump(t *testing.T, ns string) string {
	var b strings.Builder
	for _, args := range [][]string{{"-4", "rule"}, {"-6", "rule"}, {"-4", "route", "show", "table", "all"}, {"-6", "route", "show", "table", "all"}} {
		out, err := nsCmd(ns, append([]string{"ip"}, args...)...)
		if err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
		fmt.Fprintf(&b, "## ip %s\n", strings.Join(args, " "))
		for _, line := range strings.SplitAfter(out, "\n") {
			// The TUN's link-local address is the kernel's, new with
			// every device (after a daemon restart).
			if !strings.HasPrefix(line, "local fe80::") {
				b.WriteString(line)
			}
		}
	}
	return b.String()
}

// leakCounter counts packets for inetAddr, and DNS queries, that leave ns
// through eth0.
func leakCounter(t *testing.T, ns string) func() int {
	rules := `table inet x14leak {
	chain out {
		type filter hook output priority 0; policy accept;
		oifname "eth0" ip daddr ` + inetAddr + ` counter
		oifname "eth0" udp dport 53 counter
	}
}`
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	return func() int {
		out, err := nsCmd(ns, "nft", "-j", "list", "table", "inet", "x14leak")
		if err != nil {
			t.Fatalf("nft list: %v\n%s", err, out)
		}
		var doc struct {
			Nftables []struct {
				Rule *struct {
					Expr []map[string]json.RawMessage `json:"expr"`
				} `json:"rule"`
			} `json:"nftables"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		sum, rules := 0, 0
		for _, o := range doc.Nftables {
			if o.Rule == nil {
				continue
			}
			for _, e := range o.Rule.Expr {
				if c, ok := e["counter"]; ok {
					var n struct{ Packets int }
					json.Unmarshal(c, &n)
					sum += n.Packets
					rules++
				}
			}
		}
		if rules != 2 {
			t.Fatalf("%d counters in %s", rules, out)
		}
		return sum
	}
}

func exitState(st *apitype.Status) string {
	if st.ExitNode == nil {
		return "none"
	}
	return st.ExitNode.State
}

// TestExitNodeAndSubnetRoutes is issue 14's end-to-end evidence.
func TestExitNodeAndSubnetRoutes(t *testing.T) {
	l := newLab(t, "x14", 90, "exit", "client", "router")
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	// Each namespace gets its own resolv.conf: the exit node's resolver is
	// the internet host (which only it reaches), the others' a café
	// resolver that answers nothing.
	l.dns = true
	for n, ns := range map[string]string{"exit": inetAddr, "client": "198.18.90.254", "router": "198.18.90.254"} {
		dir := filepath.Join("/etc/netns", l.nodes[n].ns)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver "+ns+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sw := l.prefix + "-sw"
	run(t, "ip", "-n", sw, "addr", "add", "198.18.90.254/24", "dev", "br0")
	client, exitNS := l.nodes["client"].ns, l.nodes["exit"].ns
	run(t, "ip", "-n", client, "route", "add", "default", "via", "198.18.90.254")
	inet := l.addStub("inet", inetAddr, "exit", "198.18.77.1")
	lan := l.addStub("lan", lanAddr, "router", "198.18.78.1")
	whoAmI(t, inet, inetAddr, 8077)
	upstreamDNS(t, inet, inetAddr) // example.test -> 198.18.3.200
	whoAmI(t, lan, lanAddr, 8078)
	if err := ping(client, inetAddr); err == nil {
		t.Fatal("the internet host is reachable from the client without an exit node")
	}
	if got := digShort(client, "example.test"); got == "198.18.3.200" {
		t.Fatal("the client resolves example.test without an exit node")
	}

	for _, n := range []string{"exit", "client", "router"} {
		l.start(n)
	}
	l.ray("exit", "create", "lab")
	for _, n := range []string{"client", "router"} {
		l.ray(n, "join", lastLine(l.ray("exit", "invite", "lab")))
	}
	l.waitFor(20*time.Second, "client sees exit and router online", func() bool {
		return l.peerOnline("client", "exit") && l.peerOnline("client", "router")
	})
	// Inbound from the mesh is allowed on the exit node and the router
	// (the default is deny; their firewall still applies to forwarded
	// traffic).
	for _, n := range []string{"exit", "router"} {
		l.ray(n, "firewall", "default", "in", "allow")
	}
	before := routingDump(t, client)

	t.Run("exit node", func(t *testing.T) {
		l.ray("exit", "advertise", "exit-node", "on")
		l.waitFor(10*time.Second, "client sees the offer", func() bool {
			p, _ := l.peer("client", "exit")
			return p.ExitNodeOffer
		})
		if out, err := l.rayErr("client", "exit-node", "use", "exit"); err == nil {
			t.Fatalf("unapproved exit node accepted: %s", out)
		}
		l.ray("exit", "routes", "approve", "lab", "exit", "exit-node")
		l.waitFor(10*time.Second, "client sees the approval", func() bool {
			p, _ := l.peer("client", "exit")
			return p.ExitNodeApproved
		})
		l.ray("client", "exit-node", "use", "exit")
		l.waitFor(10*time.Second, "exit node online", func() bool { return exitState(l.status("client")) == apitype.ExitStateOnline })
		waitUntil(t, 10*time.Second, "ping through the exit node", func() bool { return ping(client, inetAddr) == nil })
		who, err := askWho(t, client, inetAddr, 8077)
		if err != nil {
			t.Fatalf("TCP through the exit node: %v", err)
		}
		if who != "198.18.77.1" {
			t.Errorf("the internet host saw %s, want the exit node's underlay 198.18.77.1", who)
		}
		p, _ := l.peer("client", "exit")
		if p.Path != apitype.PathDirect {
			t.Errorf("path to the exit node %q, want direct", p.Path)
		}
		summary("client -> %s through the exit node: ping ok, TCP ok, seen as %s; path to exit %s %s", inetAddr, who, p.Path, p.Endpoint)
	})

	t.Run("DNS follows the exit node", func(t *testing.T) {
		var got string
		waitUntil(t, 10*time.Second, "example.test through the exit node's resolver", func() bool {
			got = digShort(client, "example.test")
			return got == "198.18.3.200"
		})
		summary("client: dig @100.100.100.53 example.test -> %s, answered by the exit node's resolver %s (the client's own 198.18.90.254 answers nothing)", got, inetAddr)
	})

	t.Run("iperf3 through the exit node vs direct", func(t *testing.T) {
		through := iperf(t, client, inet, inetAddr)
		direct := iperf(t, client, exitNS, l.status("exit").Self.IPv4.String())
		summary("iperf3 TCP 5 s: client -> %s through the exit node %.0f Mbit/s; client -> exit node's overlay address %.0f Mbit/s (ratio %.2f)",
			inetAddr, through, direct, through/direct)
	})

	t.Run("client crash and restart keeps the exit node", func(t *testing.T) {
		withExit := routingDump(t, client)
		l.kill("client")
		l.start("client")
		l.waitFor(20*time.Second, "exit node online again", func() bool { return exitState(l.status("client")) == apitype.ExitStateOnline })
		waitUntil(t, 10*time.Second, "ping through the exit node after the restart", func() bool { return ping(client, inetAddr) == nil })
		if after := routingDump(t, client); after != withExit {
			t.Errorf("routing after a crash and restart differs:\nbefore:\n%s\nafter:\n%s", withExit, after)
		}
		summary("client killed (SIGKILL) and restarted: exit node kept (prefs), rules and routes as before the crash, ping ok")
	})

	t.Run("exit node stops: no leak", func(t *testing.T) {
		leaks := leakCounter(t, client)
		l.stop("exit")
		l.waitFor(20*time.Second, "exit node offline", func() bool { return exitState(l.status("client")) == apitype.ExitStateOffline })
		if err := ping(client, inetAddr); err == nil {
			t.Error("ping reached the internet host with the exit node stopped")
		}
		if _, err := askWho(t, client, inetAddr, 8077); err == nil {
			t.Error("TCP reached the internet host with the exit node stopped")
		}
		if got := digShort(client, "example.test"); got == "198.18.3.200" {
			t.Error("DNS answered with the exit node stopped")
		}
		if n := leaks(); n != 0 {
			t.Errorf("%d packets for %s or DNS left the client's underlay", n, inetAddr)
		}
		st := l.status("client")
		if st.Drops["exit_node_down"] == 0 {
			t.Errorf("no exit_node_down drops counted: %v", nonZero(st.Drops))
		}
		out := l.ray("client", "status")
		if !strings.Contains(out, "BLOCKED") {
			t.Errorf("status does not say traffic is blocked:\n%s", out)
		}
		summary("exit node stopped: state %s, ping and TCP fail, %d packets leaked on eth0, drops %v", exitState(st), leaks(), nonZero(st.Drops))
	})

	t.Run("exit-node off restores the routes", func(t *testing.T) {
		l.ray("client", "exit-node", "off")
		waitUntil(t, 5*time.Second, "routes restored", func() bool { return routingDump(t, client) == before })
		if after := routingDump(t, client); after != before {
			t.Errorf("routing differs after exit-node off:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		summary("exit-node off: ip rule / ip route dumps identical to before (%d lines)", strings.Count(before, "\n"))
	})

	t.Run("subnet route after approval", func(t *testing.T) {
		l.start("exit")
		l.ray("router", "advertise", "routes", "198.18.78.0/24")
		l.waitFor(20*time.Second, "client sees exit and router", func() bool {
			return l.peerOnline("client", "exit") && l.peerOnline("client", "router")
		})
		time.Sleep(time.Second) // the offer reaches the client
		if err := ping(client, lanAddr); err == nil {
			t.Fatal("the LAN host is reachable before approval")
		}
		l.ray("exit", "routes", "approve", "lab", "router", "198.18.78.0/24")
		waitUntil(t, 10*time.Second, "ping to the LAN host", func() bool { return ping(client, lanAddr) == nil })
		who, err := askWho(t, client, lanAddr, 8078)
		if err != nil {
			t.Fatalf("TCP to the LAN host: %v", err)
		}
		out, _ := nsCmd(client, "ip", "route", "get", lanAddr)
		summary("LAN host %s reachable from client only after approval; it saw %s; client route: %s", lanAddr, who, strings.TrimSpace(out))
		l.ray("exit", "routes", "unapprove", "lab", "router", "198.18.78.0/24")
		waitUntil(t, 10*time.Second, "LAN host unreachable again", func() bool { return ping(client, lanAddr) != nil })
	})
}

// digShort asks magic DNS in ns for name's A record; "" if no answer.
func digShort(ns, name string) string {
	out, err := nsCmd(ns, "dig", "+short", "+time=1", "+tries=1", "@100.100.100.53", name, "A")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
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
