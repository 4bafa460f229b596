package engine_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/netmap"
)

// TestRemoveMember: the admin removes gamma; beta stops routing to it,
// gamma learns it was removed, its old reusable code is refused, and
// bad requests change nothing.
func TestRemoveMember(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		root := t.TempDir()
		a := startNode(t, "alpha", root+"/a")
		b := startNode(t, "beta", root+"/b")
		c := startNode(t, "gamma", root+"/c")
		t.Cleanup(func() {
			for _, n := range []*node{a, b, c} {
				n.e.Close()
			}
		})
		if _, err := a.e.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		join(t, a, b, "home", netmap.InviteSingle)
		code, _, err := a.e.Invite("home", netmap.InviteReusable, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.e.Join(context.Background(), code, "", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, 10*time.Second, "beta online with gamma", func() bool { p, ok := b.peer("gamma"); return ok && p.Online })
		version := a.e.Status().Networks[0].Version

		for _, tc := range []struct{ who, network, peer, want string }{
			{"self", "home", "alpha", "is this node"},
			{"unknown peer", "home", "nobody", "no peer named"},
			{"unknown network", "work", "gamma", "no network named"},
		} {
			if _, err := a.e.RemovePeer(tc.network, tc.peer); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want %q", tc.who, err, tc.want)
			}
		}
		if _, err := b.e.RemovePeer("home", "gamma"); err == nil || !strings.Contains(err.Error(), "only an admin") {
			t.Errorf("non-admin remove: %v", err)
		}
		if v := a.e.Status().Networks[0].Version; v != version {
			t.Fatalf("refused removals changed the roster: version %d -> %d", version, v)
		}

		resp, err := a.e.RemovePeer("home", "gamma")
		if err != nil {
			t.Fatal(err)
		}
		if resp.Hostname != "gamma" {
			t.Errorf("removed %+v", resp)
		}
		start := time.Now()
		enginetest.WaitFor(t, 5*time.Second, "beta drops gamma", func() bool { _, ok := b.peer("gamma"); return !ok })
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("beta took %v to drop gamma", d)
		}
		enginetest.WaitFor(t, 5*time.Second, "gamma knows it was removed", func() bool {
			st := c.e.Status()
			return len(st.Networks) == 0 && len(st.Removed) == 1 && st.Removed[0].Name == "home"
		})
		if _, err := c.e.Join(context.Background(), code, "", 10*time.Second); err == nil || !strings.Contains(err.Error(), "removed") {
			t.Fatalf("rejoin with the old code: %v\nalpha drops %v\ngamma drops %v", err, a.e.Status().Drops, c.e.Status().Drops)
		}
		if st := a.e.Status(); st.Networks[0].Members != 2 {
			t.Errorf("alpha's roster has %d members after the refused rejoin", st.Networks[0].Members)
		}
		// A fresh code readmits gamma, and the removal notice goes.
		join(t, a, c, "home", netmap.InviteSingle)
		if st := c.e.Status(); len(st.Removed) != 0 || len(st.Networks) != 1 {
			t.Errorf("after rejoin: removed %v, networks %v", st.Removed, st.Networks)
		}
	})
}

// TestInvitesRevoke lists and revokes invites; a revoked code is refused.
func TestInvitesRevoke(t *testing.T) {
	a, b := twoNodes(t)
	if _, err := a.e.CreateNetwork("home", false); err != nil {
		t.Fatal(err)
	}
	code, _, err := a.e.Invite("home", netmap.InviteReusable, 0)
	if err != nil {
		t.Fatal(err)
	}
	list, err := a.e.Invites("home")
	if err != nil || len(list) != 1 || list[0].Kind != "reusable" || list[0].ID == "" {
		t.Fatalf("invites = %+v, %v", list, err)
	}
	if strings.Contains(code, list[0].ID) {
		t.Error("the invite id is part of the code")
	}
	if err := a.e.RevokeInvite("home", "0123456789ab"); err == nil {
		t.Error("revoking an unknown id succeeded")
	}
	if err := a.e.RevokeInvite("home", list[0].ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := a.e.Invites("home"); len(list) != 0 {
		t.Errorf("revoked invite still listed: %+v", list)
	}
	if _, err := b.e.Join(context.Background(), code, "", 10*time.Second); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("join with a revoked code: %v", err)
	}
	if _, err := b.e.Invites("home"); err == nil {
		t.Error("a non-member listed invites")
	}
}

