package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestTranscriptRemove: the admin kicks charlie with the real CLI; bravo
// drops it, charlie's status says it was removed, its reusable code is
// refused, and bad input gets one-line errors that change nothing.
func TestTranscriptRemove(t *testing.T) {
	a, b := pair(t)
	c := startTestNode(t, "charlie")
	code := lastLine(a.must(t, "invite", "home", "--reusable"))
	c.must(t, "join", code)
	waitUntil(t, 10*time.Second, "bravo sees charlie online", func() bool {
		for _, p := range b.e.Status().Peers {
			if p.Hostname == "charlie" && p.Online {
				return true
			}
		}
		return false
	})
	version := a.e.Status().Networks[0].Version
	for _, tc := range []struct {
		n    *testNode
		args []string
		want string
	}{
		{a, []string{"remove", "home", "alpha"}, "is this node"},
		{a, []string{"remove", "home", "nobody"}, "no peer named"},
		{a, []string{"kick", "work", "charlie"}, "no network named"},
		{b, []string{"remove", "home", "charlie"}, "only an admin"},
		{a, []string{"remove", "home"}, "usage: ray remove NAME PEER"},
	} {
		_, errw, exit := tc.n.ray(t, tc.args...)
		if exit == 0 || !strings.Contains(errw, tc.want) || strings.Count(strings.TrimSpace(errw), "\n") != 0 {
			t.Errorf("ray %s: exit %d, stderr %q, want one line with %q", strings.Join(tc.args, " "), exit, errw, tc.want)
		}
	}
	if v := a.e.Status().Networks[0].Version; v != version {
		t.Fatalf("refused removals changed the roster (%d -> %d)", version, v)
	}
	out := a.must(t, "kick", "home", "charlie")
	wantMatch(t, "kick", out, `^removed charlie \(\w+\) from network "home"`)
	waitUntil(t, 2*time.Second, "bravo drops charlie", func() bool { return len(b.e.Status().Peers) == 1 })
	waitUntil(t, 5*time.Second, "charlie learns it was removed", func() bool { return len(c.e.Status().Removed) == 1 })
	wantMatch(t, "charlie status", c.must(t, "status"), `You were removed from home by an admin`)
	var st apitype.Status
	if err := json.Unmarshal([]byte(c.must(t, "status", "--json")), &st); err != nil || len(st.Removed) != 1 || st.Removed[0].Name != "home" {
		t.Errorf("status --json removed = %+v (%v)", st.Removed, err)
	}
	_, errw, exit := c.ray(t, "join", code)
	if exit == 0 || !strings.Contains(errw, "removed") {
		t.Errorf("rejoin with the old reusable code: exit %d, %q", exit, errw)
	}
	c.must(t, "leave", "home") // dismisses the notice
	if len(c.e.Status().Removed) != 0 {
		t.Error("leave did not dismiss the removal notice")
	}
}

