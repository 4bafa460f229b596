//go:build netns

// Package netns holds rayfish's end-to-end tests: real `ray` daemons with
// real TUN devices in network namespaces on one machine. They need root
// and are run by `make netns` (part of `make test`). Underlay addresses
// come from 198.18.0.0/15 only, inside namespaces the tests create and
// always delete.
package netns

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// lab is a set of namespaces on one bridge, each running a daemon.
type lab struct {
	t      *testing.T
	prefix string
	dir    string
	bin    string
	nodes  map[string]*node
	// dns lets daemons manage resolv.conf: only for tests that give each
	// namespace its own /etc/netns/NS/resolv.conf, since a namespace
	// shares the host's /etc/resolv.conf otherwise.
	dns bool
}

// node is one namespace with its daemon.
type node struct {
	name     string
	ns       string
	underlay string
	stateDir string
	socket   string
	logPath  string
	cmd      *exec.Cmd
}

func rayBin(t *testing.T) string {
	if os.Geteuid() != 0 {
		t.Skip("netns tests need root")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("no /dev/net/tun")
	}
	bin := os.Getenv("RAY_BIN")
	if bin == "" {
		t.Fatal("RAY_BIN must name the ray binary (make netns sets it)")
	}
	return bin
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newLab creates namespaces prefix-NAME for each name, on a bridge living
// in its own namespace, with underlay 198.18.<subnet>.<i+1>/24.
func newLab(t *testing.T, prefix string, subnet int, names ...string) *lab {
	l := baseLab(t, prefix)
	t.Cleanup(func() { l.close() })
	sw := prefix + "-sw"
	run(t, "ip", "netns", "add", sw)
	run(t, "ip", "-n", sw, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", sw, "link", "set", "br0", "up")
	for i, name := range names {
		n := l.newNode(name, fmt.Sprintf("198.18.%d.%d", subnet, i+1))
		run(t, "ip", "netns", "add", n.ns)
		veth := fmt.Sprintf("%s%d", prefix, i)
		run(t, "ip", "link", "add", veth, "netns", n.ns, "type", "veth", "peer", "name", "p"+name, "netns", sw)
		run(t, "ip", "-n", sw, "link", "set", "p"+name, "master", "br0", "up")
		run(t, "ip", "-n", n.ns, "link", "set", "lo", "up")
		run(t, "ip", "-n", n.ns, "link", "set", veth, "name", "eth0")
		run(t, "ip", "-n", n.ns, "addr", "add", n.underlay+"/24", "dev", "eth0")
		run(t, "ip", "-n", n.ns, "link", "set", "eth0", "up")
		l.nodes[name] = n
	}
	return l
}

// baseLab returns an empty lab with its directory, after deleting any
// namespace left over with prefix.
func baseLab(t *testing.T, prefix string) *lab {
	l := &lab{t: t, prefix: prefix, bin: rayBin(t), nodes: map[string]*node{}}
	// Not t.TempDir: its parent is 0700, and the unprivileged API test
	// must reach the sockets in here.
	dir, err := os.MkdirTemp("", prefix+"-lab-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	l.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	cleanupNamespaces(prefix)
	return l
}

// newNode describes node name (namespace PREFIX-name, files in the lab
// directory) with underlay address underlay; it creates nothing.
func (l *lab) newNode(name, underlay string) *node {
	return &node{
		name:     name,
		ns:       l.prefix + "-" + name,
		underlay: underlay,
		stateDir: filepath.Join(l.dir, name),
		socket:   filepath.Join(l.dir, name+".sock"),
		logPath:  filepath.Join(l.dir, name+".log"),
	}
}

func cleanupNamespaces(prefix string) {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix+"-") {
			killNamespace(f[0])
			exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
}

func killNamespace(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, p := range strings.Fields(string(out)) {
		exec.Command("kill", "-9", p).Run()
	}
}

func (l *lab) close() {
	for _, n := range l.nodes {
		l.stop(n.name)
	}
	if l.t.Failed() {
		for _, n := range l.nodes {
			b, _ := os.ReadFile(n.logPath)
			l.t.Logf("---- %s daemon log ----\n%s", n.name, tail(string(b), 60))
		}
	}
	cleanupNamespaces(l.prefix)
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// start starts name's daemon and waits for its API.
func (l *lab) start(name string, extra ...string) {
	l.t.Helper()
	n := l.nodes[name]
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		l.t.Fatal(err)
	}
	args := []string{"netns", "exec", n.ns, l.bin, "daemon", "--state-dir", n.stateDir, "--socket", n.socket, "--hostname", name}
	if !l.dns {
		args = append(args, "--no-dns")
	}
	n.cmd = exec.Command("ip", append(args, extra...)...)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	logf.Close()
	l.waitFor(10*time.Second, name+" API up", func() bool {
		_, err := l.rayErr(name, "status", "--json")
		return err == nil
	})
}

// stop stops name's daemon with SIGTERM (SIGKILL after 5 s).
func (l *lab) stop(name string) {
	n := l.nodes[name]
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	// ip netns exec forwards signals to the daemon it execs.
	n.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		n.cmd.Process.Kill()
		<-done
	}
	n.cmd = nil
}

// kill kills name's daemon with SIGKILL, as a crash would.
func (l *lab) kill(name string) {
	n := l.nodes[name]
	if n.cmd == nil {
		return
	}
	killNamespace(n.ns)
	n.cmd.Wait()
	n.cmd = nil
}

// ray runs the CLI against name's daemon and fails the test on error.
func (l *lab) ray(name string, args ...string) string {
	l.t.Helper()
	out, err := l.rayErr(name, args...)
	if err != nil {
		l.t.Fatalf("ray %s on %s: %v\n%s", strings.Join(args, " "), name, err, out)
	}
	return out
}

func (l *lab) rayErr(name string, args ...string) (string, error) {
	n := l.nodes[name]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.bin, append([]string{"--socket", n.socket}, args...)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

func (l *lab) status(name string) *apitype.Status {
	l.t.Helper()
	out := l.ray(name, "status", "--json")
	var st apitype.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		l.t.Fatalf("status of %s: %v\n%s", name, err, out)
	}
	return &st
}

func (l *lab) waitFor(d time.Duration, what string, cond func() bool) {
	l.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			l.t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// peerOnline reports whether on sees peer (by hostname) online.
func (l *lab) peerOnline(on, peer string) bool {
	for _, p := range l.status(on).Peers {
		if p.Hostname == peer {
			return p.Online
		}
	}
	return false
}

func (l *lab) peer(on, peer string) (apitype.Peer, bool) {
	for _, p := range l.status(on).Peers {
		if p.Hostname == peer {
			return p, true
		}
	}
	return apitype.Peer{}, false
}

// inNS runs f on an OS thread switched into namespace ns; sockets created
// there stay in that namespace.
func inNS(t *testing.T, ns string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		t.Fatal(err)
	}
	defer netns.Set(orig)
	f()
}

// nsCmd runs a command inside ns and returns its combined output.
func nsCmd(ns string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	return string(out), err
}

// waitUntil polls cond every 100 ms until it holds or d passes; it fails
// t (the subtest's own t inside t.Run).
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
