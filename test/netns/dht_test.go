//go:build netns

package netns

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// startDHTNodes runs n `ray dht serve` nodes on the lab's internet bridge
// (198.18.100.1, ports 6881...), each bootstrapping from the first, and
// returns their addresses. They stop when the test ends.
func (nl *natLab) startDHTNodes(n int) []string {
	nl.t.Helper()
	var addrs []string
	for i := range n {
		addr := fmt.Sprintf("198.18.100.1:%d", 6881+i)
		args := []string{"netns", "exec", nl.prefix + "-inet", nl.bin, "dht", "serve", "--listen", addr}
		if i > 0 {
			args = append(args, "--bootstrap", addrs[0])
		}
		logf, err := os.OpenFile(filepath.Join(nl.dir, fmt.Sprintf("dht%d.log", i)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			nl.t.Fatal(err)
		}
		cmd := exec.Command("ip", args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			nl.t.Fatal(err)
		}
		logf.Close()
		nl.t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		})
		addrs = append(addrs, addr)
	}
	return addrs
}

// dhtOf reads name's DHT state from netcheck.
func (nl *natLab) dhtOf(name string) apitype.NetcheckDHT {
	nl.t.Helper()
	var r apitype.Netcheck
	if err := json.Unmarshal([]byte(nl.ray(name, "netcheck", "--json")), &r); err != nil {
		nl.t.Fatalf("netcheck of %s: %v", name, err)
	}
	return r.DHT
}

// pairTimes polls pairs (hostnames "a-b") from start until each carries
// a ping and each of direct shows a direct path both ways, failing t
// after d; it returns when each pair first pinged and first went direct.
func (nl *natLab) pairTimes(t *testing.T, start time.Time, d time.Duration, pairs, direct []string) (first, toDirect map[string]time.Duration) {
	t.Helper()
	first, toDirect = map[string]time.Duration{}, map[string]time.Duration{}
	waitUntil(t, d, "pairs "+strings.Join(pairs, " ")+" online, "+strings.Join(direct, " ")+" direct", func() bool {
		done := true
		for _, k := range pairs {
			p := strings.Split(k, "-")
			if _, ok := first[k]; !ok {
				if nl.pings(p[0], p[1]) {
					first[k] = time.Since(start)
				} else {
					done = false
				}
			}
			if _, ok := toDirect[k]; !ok {
				x, _ := nl.pathOf(p[0], p[1])
				y, _ := nl.pathOf(p[1], p[0])
				if x == "direct" && y == "direct" {
					toDirect[k] = time.Since(start)
				} else if slices.Contains(direct, k) {
					done = false
				}
			}
		}
		return done
	})
	return first, toDirect
}

// relayedVia checks that the pair's traffic goes through relay url, both
// ways.
func (nl *natLab) relayedVia(t *testing.T, a, b, url string) {
	t.Helper()
	for _, p := range [][2]string{{a, b}, {b, a}} {
		if q, _ := nl.peer(p[0], p[1]); q.Path != "relay" || q.Endpoint != url {
			t.Errorf("%s->%s path %s via %s, want relay via the member relay %s", p[0], p[1], q.Path, q.Endpoint, url)
		}
	}
}

// dhtPort is the UDP port of name's DHT node, from its last "dht on" log
// line.
func (nl *natLab) dhtPort(name string) string {
	nl.t.Helper()
	b, _ := os.ReadFile(nl.nodes[name].logPath)
	m := dhtOnRE.FindAllStringSubmatch(string(b), -1)
	if len(m) == 0 {
		nl.t.Fatalf("%s logged no \"dht on\"", name)
	}
	return m[len(m)-1][1]
}

var dhtOnRE = regexp.MustCompile(`msg="dht on" addr=\S*:(\d+)`)

