package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/enginetest/loopnode"
)

// testNode is an in-process daemon: an engine on loopback with a fake TUN
// and the local API on a unix socket, for CLI transcript tests.
type testNode struct {
	name   string
	socket string
	e      *engine.Engine
	tun    *enginetest.TUN
}

func startTestNode(t *testing.T, name string) *testNode {
	t.Helper()
	dir := t.TempDir()
	n := &testNode{name: name, socket: filepath.Join(dir, "ray.sock"), tun: enginetest.NewTUN()}
	n.e = loopnode.Start(t, filepath.Join(dir, "state"), name, n.tun)
	loopnode.ServeAPI(t, n.e, n.socket)
	return n
}

// ray runs one command line against n and returns stdout, stderr and the
// exit status.
func (n *testNode) ray(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return n.rayIn(t, "", args...)
}

func (n *testNode) rayIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errw bytes.Buffer
	code := runIO(append([]string{"--socket", n.socket}, args...), strings.NewReader(stdin), &out, &errw)
	t.Logf("%s$ ray %s\n%s%s(exit %d)", n.name, strings.Join(args, " "), out.String(), errw.String(), code)
	return out.String(), errw.String(), code
}

// must runs a command that has to succeed and returns its stdout.
func (n *testNode) must(t *testing.T, args ...string) string {
	t.Helper()
	out, errw, code := n.ray(t, args...)
	if code != 0 {
		t.Fatalf("ray %s: exit %d: %s", strings.Join(args, " "), code, errw)
	}
	return out
}

// lastLine is the last non-empty line of s (where invite prints its code).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	enginetest.WaitFor(t, d, what, cond)
}

// wantMatch fails unless s matches the regular expression re.
func wantMatch(t *testing.T, what, s, re string) {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(s) {
		t.Errorf("%s: %q does not match %q", what, s, re)
	}
}

// pair is admin "alpha" with network home and member "bravo", both online.
func pair(t *testing.T) (a, b *testNode) {
	t.Helper()
	a, b = startTestNode(t, "alpha"), startTestNode(t, "bravo")
	a.must(t, "create", "home")
	code := lastLine(a.must(t, "invite", "home"))
	b.must(t, "join", code)
	waitUntil(t, 10*time.Second, "alpha and bravo connected both ways", func() bool {
		pa, pb := a.e.Status().Peers, b.e.Status().Peers
		return len(pa) == 1 && pa[0].Online && len(pb) == 1 && pb[0].Online
	})
	return a, b
}