// TestLeaveLastAdmin: the last admin needs force, and then the network
// secret is kept in a 0600 backup file.
func TestLeaveLastAdmin(t *testing.T) {
	a, b := twoNodes(t)
	if _, err := a.e.CreateNetwork("home", false); err != nil {
		t.Fatal(err)
	}
	join(t, a, b, "home", netmap.InviteSingle)
	if _, err := a.e.LeaveNetwork("home", false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("last admin leaves without force: %v", err)
	}
	if len(a.e.Status().Networks) != 1 {
		t.Fatal("refused leave changed the networks")
	}
	// A plain member needs no force and leaves no backup.
	if backup, err := b.e.LeaveNetwork("home", false); err != nil || backup != "" {
		t.Fatalf("member leave: %q %v", backup, err)
	}
	join(t, a, b, "home", netmap.InviteSingle)
	backup, err := a.e.LeaveNetwork("home", true)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(backup)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(backup)
	if !strings.Contains(string(data), `"secret": "netkey:`) {
		t.Errorf("backup lacks the secret")
	}
	if len(a.e.Status().Networks) != 0 {
		t.Error("still a member after leave --force")
	}
}

// TestSetHostname: an admin renames itself at once, a member through the
// admin; a taken or invalid name is refused and changes nothing.
func TestSetHostname(t *testing.T) {
	a, b := twoNodes(t)
	if _, err := a.e.CreateNetworkAs("home", false, "Bad_Name"); err == nil {
		t.Error("create with an invalid hostname succeeded")
	}
	if _, err := a.e.CreateNetworkAs("home", false, "boss"); err != nil {
		t.Fatal(err)
	}
	if h := a.e.Status().Networks[0].Hostname; h != "boss" {
		t.Fatalf("created as %q", h)
	}
	join(t, a, b, "home", netmap.InviteSingle)
	enginetest.WaitFor(t, 10*time.Second, "beta online", func() bool { p, ok := a.peer("beta"); return ok && p.Online })
	enginetest.WaitFor(t, 10*time.Second, "boss online at beta", func() bool { p, ok := b.peer("boss"); return ok && p.Online })
	ctx := context.Background()
	version := a.e.Status().Networks[0].Version
	for _, bad := range []string{"boss", "-x", "a.b"} {
		if err := b.e.SetHostname(ctx, "home", bad); err == nil {
			t.Errorf("rename to %q accepted", bad)
		}
	}
	if err := b.e.SetHostname(ctx, "work", "bee"); err == nil {
		t.Error("rename in an unknown network accepted")
	}
	if v := a.e.Status().Networks[0].Version; v != version {
		t.Fatalf("refused renames changed the roster (%d -> %d)", version, v)
	}
	if err := b.e.SetHostname(ctx, "home", "Bee"); err != nil {
		t.Fatal(err)
	}
	if h := b.e.Status().Networks[0].Hostname; h != "bee" {
		t.Errorf("beta's own name = %q", h)
	}
	enginetest.WaitFor(t, 5*time.Second, "alpha sees bee", func() bool { _, ok := a.peer("bee"); return ok })
	if err := a.e.SetHostname(ctx, "home", "chief"); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, 5*time.Second, "beta sees chief", func() bool { _, ok := b.peer("chief"); return ok })
	// With the admin gone, a member cannot be renamed.
	a.e.Close()
	enginetest.WaitFor(t, 10*time.Second, "alpha offline", func() bool { p, _ := b.peer("chief"); return !p.Online })
	if err := b.e.SetHostname(ctx, "home", "bea"); err == nil || !strings.Contains(err.Error(), "no admin") {
		t.Errorf("rename without an admin: %v", err)
	}
}

