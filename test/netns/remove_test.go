//go:build netns

package netns

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
)

// TestRemoveMember runs issue 13's removal with real daemons: the admin
// removes charlie, bravo cannot reach charlie within 2 s, charlie's status
// says it was removed, its old reusable code is refused; a revoked code is
// refused; the last admin cannot leave without --force; a co-admin admits
// delta while the creator is stopped; a code the creator revoked is
// refused by both admins; concurrent roster changes by the two admins
// converge on every member.
func TestRemoveMember(t *testing.T) {
	l := newLab(t, "rfQ", 121, "alpha", "bravo", "charlie", "delta")
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
	list := invites(l, "alpha")
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

	// A code the creator revokes is refused by both admins: by alpha, and
	// by bravo alone (alpha stopped) when the code names bravo as its
	// inviter, as bravo knows it only from the signed roster.
	revokedCode := lastLine(l.ray("alpha", "invite", "home", "--reusable"))
	inv, err := netmap.ParseInvite(revokedCode)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(inv.Secret[:])
	id := hex.EncodeToString(sum[:])[:12]
	if !slices.ContainsFunc(invites(l, "alpha"), func(i apitype.InviteInfo) bool { return i.ID == id }) {
		t.Fatalf("ray invites on alpha does not list %s", id)
	}
	l.ray("alpha", "invite", "revoke", "home", id)
	l.waitFor(10*time.Second, "bravo holds alpha's roster", func() bool {
		return homeOf(l.status("bravo")).Version == homeOf(l.status("alpha")).Version
	})
	if out, st := l.rayIn("delta", "", "join", revokedCode); st == 0 || !strings.Contains(out, "revoked") {
		t.Errorf("join with a code alpha revoked, at alpha (exit %d): %s", st, out)
	}
	bravoCode := lastLine(l.ray("bravo", "invite", "home"))
	bravoInv, err := netmap.ParseInvite(bravoCode)
	if err != nil {
		t.Fatal(err)
	}
	inv.Inviter, inv.Addrs, inv.Relay = bravoInv.Inviter, bravoInv.Addrs, bravoInv.Relay
	l.stop("alpha")
	if out, st := l.rayIn("delta", "", "join", inv.Encode()); st == 0 || !strings.Contains(out, "revoked") {
		t.Errorf("join with a code alpha revoked, at bravo (exit %d): %s", st, out)
	}
	summary("a code alpha revoked is refused by alpha and, with alpha stopped, by co-admin bravo")

	l.ray("delta", "join", bravoCode)
	l.waitFor(20*time.Second, "bravo and delta connected", func() bool { return l.peerOnline("bravo", "delta") })
	summary("alpha made bravo an admin; with alpha stopped, bravo invited and admitted delta")

	// Two admins change the roster at once: alpha, restarted and then cut
	// off the bridge so that neither change can see the other, removes
	// delta while bravo readmits charlie with a fresh code; both sign the
	// same next version, and the merge rule must reconcile them once
	// alpha is back.
	l.start("alpha")
	l.waitFor(30*time.Second, "alpha catches up with bravo", func() bool {
		return l.peerOnline("alpha", "bravo") && homeOf(l.status("alpha")).Version == homeOf(l.status("bravo")).Version
	})
	before := homeOf(l.status("bravo")).Version
	fresh := lastLine(l.ray("bravo", "invite", "home"))
	link := func(state string) { run(t, "ip", "-n", l.prefix+"-sw", "link", "set", "palpha", state) }
	link("down")
	var wg sync.WaitGroup
	var joinOut, removeOut string
	var joinErr, removeErr error
	wg.Go(func() { joinOut, joinErr = l.rayErr("charlie", "join", fresh) })
	wg.Go(func() { removeOut, removeErr = l.rayErr("alpha", "remove", "home", "delta") })
	wg.Wait()
	if joinErr != nil || removeErr != nil {
		link("up")
		t.Fatalf("concurrent changes: charlie joins via bravo: %v %s; alpha removes delta: %v %s", joinErr, joinOut, removeErr, removeOut)
	}
	if va, vb := homeOf(l.status("alpha")).Version, homeOf(l.status("bravo")).Version; va != before+1 || vb != before+1 {
		t.Errorf("apart, alpha holds version %d and bravo %d, want both %d", va, vb, before+1)
	}
	start = time.Now()
	link("up")
	want := []string{"alpha", "bravo", "charlie"}
	var versions []uint64
	l.waitFor(10*time.Second, "every member holds the same roster", func() bool {
		versions = versions[:0]
		for _, n := range want {
			st := l.status(n)
			home := homeOf(st)
			if !slices.Equal(members(st), want) || home.Members != len(want) {
				return false
			}
			versions = append(versions, home.Version)
		}
		return versions[0] > before && slices.Equal(versions, []uint64{versions[0], versions[0], versions[0]})
	})
	converged := time.Since(start)
	l.waitFor(5*time.Second, "delta learns it was removed", func() bool { return len(l.status("delta").Removed) == 1 })
	summary("apart, alpha removed delta and bravo readmitted charlie (both version %d); %v after alpha's link came back, alpha, bravo and charlie hold version %d with members %v, and delta knows it was removed",
		before+1, converged.Round(time.Millisecond), versions[0], want)
}

// invites lists on's outstanding invites in the network home.
func invites(l *lab, on string) []apitype.InviteInfo {
	l.t.Helper()
	var list []apitype.InviteInfo
	if err := json.Unmarshal([]byte(l.ray(on, "invites", "home", "--json")), &list); err != nil {
		l.t.Fatal(err)
	}
	return list
}

// homeOf returns the network home from st (the zero Network if st has none).
func homeOf(st *apitype.Status) apitype.Network {
	for _, n := range st.Networks {
		if n.Name == "home" {
			return n
		}
	}
	return apitype.Network{}
}

// members returns the sorted hostnames of home's members as st sees them:
// this node and every peer sharing home.
func members(st *apitype.Status) []string {
	home := homeOf(st)
	if home.Hostname == "" {
		return nil
	}
	out := []string{home.Hostname}
	for _, p := range st.Peers {
		if slices.Contains(p.Networks, "home") {
			out = append(out, p.Hostname)
		}
	}
	slices.Sort(out)
	return out
}
