//go:build netns

package netns

import (
	"strings"
	"testing"
	"time"
)

// TestRekeyAndOfflineRemoval runs the rest of issue 13 with real daemons:
// alpha withdraws charlie's admin rights and rekeys; co-admin bravo gets
// the new key, charlie does not; delta, stopped during the rekey, follows
// the hand-over when it comes back; bravo then removes delta while delta
// is stopped, and delta, started again and refused by every member,
// learns from an admin's signed proof that it was removed.
func TestRekeyAndOfflineRemoval(t *testing.T) {
	l := newLab(t, "r13", 131, "alpha", "bravo", "charlie", "delta")
	ownResolvConf(t, l)
	for _, n := range []string{"alpha", "bravo", "charlie", "delta"} {
		l.start(n)
	}
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	l.ray("alpha", "create", "home")
	for _, n := range []string{"bravo", "charlie", "delta"} {
		l.ray(n, "join", lastLine(l.ray("alpha", "invite", "home")))
	}
	l.waitFor(30*time.Second, "full mesh", func() bool {
		return l.peerOnline("delta", "alpha") && l.peerOnline("delta", "bravo") && l.peerOnline("delta", "charlie")
	})
	l.ray("alpha", "admin", "add", "home", "bravo")
	l.ray("alpha", "admin", "add", "home", "charlie")
	l.waitFor(10*time.Second, "bravo and charlie hold the secret", func() bool {
		return homeOf(l.status("bravo")).Admin && homeOf(l.status("charlie")).Admin
	})

	if out, st := l.rayIn("delta", "", "rekey", "home"); st == 0 || !strings.Contains(out, `only an admin of "home" can rekey`) {
		t.Errorf("member rekeys (exit %d): %s", st, out)
	}
	if out, st := l.rayIn("alpha", "", "rekey", "nowhere"); st == 0 || !strings.Contains(out, `no network named "nowhere"`) {
		t.Errorf("rekey of an unknown network (exit %d): %s", st, out)
	}
	l.stop("delta")
	if out := l.ray("alpha", "admin", "remove", "home", "charlie"); !strings.Contains(out, "ray rekey home") {
		t.Errorf("admin remove does not offer rekey: %s", out)
	}
	out := l.ray("alpha", "rekey", "home")
	if !strings.Contains(out, "generation 1") || !strings.Contains(out, "other admins (bravo)") {
		t.Errorf("rekey: %s", out)
	}
	l.waitFor(10*time.Second, "bravo admins with the new key; charlie follows without it", func() bool {
		b, c := homeOf(l.status("bravo")), homeOf(l.status("charlie"))
		return b.Admin && b.KeyGeneration == 1 && !c.Admin && c.KeyGeneration == 1
	})
	if out, st := l.rayIn("charlie", "", "invite", "home"); st == 0 || !strings.Contains(out, "only an admin") {
		t.Errorf("the withdrawn admin invites after the rekey (exit %d): %s", st, out)
	}
	summary("alpha withdrew charlie's admin rights and rekeyed: bravo admins under generation 1, charlie follows the new key without the secret")

	start := time.Now()
	l.start("delta")
	l.waitFor(20*time.Second, "delta follows the hand-over", func() bool {
		d := homeOf(l.status("delta"))
		return d.KeyGeneration == 1 && d.Version == homeOf(l.status("alpha")).Version
	})
	summary("delta, stopped during the rekey, followed the hand-over %v after it started", time.Since(start).Round(time.Millisecond))
	l.stop("delta")

	if out := l.ray("bravo", "remove", "home", "delta"); !strings.HasPrefix(out, "removed delta ") {
		t.Errorf("bravo removes delta: %s", out)
	}
	l.waitFor(10*time.Second, "every member takes bravo's roster", func() bool {
		v := homeOf(l.status("bravo")).Version
		return homeOf(l.status("alpha")).Version == v && homeOf(l.status("charlie")).Version == v
	})
	start = time.Now()
	l.start("delta")
	l.waitFor(30*time.Second, "delta learns it was removed", func() bool {
		st := l.status("delta")
		return len(st.Removed) == 1 && len(st.Networks) == 0
	})
	learned := time.Since(start)
	if out := l.ray("delta", "status"); !strings.Contains(out, "You were removed from home by an admin") {
		t.Errorf("delta's status:\n%s", out)
	}
	summary("bravo removed delta while it was stopped (signed with the new key); started again, delta showed \"You were removed from home by an admin\" after %v", learned.Round(time.Millisecond))
}
