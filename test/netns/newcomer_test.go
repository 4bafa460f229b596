//go:build netns

package netns

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// rayIn runs the CLI against name's daemon with stdin, returning the
// combined output and the exit status.
func (l *lab) rayIn(name, stdin string, args ...string) (string, int) {
	n := l.nodes[name]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.bin, append([]string{"--socket", n.socket}, args...)...)
	var buf bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		l.t.Fatalf("ray %v: %v", args, err)
	}
	return buf.String(), code
}

// ownResolvConf gives each of l's namespaces its own resolv.conf.
func ownResolvConf(t *testing.T, l *lab) {
	for _, n := range l.nodes {
		dir := filepath.Join("/etc/netns", n.ns)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver 198.18.119.254\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
}

// TestNewcomer walks the newcomer's path with real daemons (issue 19):
// the firewall hint and the last-minute drop count, `join -` from stdin,
// standby seen by peers and refused by ping, an approval wait ended by a
// signed denial, and joining an open network by its id found on the LAN.
func TestNewcomer(t *testing.T) {
	l := newLab(t, "rfH", 119, "alpha", "bravo", "charlie")
	ownResolvConf(t, l)
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		l.start(n)
	}
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }

	out := l.ray("alpha", "create", "home")
	if !strings.Contains(out, "inbound connections to this device are blocked except ping; open a port with: ray firewall add in allow -p tcp -P 8080") {
		t.Fatalf("create without the firewall hint: %s", out)
	}
	code := lastLine(l.ray("alpha", "invite", "home"))
	out, st := l.rayIn("bravo", code+"\n", "join", "-")
	if st != 0 || !strings.Contains(out, `joined network "home" as bravo`) || !strings.Contains(out, "blocked except ping") {
		t.Fatalf("join - (exit %d): %s", st, out)
	}
	l.waitFor(20*time.Second, "alpha and bravo connected", func() bool {
		return l.peerOnline("alpha", "bravo") && l.peerOnline("bravo", "alpha")
	})
	summary("create and join print the firewall hint; join - took the code from stdin")

	t.Run("firewall drops of the last minute", func(t *testing.T) {
		bravo := l.status("bravo").Self.IPv4
		for range 3 {
			nsCmd(l.nodes["alpha"].ns, "bash", "-c", "echo hello > /dev/udp/"+bravo.String()+"/8080")
		}
		l.waitFor(10*time.Second, "bravo counts the drops", func() bool { return l.status("bravo").FirewallInLastMinute >= 3 })
		out := l.ray("bravo", "status")
		if !strings.Contains(out, "inbound packet(s) in the last minute: inbound connections to this device are blocked except ping") {
			t.Errorf("status lacks the firewall line:\n%s", out)
		}
		summary("3 UDP packets to a closed port: bravo's status counts %d firewall_in drops in the last minute", l.status("bravo").FirewallInLastMinute)
	})

	t.Run("standby", func(t *testing.T) {
		l.ray("bravo", "down")
		out, st := l.rayIn("bravo", "", "ping", "alpha", "-c1")
		if st != 1 || !strings.Contains(out, "rayfish is down (standby)") {
			t.Errorf("ping while down (exit %d): %s", st, out)
		}
		l.waitFor(10*time.Second, "alpha sees bravo in standby", func() bool {
			p, ok := l.peer("alpha", "bravo")
			return ok && p.State == apitype.PeerStandby
		})
		if out := l.ray("alpha", "status"); !strings.Contains(out, "standby (down)") {
			t.Errorf("alpha's status:\n%s", out)
		}
		l.ray("bravo", "up")
		l.waitFor(10*time.Second, "alpha sees bravo online", func() bool {
			p, ok := l.peer("alpha", "bravo")
			return ok && p.State == apitype.PeerOnline
		})
		if out, st := l.rayIn("bravo", "", "ping", "alpha", "-c1"); st != 0 {
			t.Errorf("ping after up (exit %d): %s", st, out)
		}
		summary("ray down: ping says rayfish is down, alpha shows bravo as standby; ray up: online again")
	})

	t.Run("approval denied", func(t *testing.T) {
		code := lastLine(l.ray("alpha", "invite", "home", "--approval"))
		type result struct {
			out  string
			code int
		}
		done := make(chan result, 1)
		go func() {
			out, st := l.rayIn("charlie", "", "join", code, "--wait", "60s")
			done <- result{out, st}
		}()
		l.waitFor(20*time.Second, "charlie's request waits", func() bool {
			j := l.status("charlie").Joining
			return len(j) == 1 && j[0].State == apitype.JoinWaiting
		})
		if out := l.ray("charlie", "status"); !strings.Contains(out, "waiting for an admin of home to approve this device") {
			t.Errorf("charlie's status:\n%s", out)
		}
		l.ray("alpha", "deny", "home", "charlie")
		select {
		case r := <-done:
			if r.code != 1 || !strings.HasPrefix(r.out, "waiting for an admin of home to approve this device (Ctrl-C keeps the request)\n") ||
				!strings.Contains(r.out, `an admin of "home" denied this device's join request`) {
				t.Errorf("denied join (exit %d): %s", r.code, r.out)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the wait did not end when alpha denied")
		}
		summary("approval join: waiting line at once, status shows the request, a denial ends the wait")
	})

	t.Run("open network by id", func(t *testing.T) {
		l.ray("alpha", "create", "lobby", "--open")
		var id string
		for _, n := range l.status("alpha").Networks {
			if n.Name == "lobby" {
				id = n.ID
			}
		}
		// charlie shares no network: it finds alpha on the LAN (mDNS).
		var out string
		var st int
		l.waitFor(30*time.Second, "charlie joins lobby by id", func() bool {
			out, st = l.rayIn("charlie", "", "join", id)
			return st == 0
		})
		if !strings.Contains(out, `joined network "lobby" as charlie`) {
			t.Errorf("join by id: %s", out)
		}
		l.waitFor(20*time.Second, "alpha and charlie connected", func() bool { return l.peerOnline("alpha", "charlie") })
		summary("charlie joined open network lobby with only its id (admin found on the LAN)")
	})
}
