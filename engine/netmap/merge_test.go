package netmap

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// coAdmins returns two admin views of one network (a created it, b holds
// the handed-over secret) with dave as a plain member.
func coAdmins(t *testing.T) (a, b *Network, bKey, dave key.NodePublic) {
	t.Helper()
	a, _ = newAdminNetwork(t)
	bKey, dave = key.NewNode().Public(), key.NewNode().Public()
	for _, k := range []key.NodePublic{bKey, dave} {
		if _, err := a.Admit(k, "node", t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.SetAdmin(bKey, true, t0); err != nil {
		t.Fatal(err)
	}
	b = memberView(t, a)
	if err := b.AdoptSecret(a.Secret, bKey); err != nil {
		t.Fatal(err)
	}
	return a, b, bKey, dave
}

// deliver applies what from holds to to, and, if to is an admin whose
// roster lost, merges its lost changes as the engine does.
func deliver(t *testing.T, from, to *Network, now time.Time) {
	t.Helper()
	old := to.Roster
	changed, err := to.ApplyRoster(from.Signed)
	if err != nil && !errors.Is(err, ErrStaleRoster) {
		t.Fatal(err)
	}
	if changed && to.IsAdmin() {
		if _, err := to.Merge(old, now); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentAdminsConverge(t *testing.T) {
	for _, order := range []string{"a first", "b first"} {
		t.Run(order, func(t *testing.T) {
			a, b, _, dave := coAdmins(t)
			member := memberView(t, a)
			carol := key.NewNode().Public()
			now := t0.Add(time.Hour)
			// Both sign version v+1 at once.
			if _, err := a.Admit(carol, "carol", now); err != nil {
				t.Fatal(err)
			}
			if err := b.RemoveMember(dave, key.NodePublic{}, now); err != nil {
				t.Fatal(err)
			}
			if a.Roster.Version != b.Roster.Version {
				t.Fatal("not concurrent")
			}
			first, second := a, b
			if order == "b first" {
				first, second = b, a
			}
			deliver(t, first, member, now)
			deliver(t, second, member, now)
			deliver(t, first, second, now)
			deliver(t, second, first, now)
			deliver(t, first, second, now)
			deliver(t, second, member, now)
			deliver(t, first, member, now)
			for name, n := range map[string]*Network{"a": a, "b": b, "member": member} {
				if !bytes.Equal(n.Signed.Body, a.Signed.Body) {
					t.Errorf("%s holds version %d, a holds %d: not converged", name, n.Roster.Version, a.Roster.Version)
				}
				if _, ok := n.Roster.Member(carol); !ok {
					t.Errorf("%s lost carol's admission", name)
				}
				if _, ok := n.Roster.Member(dave); ok {
					t.Errorf("%s lost dave's removal", name)
				}
			}
		})
	}
}

func TestTieBreakIsDeterministic(t *testing.T) {
	a, b, _, _ := coAdmins(t)
	if _, err := a.Admit(key.NewNode().Public(), "x", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Admit(key.NewNode().Public(), "y", t0); err != nil {
		t.Fatal(err)
	}
	m1, m2 := memberView(t, a), memberView(t, b)
	c1, _ := m1.ApplyRoster(b.Signed)
	c2, _ := m2.ApplyRoster(a.Signed)
	if c1 == c2 {
		t.Fatalf("exactly one of two tied rosters must win (changed %v, %v)", c1, c2)
	}
	if !bytes.Equal(m1.Signed.Body, m2.Signed.Body) {
		t.Error("members that saw the tie in opposite orders disagree")
	}
	if changed, _ := m1.ApplyRoster(m1.Signed); changed {
		t.Error("the same roster again counts as a change")
	}
}

func TestRemovalBeatsConcurrentReadmission(t *testing.T) {
	a, b, _, dave := coAdmins(t)
	now := t0.Add(time.Hour)
	// a's clock is behind: its removal is stamped before dave joined.
	if err := a.RemoveMember(dave, key.NodePublic{}, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	// b, unaware, renames someone: its roster still lists dave.
	if _, err := b.SetHostname(dave, "david", now); err != nil {
		t.Fatal(err)
	}
	deliver(t, a, b, now)
	deliver(t, b, a, now)
	deliver(t, a, b, now)
	for name, n := range map[string]*Network{"a": a, "b": b} {
		if _, ok := n.Roster.Member(dave); ok {
			t.Errorf("%s: dave is back after a concurrent removal", name)
		}
	}
}

func TestHandOver(t *testing.T) {
	a, _ := newAdminNetwork(t)
	bob := key.NewNode().Public()
	if _, err := a.Admit(bob, "bob", t0); err != nil {
		t.Fatal(err)
	}
	b := memberView(t, a)
	if err := b.AdoptSecret(a.Secret, bob); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("secret adopted before the roster marks bob admin: %v", err)
	}
	if err := b.AdoptSecret(key.NewNetwork(), bob); err == nil {
		t.Error("a wrong secret adopted")
	}
	if _, err := a.SetAdmin(bob, true, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ApplyRoster(a.Signed); err != nil {
		t.Fatal(err)
	}
	if err := b.AdoptSecret(a.Secret, bob); err != nil {
		t.Fatal(err)
	}
	carol := key.NewNode().Public()
	if _, err := b.Admit(carol, "carol", t0); err != nil {
		t.Fatalf("the new admin admits: %v", err)
	}
	if _, err := a.ApplyRoster(b.Signed); err != nil {
		t.Fatalf("the creator takes the co-admin's roster: %v", err)
	}
	b.DropSecret()
	if b.IsAdmin() || b.Invites != nil {
		t.Error("DropSecret kept admin state")
	}
}

func TestDroppedVersusLostAdmission(t *testing.T) {
	a, b, _, dave := coAdmins(t)
	x, y := key.NewNode().Public(), key.NewNode().Public()
	if _, err := a.Admit(x, "x", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Admit(y, "y", t0); err != nil {
		t.Fatal(err)
	}
	loser, lost := x, a
	if winsTie(a.Signed, b.Signed) {
		loser, lost = y, b
	}
	winner := b
	if lost == b {
		winner = a
	}
	if winner.Roster.Dropped(loser) {
		t.Error("a node whose admission lost a tie counts as removed")
	}
	if err := a.RemoveMember(dave, key.NodePublic{}, t0); err != nil {
		t.Fatal(err)
	}
	if !a.Roster.Dropped(dave) {
		t.Error("a removed node does not count as dropped")
	}
	if _, err := a.Dissolve(t0); err != nil {
		t.Fatal(err)
	}
	if !a.Roster.Dropped(x) {
		t.Error("a dissolved network does not drop its members")
	}
}

func TestConcurrentReadmissionKept(t *testing.T) {
	a, b, _, dave := coAdmins(t)
	if err := a.RemoveMember(dave, key.NodePublic{}, t0); err != nil {
		t.Fatal(err)
	}
	deliver(t, a, b, t0)
	// b readmits dave while a admits someone else.
	if _, err := b.Admit(dave, "dave", t0.Add(-time.Hour)); err != nil { // b's clock is behind
		t.Fatal(err)
	}
	if _, err := a.Admit(key.NewNode().Public(), "erin", t0); err != nil {
		t.Fatal(err)
	}
	deliver(t, a, b, t0)
	deliver(t, b, a, t0)
	deliver(t, a, b, t0)
	if !bytes.Equal(a.Signed.Body, b.Signed.Body) {
		t.Fatal("admins did not converge")
	}
	if _, ok := a.Roster.Member(dave); !ok {
		t.Error("the concurrent readmission was lost")
	}
	if len(a.Roster.Members) != 4 { // admin, b, dave, erin
		t.Errorf("%d members, want 4", len(a.Roster.Members))
	}
}
