//go:build netns

package netns

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// impairLab is a lab whose first node reaches the bridge only through an
// impaired link: test/impair relays its frames in a middle namespace.
//
//	PREFIX-NAME0 eth0 <-> i0 [PREFIX-mid: impair i0<->o0] o0 <-> PREFIX-sw br0
//	PREFIX-NAMEk eth0 <-----------------------------------------> PREFIX-sw br0
//
// Underlay 198.18.SUBNET.k+1/24; every node also has an on-link route to
// 198.18.SUBNET+1.0/24, so a node can move to that subnet and still be
// reached on the same wire.
type impairLab struct {
	*lab
	mid    string
	impair *exec.Cmd
	out    string // impair's counters, printed when it stops
	// impairOut collects the running relay's output.
	impairOut *strings.Builder
	wg        string // wireguard-go binary, "" if not built
}

func impairBin(t *testing.T) string {
	bin := os.Getenv("IMPAIR_BIN")
	if bin == "" {
		t.Skip("IMPAIR_BIN must name the test/impair binary (make netns sets it)")
	}
	if _, err := exec.LookPath("ethtool"); err != nil {
		t.Skip("ethtool not installed (make deps-test)")
	}
	return bin
}

// noOffloads turns off the checksum and segmentation offloads of a veth
// end, so the frames the impair relay copies are whole and valid.
func noOffloads(t *testing.T, ns, dev string) {
	t.Helper()
	out, err := nsCmd(ns, "ethtool", "-K", dev, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off")
	if err != nil {
		t.Fatalf("ethtool -K %s in %s: %v\n%s", dev, ns, err, out)
	}
}

func newImpairLab(t *testing.T, prefix string, subnet int, names ...string) *impairLab {
	impairBin(t)
	l := baseLab(t, prefix)
	il := &impairLab{lab: l, mid: prefix + "-mid", wg: os.Getenv("WG_GO")}
	t.Cleanup(func() {
		il.stopImpair()
		l.close()
	})
	sw := prefix + "-sw"
	for _, ns := range []string{sw, il.mid} {
		run(t, "ip", "netns", "add", ns)
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "-n", sw, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", sw, "link", "set", "br0", "up")
	for i, name := range names {
		n := l.newNode(name, fmt.Sprintf("198.18.%d.%d", subnet, i+1))
		run(t, "ip", "netns", "add", n.ns)
		if err := os.MkdirAll("/etc/netns/"+n.ns, 0o755); err == nil {
			os.WriteFile("/etc/netns/"+n.ns+"/resolv.conf", []byte("nameserver 127.0.0.1\n"), 0o644)
			t.Cleanup(func() { os.RemoveAll("/etc/netns/" + n.ns) })
		}
		run(t, "ip", "-n", n.ns, "link", "set", "lo", "up")
		tmp := fmt.Sprintf("%s%d", prefix, i)
		if i == 0 {
			run(t, "ip", "link", "add", tmp, "netns", n.ns, "type", "veth", "peer", "name", "i0", "netns", il.mid)
			run(t, "ip", "link", "add", "o0", "netns", il.mid, "type", "veth", "peer", "name", "p"+name, "netns", sw)
			for _, dev := range []string{"i0", "o0"} {
				noOffloads(t, il.mid, dev)
				run(t, "ip", "-n", il.mid, "link", "set", dev, "up")
			}
			noOffloads(t, sw, "p"+name)
		} else {
			run(t, "ip", "link", "add", tmp, "netns", n.ns, "type", "veth", "peer", "name", "p"+name, "netns", sw)
		}
		run(t, "ip", "-n", sw, "link", "set", "p"+name, "master", "br0", "up")
		run(t, "ip", "-n", n.ns, "link", "set", tmp, "name", "eth0")
		noOffloads(t, n.ns, "eth0")
		run(t, "ip", "-n", n.ns, "addr", "add", n.underlay+"/24", "dev", "eth0")
		run(t, "ip", "-n", n.ns, "link", "set", "eth0", "up")
		run(t, "ip", "-n", n.ns, "route", "add", fmt.Sprintf("198.18.%d.0/24", subnet+1), "dev", "eth0")
		run(t, "ip", "netns", "exec", n.ns, "sysctl", "-qw", "net.core.rmem_max=7500000", "net.core.wmem_max=7500000")
		l.nodes[name] = n
	}
	il.setImpair(0, 0, 0)
	return il
}

// setImpair (re)starts the relay with a one-way delay and loss and
// reorder percentages (each direction), paced at 100 Mbit/s. A restart
// loses the frames in flight, as a brief outage would.
func (il *impairLab) setImpair(delay time.Duration, loss, reorder float64) {
	il.t.Helper()
	il.stopImpair()
	il.impair = exec.Command("ip", "netns", "exec", il.mid, impairBin(il.t), "-a", "i0", "-b", "o0",
		"-delay", delay.String(), "-loss", fmt.Sprint(loss), "-reorder", fmt.Sprint(reorder),
		"-rate", "100M", "-limit", "2000", "-seed", strconv.FormatInt(time.Now().UnixNano(), 10))
	out := &strings.Builder{}
	il.impair.Stdout, il.impair.Stderr = out, out
	if err := il.impair.Start(); err != nil {
		il.t.Fatal(err)
	}
	il.out = ""
	first := il.nodes[il.order()[0]]
	other := il.nodes[il.order()[1]]
	waitUntil(il.t, 5*time.Second, "the impaired link to pass frames", func() bool {
		_, err := nsCmd(first.ns, "ping", "-c", "1", "-W", "1", other.underlay)
		return err == nil
	})
	il.impairOut = out
}

// order returns the node names in creation order (by underlay address).
func (il *impairLab) order() []string {
	names := make([]string, 0, len(il.nodes))
	for name := range il.nodes {
		names = append(names, name)
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if il.nodes[names[j]].underlay < il.nodes[names[i]].underlay {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
	return names
}

// stopImpair stops the relay and keeps its counters in il.out.
func (il *impairLab) stopImpair() {
	if il.impair == nil {
		return
	}
	il.impair.Process.Signal(syscall.SIGTERM)
	il.impair.Wait()
	il.impair = nil
	if il.impairOut != nil {
		il.out = il.impairOut.String()
	}
}

var impairCounter = regexp.MustCompile(`(\w+)=(\d+)`)

// impairStats sums the relay's counters over both directions.
func impairStats(out string) map[string]uint64 {
	m := map[string]uint64{}
	for _, kv := range impairCounter.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseUint(kv[2], 10, 64)
		m[kv[1]] += v
	}
	return m
}