// countDHT counts, in name's namespace, the IP bytes its DHT node's
// socket sends and receives (nftables counters), independently of the
// daemon's own.
func (nl *natLab) countDHT(name string) {
	nl.t.Helper()
	port := nl.dhtPort(name)
	cmd := exec.Command("ip", "netns", "exec", nl.nodes[name].ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(fmt.Sprintf(`table inet rfdhtc {
  chain out { type filter hook output priority filter; udp sport %s counter; }
  chain in { type filter hook input priority filter; udp dport %s counter; }
}`, port, port))
	if out, err := cmd.CombinedOutput(); err != nil {
		nl.t.Fatalf("nft counters on %s: %v\n%s", name, err, out)
	}
}

var counterRE = regexp.MustCompile(`counter packets \d+ bytes (\d+)`)

// dhtWireBytes reads countDHT's counters: bytes out and in.
func (nl *natLab) dhtWireBytes(name string) (out, in int64) {
	nl.t.Helper()
	o, err := nsCmd(nl.nodes[name].ns, "nft", "list", "table", "inet", "rfdhtc")
	m := counterRE.FindAllStringSubmatch(o, -1)
	if err != nil || len(m) != 2 {
		nl.t.Fatalf("nft counters on %s: %v\n%s", name, err, o)
	}
	out, _ = strconv.ParseInt(m[0][1], 10, 64)
	in, _ = strconv.ParseInt(m[1][1], 10, 64)
	return out, in
}

var probeRE = regexp.MustCompile(`msg="dht rendezvous: probing a member found on the DHT" peer=(\S+) slot=(\S+)`)

// probeSlots lists the rendezvous slots in which name probed peer (by
// hostname) since its log had skip bytes.
func (nl *natLab) probeSlots(name, peer string, skip int) []string {
	nl.t.Helper()
	p, ok := nl.peer(name, peer)
	if !ok {
		return nil
	}
	b, _ := os.ReadFile(nl.nodes[name].logPath)
	var slots []string
	for _, m := range probeRE.FindAllStringSubmatch(string(b[min(skip, len(b)):]), -1) {
		if strings.HasPrefix(p.ID, m[1]) && !slices.Contains(slots, m[2]) {
			slots = append(slots, m[2])
		}
	}
	return slots
}

// TestDHTRendezvous is issue 15's lab: no relay, no server, only four
// plain DHT nodes on the "internet". A sits behind a home router that
// drops unsolicited WAN traffic but maps ports (test/gateway, every
// protocol on), B behind an easy NAT, C behind a symmetric one with no
// mapping. B and C join with codes only: A-B and A-C go direct (A's
// mapping admits C), B-C goes through the relay A serves by default
// because its gateway maps its ports. Then all three stop (the router
// then holds no mapping), A's router gets a new WAN address — what B and
// C saved, A's address and its relay's, leads nowhere — and every pair is
// online again within 60 s with no new invite, B and C having found A
// through the DHT, and A's mappings re-created. Finally the steady
// state's DHT lookups and traffic per node.
//
// Each protocol alone giving the same A result, and a crashed node's
// stale mapping being replaced rather than duplicated, are shown by
// TestPortMapLab.
func TestDHTRendezvous(t *testing.T) {
	nl := newNATLab(t, "rfPd", map[string]string{"a": "portmap", "b": "easy", "c": "hard"})
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	gw := gatewayBin(t, nl.dir)
	g := nl.startGateway(gw, "a", "pcp,nat-pmp,upnp")
	defer func() { stopCmd(g) }()
	nl.dhtBoot = nl.startDHTNodes(4)
	names := []string{"a", "b", "c"}
	for _, n := range names {
		nl.start(n)
	}
	waitUntil(t, 15*time.Second, "a's port mapping", func() bool { return nl.portMapping("a").Protocol != "" })
	nl.ray("a", "create", "home")
	for _, n := range []string{"b", "c"} {
		nl.ray(n, "join", lastLine(nl.ray("a", "invite", "home")))
	}
	joined := time.Now()
	pairs := []string{"a-b", "a-c", "b-c"}
	first, direct := nl.pairTimes(t, joined, 60*time.Second, pairs, []string{"a-b", "a-c"})
	served := nl.memberRelay()
	nl.relayedVia(t, "b", "c", served)
	for _, k := range pairs {
		summary("after the joins %s: first packet %v, direct %s", k, first[k].Round(time.Millisecond), directText(direct[k]))
	}
	for _, n := range names {
		waitUntil(t, 60*time.Second, n+" publishes on the DHT", func() bool { return !nl.dhtOf(n).LastPublish.IsZero() })
	}

	// Everyone stops: the router holds no mapping any more. Then the
	// home router of A gets a new WAN address.
	for _, n := range names {
		nl.stop(n)
	}
	if fw := append(nl.forwardsOf("a", "udp"), nl.forwardsOf("a", "tcp")...); len(fw) != 0 {
		t.Fatalf("after a clean stop the router still forwards %q", fw)
	}
	stopCmd(g)
	old := nl.wan["a"]
	nl.wan["a"] = "198.18.100.21"
	run(t, "ip", "-n", nl.prefix+"-ra", "addr", "del", old+"/24", "dev", "wa")
	run(t, "ip", "-n", nl.prefix+"-ra", "addr", "add", nl.wan["a"]+"/24", "dev", "wa")
	// Like a router that reconnected: no connection state survives (the
	// DNAT entries of the old address would still carry B's and C's
	// packets to A through neighbours' stale ARP caches).
	inNS(t, nl.prefix+"-ra", func() {
		if err := netlink.ConntrackTableFlush(netlink.ConntrackTable); err != nil {
			t.Fatalf("flush a's router's conntrack: %v", err)
		}
	})
	g = nl.startGateway(gw, "a", "pcp,nat-pmp,upnp")
	logSize := map[string]int{}
	for _, n := range names {
		st, _ := os.Stat(nl.nodes[n].logPath)
		logSize[n] = int(st.Size())
	}
	restart := time.Now()
	for _, n := range names {
		nl.start(n)
	}
	first, direct = nl.pairTimes(t, restart, 60*time.Second, pairs, []string{"a-b", "a-c"})
	served = nl.memberRelay()
	if !strings.HasPrefix(served, "http://"+nl.wan["a"]+":") {
		t.Errorf("member relay %s, want one on a's new address %s", served, nl.wan["a"])
	}
	nl.relayedVia(t, "b", "c", served)
	for _, k := range pairs {
		summary("after the full restart (a's router on a new WAN address) %s: first packet %v, direct %s",
			k, first[k].Round(time.Millisecond), directText(direct[k]))
	}
	for _, n := range []string{"b", "c"} {
		pa, _ := nl.peer(n, "a")
		summary("%s found a via %s (path %s %s)", n, pa.DiscoveredVia, pa.Path, pa.Endpoint)
		if pa.DiscoveredVia != "dht" {
			t.Errorf("%s found a via %q, want dht", n, pa.DiscoveredVia)
		}
	}
	summary("a's mappings re-created on the router: udp %q, tcp (member relay) %q", nl.forwardsOf("a", "udp"), nl.forwardsOf("a", "tcp"))
	bc, cb := nl.probeSlots("b", "c", logSize["b"]), nl.probeSlots("c", "b", logSize["c"])
	same := slices.DeleteFunc(slices.Clone(bc), func(s string) bool { return !slices.Contains(cb, s) })
	summary("rendezvous after the restart at %s: b probed c in slots %v, c probed b in %v; the same slots: %v (symmetric NAT: b-c stays relayed); b probed a in %v, c probed a in %v, a probed b in %v, c in %v",
		restart.UTC().Format(time.TimeOnly), bc, cb, same, nl.probeSlots("b", "a", logSize["b"]), nl.probeSlots("c", "a", logSize["c"]),
		nl.probeSlots("a", "b", logSize["a"]), nl.probeSlots("a", "c", logSize["a"]))
	if len(bc) > 0 && len(cb) > 0 && len(same) == 0 {
		t.Errorf("b and c probed each other in different slots: %v and %v", bc, cb)
	}

	// Steady state: DHT lookups and bytes per node over a minute, from
	// the daemon's counters and from nftables on the DHT socket's port.
	before := map[string]apitype.NetcheckDHT{}
	for _, n := range names {
		nl.countDHT(n)
		before[n] = nl.dhtOf(n)
	}
	const window = 60 * time.Second
	time.Sleep(window)
	for _, n := range names {
		d, b := nl.dhtOf(n), before[n]
		out, in := nl.dhtWireBytes(n)
		summary("%s steady state: %d DHT lookups/min; DHT traffic %.0f B/s by the daemon's counters (in %d, out %d B in 60 s), %.0f B/s on the wire (nft: in %d, out %d B); %d DHT nodes known",
			n, d.Lookups-b.Lookups, float64(d.BytesIn+d.BytesOut-b.BytesIn-b.BytesOut)/window.Seconds(), d.BytesIn-b.BytesIn, d.BytesOut-b.BytesOut,
			float64(in+out)/window.Seconds(), in, out, d.Nodes)
		if out == 0 || d.BytesOut == b.BytesOut {
			t.Errorf("%s sent no DHT traffic in a minute: the measurement measures nothing", n)
		}
	}
}

// memberRelay is the URL of the relay a serves through its router's TCP
// mapping: the router's WAN address and the one TCP port it forwards to a.
func (nl *natLab) memberRelay() string {
	nl.t.Helper()
	fw := nl.forwardsOf("a", "tcp")
	if len(fw) != 1 {
		nl.t.Fatalf("a's router forwards TCP %q, want the member relay's port", fw)
	}
	return "http://" + nl.wan["a"] + ":" + strings.Fields(fw[0])[0]
}

func directText(d time.Duration) string {
	if d == 0 {
		return "never (relayed)"
	}
	return d.Round(time.Millisecond).String()
}
