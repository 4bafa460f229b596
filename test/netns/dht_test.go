//go:build netns

package netns

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestDHTRendezvous: no relay and no server but four plain DHT nodes on
// the "internet". A is on the internet and serves a member relay, B is
// behind an easy NAT, C behind a symmetric one; B and C join with codes
// only. Then all three stop, A comes back on another port (the addresses
// B and C saved, its UDP port and its relay's, are stale), and every pair is online again within 60 s,
// B and C having found A through the DHT.
func TestDHTRendezvous(t *testing.T) {
	nl := newNATLab(t, "d15", map[string]string{"b": "easy", "c": "hard"})
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	nl.dhtBoot = nl.startDHTNodes(4)
	nl.addPublic("a", "198.18.100.50")
	served := "http://198.18.100.50:8443"
	// 198.18.0.0/15 is not a public range, so the lab names the member
	// relay A serves by default on a public address.
	nl.start("a", "--serve-relay", ":8443", "--listen-port", "41641")
	nl.start("b")
	nl.start("c")
	nl.ray("a", "create", "home")
	for _, n := range []string{"b", "c"} {
		nl.ray(n, "join", lastLine(nl.ray("a", "invite", "home")))
	}
	pairs := [][2]string{{"a", "b"}, {"a", "c"}, {"b", "c"}}
	for _, p := range pairs {
		waitUntil(t, 60*time.Second, p[0]+" reaches "+p[1], func() bool { return nl.pings(p[0], p[1]) })
	}
	if p, _ := nl.peer("b", "c"); p.Path != "relay" || p.Endpoint != served {
		t.Errorf("b->c path %s via %s, want relay via the member relay %s", p.Path, p.Endpoint, served)
	}
	for _, n := range []string{"a", "b", "c"} {
		waitUntil(t, 60*time.Second, n+" publishes on the DHT", func() bool { return !nl.dhtOf(n).LastPublish.IsZero() })
	}

	// Everyone stops; A comes back elsewhere: new UDP port, new relay
	// port, so what B and C saved leads nowhere.
	for _, n := range []string{"a", "b", "c"} {
		nl.stop(n)
	}
	start := time.Now()
	nl.start("a", "--serve-relay", ":8444", "--listen-port", "41700")
	served = "http://198.18.100.50:8444"
	nl.start("b")
	nl.start("c")
	first := map[string]time.Duration{}
	direct := map[string]time.Duration{}
	waitUntil(t, 60*time.Second, "every pair online again", func() bool {
		for _, p := range pairs {
			k := p[0] + "-" + p[1]
			if _, ok := first[k]; !ok && nl.pings(p[0], p[1]) {
				first[k] = time.Since(start)
			}
			if path, _ := nl.pathOf(p[0], p[1]); path == "direct" {
				if _, ok := direct[k]; !ok {
					direct[k] = time.Since(start)
				}
			}
		}
		return len(first) == len(pairs)
	})
	waitUntil(t, 30*time.Second, "a-b and a-c direct", func() bool {
		for _, k := range []string{"a-b", "a-c"} {
			p := strings.Split(k, "-")
			if path, _ := nl.pathOf(p[0], p[1]); path == "direct" {
				if _, ok := direct[k]; !ok {
					direct[k] = time.Since(start)
				}
			}
		}
		return direct["a-b"] > 0 && direct["a-c"] > 0
	})
	for _, p := range pairs {
		k := p[0] + "-" + p[1]
		d := "never (relayed)"
		if direct[k] > 0 {
			d = direct[k].Round(time.Millisecond).String()
		}
		summary("after the restart %s: first packet %v, direct %s", k, first[k].Round(time.Millisecond), d)
	}
	for _, n := range []string{"b", "c"} {
		pa, _ := nl.peer(n, "a")
		summary("%s found a via %s (path %s %s)", n, pa.DiscoveredVia, pa.Path, pa.Endpoint)
		if pa.DiscoveredVia != "dht" {
			t.Errorf("%s found a via %q, want dht", n, pa.DiscoveredVia)
		}
	}
	if p, _ := nl.peer("b", "c"); p.Path != "relay" || p.Endpoint != served {
		t.Errorf("after restart b->c path %s via %s, want relay via %s", p.Path, p.Endpoint, served)
	}

	// Steady state: DHT lookups and bytes per node over a minute.
	before := map[string]apitype.NetcheckDHT{}
	for _, n := range []string{"a", "b", "c"} {
		before[n] = nl.dhtOf(n)
	}
	time.Sleep(60 * time.Second)
	for _, n := range []string{"a", "b", "c"} {
		d := nl.dhtOf(n)
		b := before[n]
		summary("%s steady state: %d DHT lookups/min, %.0f B/s DHT traffic (in %d, out %d B in 60 s), %d DHT nodes known",
			n, d.Lookups-b.Lookups, float64(d.BytesIn+d.BytesOut-b.BytesIn-b.BytesOut)/60, d.BytesIn-b.BytesIn, d.BytesOut-b.BytesOut, d.Nodes)
	}
}
