//go:build netns

package netns

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/test/osuser"
)

// refusedMsg is what the CLI prints when user may not change rayfish.
func refusedMsg(user string) string {
	return `ray: only the person at this computer or members of the "rayfish" group can change rayfish; ask an administrator to run: sudo usermod -aG rayfish ` + user + "\n"
}

// TestLocalUsers runs the CLI as three real local users against a daemon
// running as root: alice, in the group rayfish, changes everything; bob, in
// no group, reads but every change is refused with a message saying how to
// get the right, and nothing changes; carol may change once root makes her
// the operator. Every change and refusal is in the audit log with its user.
func TestLocalUsers(t *testing.T) {
	l := newLab(t, "rfF", 77, "home", "peer")
	l.start("home")
	l.start("peer")
	// The users run a copy of ray in the lab directory, which they reach.
	bin := filepath.Join(l.dir, "ray")
	run(t, "cp", l.bin, bin)
	run(t, "chmod", "0755", bin)

	alice := osuser.Ensure(t, "alice", "rayfish")
	bob := osuser.Ensure(t, "bob")
	carol := osuser.Ensure(t, "carol")
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }

	as := func(u osuser.User, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := u.Command(ctx, bin, append([]string{"--socket", l.nodes["home"].socket}, args...)...)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err := cmd.Run()
		return buf.String(), err
	}
	mustAs := func(t *testing.T, u osuser.User, args ...string) string {
		t.Helper()
		out, err := as(u, args...)
		if err != nil {
			t.Fatalf("ray %s as %s: %v\n%s", strings.Join(args, " "), u.Name, err, out)
		}
		return out
	}
	// refused checks that every command is refused for u with the message
	// and changes nothing a read can see.
	refused := func(t *testing.T, u osuser.User, cmds ...[]string) {
		t.Helper()
		before := l.status("home")
		for _, args := range cmds {
			out, err := as(u, args...)
			if err == nil || out != refusedMsg(u.Name) {
				t.Errorf("ray %s as %s: err %v, output %q; want %q", strings.Join(args, " "), u.Name, err, out, refusedMsg(u.Name))
			}
		}
		after := l.status("home")
		if before.State != after.State || !reflect.DeepEqual(before.Networks, after.Networks) {
			t.Errorf("refused commands of %s changed the state: %s %+v -> %s %+v", u.Name, before.State, before.Networks, after.State, after.Networks)
		}
	}
	networks := func(name string) []string {
		var ns []string
		for _, n := range l.status(name).Networks {
			ns = append(ns, n.Name)
		}
		return ns
	}

	peerCode := lastLine(l.ray("peer", "create", "peernet") + l.ray("peer", "invite", "peernet", "--reusable"))

	t.Run("bob reads", func(t *testing.T) {
		out := mustAs(t, bob, "status", "--json")
		var st struct {
			Self struct{ Hostname string } `json:"self"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil || st.Self.Hostname != "home" {
			t.Errorf("status as bob: %v\n%s", err, out)
		}
		if out := mustAs(t, bob, "status"); !strings.Contains(out, "this node: home") {
			t.Errorf("status as bob: %s", out)
		}
	})

	t.Run("bob may not change", func(t *testing.T) {
		refused(t, bob, []string{"down"}, []string{"up"}, []string{"create", "bobnet"},
			[]string{"join", peerCode}, []string{"set-operator", "bob"}, []string{"mdns", "on"})
		if slices.Contains(networks("home"), "bobnet") || slices.Contains(networks("home"), "peernet") {
			t.Errorf("bob's changes took effect: %v", networks("home"))
		}
		summary("bob (no group): status works; down, up, create, join, set-operator, mdns refused with %q; state unchanged", strings.TrimSpace(refusedMsg("bob")))
	})

	t.Run("alice changes everything", func(t *testing.T) {
		if out := mustAs(t, alice, "down"); !strings.Contains(out, "rayfish is down") {
			t.Errorf("down as alice: %s", out)
		}
		if st := l.status("home").State; st == "up" {
			t.Errorf("state %q after alice's down", st)
		}
		mustAs(t, alice, "up")
		if st := l.status("home").State; st != "up" {
			t.Errorf("state %q after alice's up", st)
		}
		if out := mustAs(t, alice, "create", "alicenet"); !strings.Contains(out, `network "alicenet"`) {
			t.Errorf("create as alice: %s", out)
		}
		if out := mustAs(t, alice, "join", peerCode); !strings.Contains(out, `joined network "peernet"`) {
			t.Errorf("join as alice: %s", out)
		}
		if got := networks("home"); !slices.Contains(got, "alicenet") || !slices.Contains(got, "peernet") {
			t.Fatalf("home's networks after alice's create and join: %v", got)
		}

		// peer asks to join alicenet; bob may not accept, alice may.
		code := lastLine(mustAs(t, alice, "invite", "alicenet", "--approval"))
		peerID := l.status("peer").Self.ID
		done := make(chan string, 1)
		go func() {
			out, err := l.rayErr("peer", "join", code, "--wait", "60s")
			done <- fmt.Sprintf("%v|%s", err, out)
		}()
		waitUntil(t, 20*time.Second, "peer's join request", func() bool {
			out, _ := as(alice, "requests", "alicenet")
			return strings.Contains(out, peerID)
		})
		refused(t, bob, []string{"accept", "alicenet", peerID}, []string{"deny", "alicenet", peerID})
		mustAs(t, alice, "accept", "alicenet", peerID)
		if res := <-done; !strings.HasPrefix(res, "<nil>|") || !strings.Contains(res, `joined network "alicenet"`) {
			t.Fatalf("peer's join accepted by alice: %s", res)
		}
		waitUntil(t, 20*time.Second, "home and peer connected", func() bool { return l.peerOnline("home", "peer") })
		summary("alice (group rayfish): down, up, create alicenet, join peernet, invite, accept peer into alicenet all succeeded")
	})

	t.Run("carol as operator", func(t *testing.T) {
		refused(t, carol, []string{"down"})
		if out := l.ray("home", "set-operator", "carol"); !strings.Contains(out, "carol") {
			t.Errorf("set-operator: %s", out)
		}
		mustAs(t, carol, "down")
		if st := l.status("home").State; st == "up" {
			t.Errorf("state %q after carol's down", st)
		}
		mustAs(t, carol, "up")
		mustAs(t, carol, "leave", "peernet")
		if slices.Contains(networks("home"), "peernet") {
			t.Error("carol's leave did not take effect")
		}
		refused(t, bob, []string{"down"})
		summary("carol: refused, then after `ray set-operator carol` down, up and leave succeeded; bob still refused")
	})

	t.Run("audit log names the users", func(t *testing.T) {
		l.stop("home") // flushes the audit log
		path := filepath.Join(l.nodes["home"].stateDir, "logs", audit.DefaultFileName)
		lines, err := audit.Tail(path, 500)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, line := range lines {
			var ev audit.Event
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("audit line %q: %v", line, err)
			}
			if ev.Event == audit.LocalChange || ev.Event == audit.ChangeRefused {
				seen[ev.Event+" "+ev.User+" "+ev.Detail] = true
			}
		}
		for _, want := range []string{
			"change_refused bob down", "change_refused bob join", "change_refused bob accept",
			"local_change alice down (group)", "local_change alice join (group)", "local_change alice accept (group)",
			"change_refused carol down", "local_change root prefs (administrator)", "local_change carol leave (operator)",
		} {
			if !seen[want] {
				t.Errorf("audit log lacks %q", want)
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(path)
			t.Logf("audit log:\n%s", b)
		}
		summary("audit log: %d local changes and refusals, each with its user", len(seen))
	})
}
