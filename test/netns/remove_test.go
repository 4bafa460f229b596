//go:build netns

package netns

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestRemoveMember runs issue 13's removal with real daemons: the admin
// removes charlie, bravo cannot reach charlie within 2 s, charlie's status
// says it was removed, its old reusable code is refused; a revoked code is
// refused; the last admin cannot leave without --force; a co-admin admits
// delta while the creator is stopped.
func TestRemoveMember(t *testing.T) {
	l := newLab(t, "rfL", 121, "alpha", "bravo", "charlie", "delta")
	ownResolvConf(t, l)
	for _, n := range []string{"alpha", "bravo", "charlie", "delta"} {
		l.start(n)
	}
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	l.ray("alpha", "create", "home")
	l.ray("bravo", "join", lastLine(l.ray("alpha", "invite", "home")))
	reusable := lastLine(l.ray("alpha", "invite", "home", "--reusable"))
	l.ray("charlie", "join", reusable)
	l.waitFor(30*time.Second, "full mesh", func() bool {
		return l.peerOnline("bravo", "charlie") && l.peerOnline("charlie", "bravo") && l.peerOnline("alpha", "charlie")
	})
	charlieIP := l.status("charlie").Self.IPv4.String()
	pingFromBravo := func() error {
		_, err := nsCmd(l.nodes["bravo"].ns, "ping", "-c1", "-W1", charlieIP)
		return err
	}
	l.waitFor(10*time.Second, "bravo pings charlie", func() bool { return pingFromBravo() == nil })

	if out, st := l.rayIn("bravo", "", "remove", "home", "charlie"); st == 0 || !strings.Contains(out, "only an admin") {
		t.Errorf("member removes (exit %d): %s", st, out)
	}
	if out, st := l.rayIn("alpha", "", "remove", "home", "alpha"); st == 0 || !strings.Contains(out, "is this node") {
		t.Errorf("admin removes itself (exit %d): %s", st, out)
	}
	start := time.Now()
	out := l.ray("alpha", "remove", "home", "charlie")
	if !strings.HasPrefix(out, "removed charlie ") {
		t.Errorf("remove: %s", out)
	}
	l.waitFor(2*time.Second, "bravo forgets charlie", func() bool { _, ok := l.peer("bravo", "charlie"); return !ok })
	gone := time.Since(start)
	if pingFromBravo() == nil {
		t.Error("bravo still reaches charlie after the removal")
	}
	summary("alpha removed charlie: bravo dropped it after %v and no longer reaches %s", gone.Round(time.Millisecond), charlieIP)

	l.waitFor(5*time.Second, "charlie learns it was removed", func() bool { return len(l.status("charlie").Removed) == 1 })
	if out := l.ray("charlie", "status"); !strings.Contains(out, "You were removed from home by an admin") {
		t.Errorf("charlie's status:\n%s", out)
	}
	if out, st := l.rayIn("charlie", "", "join", reusable); st == 0 || !strings.Contains(out, "removed") {
		t.Errorf("charlie rejoins with its old reusable code (exit %d): %s", st, out)
	}
	summary("charlie's status says it was removed; its old reusable code is refused")

	code := lastLine(l.ray("alpha", "invite", "home", "--reusable"))
	var list []apitype.InviteInfo
	if err := json.Unmarshal([]byte(l.ray("alpha", "invites", "home", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	revoked := 0
	for _, inv := range list {
		if inv.Kind == "reusable" {
			l.ray("alpha", "invite", "revoke", "home", inv.ID)
			revoked++
		}
	}
	if revoked != 2 {
		t.Errorf("revoked %d reusable invites, want 2: %+v", revoked, list)
	}
	if out, st := l.rayIn("charlie", "", "join", code); st == 0 || !strings.Contains(out, "revoked") {
		t.Errorf("join with a revoked code (exit %d): %s", st, out)
	}
	summary("a revoked code is refused")

	if out, st := l.rayIn("alpha", "", "leave", "home"); st == 0 || !strings.Contains(out, "--force") {
		t.Errorf("last admin leaves without --force (exit %d): %s", st, out)
	}
	if len(l.status("alpha").Networks) != 1 {
		t.Error("refused leave changed alpha's networks")
	}
	summary("the last admin's leave without --force is refused")

	// A co-admin admits while the creator is stopped.
	if out := l.ray("alpha", "admin", "add", "home", "bravo"); !strings.HasPrefix(out, "bravo is now an admin") {
		t.Errorf("admin add: %s", out)
	}
	l.waitFor(10*time.Second, "bravo holds the secret", func() bool { return l.status("bravo").Networks[0].Admin })
	l.stop("alpha")
	l.ray("delta", "join", lastLine(l.ray("bravo", "invite", "home")))
	l.waitFor(20*time.Second, "bravo and delta connected", func() bool { return l.peerOnline("bravo", "delta") })
	summary("alpha made bravo an admin; with alpha stopped, bravo invited and admitted delta")
}