// TestTranscriptInvitesRevoke lists invites, revokes one, and checks that
// its code is refused; the last admin cannot leave without --force.
func TestTranscriptInvitesRevoke(t *testing.T) {
	a, b := pair(t)
	c := startTestNode(t, "charlie")
	code := lastLine(a.must(t, "invite", "home", "--reusable"))
	var list []apitype.InviteInfo
	if err := json.Unmarshal([]byte(a.must(t, "invites", "home", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, r := range list {
		if r.Kind == "reusable" {
			id = r.ID
		}
	}
	if id == "" {
		t.Fatalf("no reusable invite listed: %+v", list)
	}
	wantMatch(t, "invites", a.must(t, "invites", "home"), `(?m)^ID\s+KIND\s+EXPIRES\s+USES\s+HOSTNAME\n`+id+`\s+reusable`)
	_, errw, exit := a.ray(t, "invite", "revoke", "home", "ffffffffffff")
	if exit == 0 || !strings.Contains(errw, "no outstanding invite") {
		t.Errorf("revoke unknown: exit %d %q", exit, errw)
	}
	if _, errw, exit := b.ray(t, "invites", "home"); exit == 0 || !strings.Contains(errw, "only an admin") {
		t.Errorf("member lists invites: exit %d %q", exit, errw)
	}
	wantMatch(t, "revoke", a.must(t, "invite", "revoke", "home", id), `revoked`)
	if _, errw, exit := c.ray(t, "join", code); exit == 0 || !strings.Contains(errw, "revoked") {
		t.Errorf("join with a revoked code: exit %d %q", exit, errw)
	}

	_, errw, exit = a.ray(t, "leave", "home")
	if exit == 0 || !strings.Contains(errw, "--force") {
		t.Errorf("last admin leave: exit %d %q", exit, errw)
	}
	out := a.must(t, "leave", "home", "--force")
	wantMatch(t, "leave --force", out, `the network secret is kept in \S+\.json \(mode 0600\)`)
}

// TestTranscriptHostname: create --hostname, then rename a member; a
// taken name is a one-line error.
func TestTranscriptHostname(t *testing.T) {
	a, b := startTestNode(t, "alpha"), startTestNode(t, "bravo")
	a.must(t, "create", "home", "--hostname", "hq")
	b.must(t, "join", lastLine(a.must(t, "invite", "home")))
	waitUntil(t, 10*time.Second, "connected", func() bool {
		p := b.e.Status().Peers
		return len(p) == 1 && p[0].Online && p[0].Hostname == "hq"
	})
	_, errw, exit := b.ray(t, "hostname", "home", "hq")
	if exit == 0 || !strings.Contains(errw, "taken") || strings.Count(strings.TrimSpace(errw), "\n") != 0 {
		t.Errorf("taken name: exit %d %q", exit, errw)
	}
	wantMatch(t, "rename", b.must(t, "hostname", "home", "laptop"), `this node is now laptop in network "home"`)
	waitUntil(t, 5*time.Second, "alpha sees laptop", func() bool {
		p := a.e.Status().Peers
		return len(p) == 1 && p[0].Hostname == "laptop"
	})
}

// TestTranscriptAdmin: `ray admin add` hands the secret over, the new
// admin invites; `ray admin remove` says what it cannot undo.
func TestTranscriptAdmin(t *testing.T) {
	a, b := pair(t)
	if _, errw, exit := b.ray(t, "admin", "add", "home", "alpha"); exit == 0 || !strings.Contains(errw, "only an admin") {
		t.Errorf("member runs admin add: exit %d %q", exit, errw)
	}
	if _, errw, exit := a.ray(t, "admin", "make", "home", "bravo"); exit != 2 || !strings.Contains(errw, "usage: ray admin add|remove") {
		t.Errorf("bad verb: exit %d %q", exit, errw)
	}
	wantMatch(t, "admin add", a.must(t, "admin", "add", "home", "bravo"), `^bravo is now an admin of "home"`)
	waitUntil(t, 5*time.Second, "bravo holds the secret", func() bool { return b.e.Status().Networks[0].Admin })
	c := startTestNode(t, "charlie")
	c.must(t, "join", lastLine(b.must(t, "invite", "home")))
	wantMatch(t, "admin remove", a.must(t, "admin", "remove", "home", "bravo"), "no longer an admin .* still holds it: run `ray rekey home`")
	waitUntil(t, 5*time.Second, "bravo drops the secret", func() bool { return !b.e.Status().Networks[0].Admin })
}

// TestTranscriptRekey: only an admin rekeys a network it holds; the
// co-admin gets the new key, the member follows it.
func TestTranscriptRekey(t *testing.T) {
	a, b := pair(t)
	if _, errw, exit := b.ray(t, "rekey", "home"); exit != 1 || errw != "ray: only an admin of \"home\" can rekey the network\n" {
		t.Errorf("member rekeys: exit %d %q", exit, errw)
	}
	if _, errw, exit := a.ray(t, "rekey", "work"); exit != 1 || errw != "ray: no network named \"work\"\n" {
		t.Errorf("unknown network: exit %d %q", exit, errw)
	}
	if _, errw, exit := a.ray(t, "rekey"); exit != 2 || !strings.Contains(errw, "usage") {
		t.Errorf("no network: exit %d %q", exit, errw)
	}
	wantMatch(t, "rekey alone", a.must(t, "rekey", "home"), `^network "home" has a new key \(generation 1\); members follow`)
	c := startTestNode(t, "charlie")
	c.must(t, "join", lastLine(a.must(t, "invite", "home")))
	a.must(t, "admin", "add", "home", "charlie")
	waitUntil(t, 5*time.Second, "charlie holds the secret", func() bool { return c.e.Status().Networks[0].Admin })
	out := a.must(t, "rekey", "home")
	wantMatch(t, "rekey", out, `generation 2\)`)
	wantMatch(t, "rekey", out, `(?m)^the new secret goes to the other admins \(charlie\)`)
	waitUntil(t, 5*time.Second, "charlie admins with the new key, bravo follows", func() bool {
		cs, bs := c.e.Status().Networks[0], b.e.Status().Networks[0]
		return cs.Admin && cs.KeyGeneration == 2 && bs.KeyGeneration == 2 && !bs.Admin
	})
	wantMatch(t, "status --json", b.must(t, "status", "--json"), `"key_generation": 2`)
}

// TestTranscriptBoundInvite: a code bound to a hostname names its joiner
// so, and invites lists the binding.
func TestTranscriptBoundInvite(t *testing.T) {
	a, b := startTestNode(t, "alpha"), startTestNode(t, "bravo")
	a.must(t, "create", "home")
	if _, errw, exit := a.ray(t, "invite", "home", "--reusable", "--hostname", "kiosk"); exit == 0 || !strings.Contains(errw, "single-use") {
		t.Errorf("bound reusable code: exit %d %q", exit, errw)
	}
	code := lastLine(a.must(t, "invite", "home", "--hostname", "kiosk"))
	wantMatch(t, "invites", a.must(t, "invites", "home"), `(?m)^\w+\s+single\s+.*\s+0\s+kiosk$`)
	wantMatch(t, "join", b.must(t, "join", code, "--hostname", "laptop"), `joined network "home" as kiosk`)
}

// TestTranscriptDelete: delete asks first; after yes, the member's status
// says the network was deleted.
func TestTranscriptDelete(t *testing.T) {
	a, b := pair(t)
	if _, errw, exit := b.ray(t, "delete", "home", "--yes"); exit == 0 || !strings.Contains(errw, "only an admin") {
		t.Errorf("member deletes: exit %d %q", exit, errw)
	}
	if _, errw, exit := a.rayIn(t, "n\n", "delete", "home"); exit != 1 || !strings.Contains(errw, "not deleted") {
		t.Errorf("answer no: exit %d %q", exit, errw)
	}
	if len(a.e.Status().Networks) != 1 {
		t.Fatal("a refused delete changed the networks")
	}
	out, _, exit := a.rayIn(t, "y\n", "delete", "home")
	if exit != 0 || !strings.Contains(out, `network "home" deleted`) {
		t.Fatalf("delete: exit %d %q", exit, out)
	}
	waitUntil(t, 5*time.Second, "bravo forgets home", func() bool {
		st := b.e.Status()
		return len(st.Networks) == 0 && len(st.Removed) == 1 && st.Removed[0].Deleted
	})
	wantMatch(t, "bravo status", b.must(t, "status"), `Network home was deleted by an admin`)
	if len(a.e.Status().Networks) != 0 || len(a.e.Status().Peers) != 0 {
		t.Error("alpha still holds the deleted network")
	}
}