// TestCoAdmin: alpha makes beta an admin; beta gets the secret over the
// control stream and admits delta while alpha is stopped; withdrawing
// the rights makes beta drop the secret.
func TestCoAdmin(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		root := t.TempDir()
		a := startNode(t, "alpha", root+"/a")
		b := startNode(t, "beta", root+"/b")
		c := startNode(t, "gamma", root+"/c")
		d := startNode(t, "delta", root+"/d")
		t.Cleanup(func() {
			for _, n := range []*node{a, b, c, d} {
				n.e.Close()
			}
		})
		if _, err := a.e.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		join(t, a, b, "home", netmap.InviteSingle)
		join(t, a, c, "home", netmap.InviteSingle)
		enginetest.WaitFor(t, 10*time.Second, "beta online", func() bool { p, ok := a.peer("beta"); return ok && p.Online })
		if _, err := c.e.SetAdmin("home", "beta", true); err == nil || !strings.Contains(err.Error(), "only an admin") {
			t.Errorf("member shares admin rights: %v", err)
		}
		if _, err := a.e.SetAdmin("home", "beta", true); err != nil {
			t.Fatal(err)
		}
		if _, err := a.e.SetAdmin("home", "beta", true); err == nil {
			t.Error("making an admin admin again succeeded")
		}
		enginetest.WaitFor(t, 5*time.Second, "beta holds the secret", func() bool { return b.e.Status().Networks[0].Admin })

		// The creator goes away; beta admits delta on its own.
		a.e.Close()
		join(t, b, d, "home", netmap.InviteSingle)
		enginetest.WaitFor(t, 10*time.Second, "gamma sees delta", func() bool { _, ok := c.peer("delta"); return ok })

		// A restarted alpha follows beta's roster; then withdraws beta's rights.
		a = startNode(t, "alpha", root+"/a")
		enginetest.WaitFor(t, 10*time.Second, "alpha learns delta", func() bool { return a.e.Status().Networks[0].Members == 4 })
		enginetest.WaitFor(t, 10*time.Second, "alpha and beta connected", func() bool { p, ok := a.peer("beta"); return ok && p.Online })
		if _, err := a.e.SetAdmin("home", "beta", false); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, 5*time.Second, "beta drops the secret", func() bool { return !b.e.Status().Networks[0].Admin })
		if _, _, err := b.e.Invite("home", netmap.InviteSingle, 0); err == nil {
			t.Error("a former admin invites")
		}
		if _, err := a.e.SetAdmin("home", "alpha", false); err == nil {
			t.Error("the last admin withdrew its own rights")
		}
	})
}

// twoNodes starts alpha and beta, closed when the test ends.
func twoNodes(t *testing.T) (a, b *node) {
	t.Helper()
	root := t.TempDir()
	a, b = startNode(t, "alpha", root+"/a"), startNode(t, "beta", root+"/b")
	t.Cleanup(func() { a.e.Close(); b.e.Close() })
	return a, b
}

// TestCoAdminsConverge: two admins admit a node each at the same moment;
// every member ends with the same roster holding both.
func TestCoAdminsConverge(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		root := t.TempDir()
		names := []string{"alpha", "beta", "gamma", "delta", "eps"}
		var ns []*node
		for _, n := range names {
			ns = append(ns, startNode(t, n, root+"/"+n))
		}
		t.Cleanup(func() {
			for _, n := range ns {
				n.e.Close()
			}
		})
		a, b, c, d, e := ns[0], ns[1], ns[2], ns[3], ns[4]
		if _, err := a.e.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		join(t, a, b, "home", netmap.InviteSingle)
		join(t, a, c, "home", netmap.InviteSingle)
		enginetest.WaitFor(t, 10*time.Second, "beta online", func() bool { p, ok := a.peer("beta"); return ok && p.Online })
		if _, err := a.e.SetAdmin("home", "beta", true); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, 5*time.Second, "beta holds the secret", func() bool { return b.e.Status().Networks[0].Admin })
		codeA, _, err := a.e.Invite("home", netmap.InviteSingle, 0)
		if err != nil {
			t.Fatal(err)
		}
		codeB, _, err := b.e.Invite("home", netmap.InviteSingle, 0)
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		go func() { _, err := d.e.Join(context.Background(), codeA, "", 10*time.Second); errs <- err }()
		go func() { _, err := e.e.Join(context.Background(), codeB, "", 10*time.Second); errs <- err }()
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		enginetest.WaitFor(t, 15*time.Second, "every node holds the same 5-member roster", func() bool {
			v := a.e.Status().Networks[0].Version
			for _, n := range ns {
				st := n.e.Status()
				if len(st.Networks) != 1 || st.Networks[0].Members != 5 || st.Networks[0].Version != v {
					return false
				}
			}
			return true
		})
	})
}
