package netmap

import (
	"errors"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

func TestRemoveMember(t *testing.T) {
	n, admin := newAdminNetwork(t)
	bob := key.NewNode().Public()
	if _, err := n.Admit(bob, "bob", t0); err != nil {
		t.Fatal(err)
	}
	stranger := key.NewNode().Public()
	v := n.Roster.Version
	for _, tc := range []struct {
		name string
		node key.NodePublic
		want error
	}{
		{"self", admin.Public(), ErrRemoveSelf},
		{"stranger", stranger, ErrNotMember},
	} {
		if err := n.RemoveMember(tc.node, admin.Public(), t0); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if n.Roster.Version != v {
		t.Fatalf("refused removals changed the roster: version %d -> %d", v, n.Roster.Version)
	}
	member := memberView(t, n)
	if err := member.RemoveMember(bob, key.NodePublic{}, t0); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("non-admin remove: %v", err)
	}
	if err := n.RemoveMember(bob, admin.Public(), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.Roster.Member(bob); ok {
		t.Error("bob still a member")
	}
	if at, ok := n.Roster.RemovedAt(bob); !ok || !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("RemovedAt = %v %v", at, ok)
	}
	// Members verify and install the roster with the removal in it.
	if changed, err := member.ApplyRoster(n.Signed); err != nil || !changed {
		t.Fatalf("member apply: %v %v", changed, err)
	}
	if _, ok := member.Roster.RemovedAt(bob); !ok {
		t.Error("member's roster lost the removal")
	}
}

func TestRemovedRefusesOldInvites(t *testing.T) {
	n, admin := newAdminNetwork(t)
	bob := key.NewNode().Public()
	old, _, err := n.IssueInvite(InviteReusable, 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AdmitWithInvite(old, bob, "bob", t0); err != nil {
		t.Fatal(err)
	}
	if err := n.RemoveMember(bob, admin.Public(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	v := n.Roster.Version
	if _, err := n.AdmitWithInvite(old, bob, "bob", t0.Add(2*time.Hour)); !errors.Is(err, ErrRemovedMember) {
		t.Fatalf("readmit with the old code: %v", err)
	}
	if n.Roster.Version != v {
		t.Error("refused readmission changed the roster")
	}
	// Anyone else may still use the old code.
	if _, err := n.AdmitWithInvite(old, key.NewNode().Public(), "carol", t0.Add(2*time.Hour)); err != nil {
		t.Errorf("other node with the old code: %v", err)
	}
	// A code issued after the removal readmits, and clears the record.
	fresh, _, err := n.IssueInvite(InviteSingle, 0, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AdmitWithInvite(fresh, bob, "bob", t0.Add(3*time.Hour)); err != nil {
		t.Fatalf("readmit with a new code: %v", err)
	}
	// The record stays, so that a co-admin's merge can tell this
	// readmission from a concurrent removal; bob is a member again.
	if n.Roster.Dropped(bob) {
		t.Error("readmitted node counts as dropped")
	}
}

func TestRemovedAdminLosesAdmin(t *testing.T) {
	n, admin := newAdminNetwork(t)
	bob := key.NewNode().Public()
	if _, err := n.Admit(bob, "bob", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := n.SetAdmin(bob, true, t0); err != nil {
		t.Fatal(err)
	}
	if err := n.RemoveMember(bob, admin.Public(), t0); err != nil {
		t.Fatal(err)
	}
	for _, a := range n.Roster.Admins() {
		if a == bob {
			t.Fatal("removed node is still an admin")
		}
	}
	// The remaining admin is the last one and cannot be removed by
	// another admin either.
	other := key.NewNode().Public()
	if err := n.RemoveMember(admin.Public(), other, t0); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("remove last admin: %v", err)
	}
}

func TestRemovedListBounded(t *testing.T) {
	n, admin := newAdminNetwork(t)
	r := n.Roster.clone()
	for range MaxRemoved {
		r.Removed = append(r.Removed, Removal{Node: key.NewNode().Public(), Time: t0})
	}
	if err := n.commit(r, t0); err != nil {
		t.Fatal(err)
	}
	bob := key.NewNode().Public()
	if _, err := n.Admit(bob, "bob", t0); err != nil {
		t.Fatal(err)
	}
	if err := n.RemoveMember(bob, admin.Public(), t0); err != nil {
		t.Fatal(err)
	}
	if len(n.Roster.Removed) != MaxRemoved {
		t.Fatalf("removed list has %d entries, want %d", len(n.Roster.Removed), MaxRemoved)
	}
	if _, ok := n.Roster.RemovedAt(bob); !ok {
		t.Error("newest removal dropped instead of the oldest")
	}
	over := n.Roster.clone()
	over.Removed = append(over.Removed, Removal{Node: bob, Time: t0})
	if _, err := n.ApplyRoster(signRaw(t, over, n.Secret)); err == nil {
		t.Error("roster with too many removals accepted")
	}
}

func TestRevokeInvite(t *testing.T) {
	n, _ := newAdminNetwork(t)
	secret, rec, _ := n.IssueInvite(InviteReusable, 0, t0)
	_, single, _ := n.IssueInvite(InviteSingle, 0, t0)
	v := n.Roster.Version
	if err := n.RevokeInvite("nope", t0); err == nil {
		t.Error("revoking an unknown id succeeded")
	}
	if n.Roster.Version != v {
		t.Error("a refused revocation changed the roster")
	}
	if got := n.LiveInvites(t0); len(got) != 2 {
		t.Fatalf("live invites = %d, want 2", len(got))
	}
	if err := n.RevokeInvite(rec.ID(), t0); err != nil {
		t.Fatal(err)
	}
	if err := n.RevokeInvite(rec.ID(), t0); err == nil {
		t.Error("revoking twice succeeded")
	}
	if err := n.Redeem(secret, t0); !errors.Is(err, ErrInviteRevoked) {
		t.Errorf("redeem revoked: %v", err)
	}
	if got := n.LiveInvites(t0); len(got) != 1 || got[0].ID() != single.ID() {
		t.Errorf("live invites after revoke = %v", got)
	}
	// Another admin holding the same record (a co-admin) refuses it from
	// the signed roster alone.
	other := memberView(t, n)
	other.Secret = n.Secret
	other.Invites = []InviteRecord{rec}
	if err := other.Redeem(secret, t0); !errors.Is(err, ErrInviteRevoked) {
		t.Errorf("co-admin redeem revoked: %v", err)
	}
	// A co-admin without the record (records stay with their issuer)
	// refuses it as revoked too, from the id in the signed roster.
	other.Invites = nil
	if err := other.Redeem(secret, t0); !errors.Is(err, ErrInviteRevoked) {
		t.Errorf("co-admin without the record redeems revoked: %v", err)
	}
	if err := other.Redeem([16]byte{1}, t0); !errors.Is(err, ErrInviteUnknown) {
		t.Errorf("unknown secret: %v", err)
	}
	// Expired revocations are dropped on the next one.
	_, third, _ := n.IssueInvite(InviteSingle, 0, t0.Add(40*24*time.Hour))
	if err := n.RevokeInvite(third.ID(), t0.Add(40*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n.Roster.IsRevoked(rec.ID()) {
		t.Error("expired revocation kept")
	}
}

func TestStateRecordsRemoval(t *testing.T) {
	n, _ := newAdminNetwork(t)
	s := &State{}
	view := memberView(t, n)
	if err := s.Add(view); err != nil {
		t.Fatal(err)
	}
	s.RecordRemoved(view, t0)
	if s.ByID(n.ID) != nil {
		t.Fatal("removed network still held")
	}
	path := t.TempDir() + "/state.json"
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Removed) != 1 || back.Removed[0].ID != n.ID || back.Removed[0].Name != "home" {
		t.Fatalf("removal after reload = %+v", back.Removed)
	}
	if !back.ForgetRemoved(n.ID) || len(back.Removed) != 0 || back.ForgetRemoved(n.ID) {
		t.Error("ForgetRemoved")
	}
}

func TestBindInvite(t *testing.T) {
	n, _ := newAdminNetwork(t)
	secret, rec, _ := n.IssueInvite(InviteSingle, 0, t0)
	_, reusable, _ := n.IssueInvite(InviteReusable, 0, t0)
	for _, tc := range []struct{ hash, host string }{
		{rec.Hash, "Bad_Name"},
		{reusable.Hash, "kiosk"},
		{"nope", "kiosk"},
	} {
		if err := n.BindInvite(tc.hash, tc.host); err == nil {
			t.Errorf("BindInvite(%.8s, %q) accepted", tc.hash, tc.host)
		}
	}
	if err := n.BindInvite(rec.Hash, "kiosk"); err != nil {
		t.Fatal(err)
	}
	if got := n.LiveInvites(t0); got[0].Hostname != "kiosk" {
		t.Errorf("listed hostname %q", got[0].Hostname)
	}
	m, err := n.AdmitWithInvite(secret, key.NewNode().Public(), "whatever-it-asks", t0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Hostname != "kiosk" {
		t.Errorf("joiner got %q, want the bound kiosk", m.Hostname)
	}
}

func TestDissolve(t *testing.T) {
	n, _ := newAdminNetwork(t)
	bob := key.NewNode().Public()
	if _, err := n.Admit(bob, "bob", t0); err != nil {
		t.Fatal(err)
	}
	view := memberView(t, n)
	if _, err := view.Dissolve(t0); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("member dissolves: %v", err)
	}
	members, err := n.Dissolve(t0)
	if err != nil || len(members) != 2 {
		t.Fatalf("dissolve: %d members, %v", len(members), err)
	}
	if changed, err := view.ApplyRoster(n.Signed); !changed || err != nil {
		t.Fatalf("member applies the last roster: %v %v", changed, err)
	}
	if !view.Roster.Dissolved || len(view.Roster.Members) != 0 {
		t.Error("last roster not dissolved")
	}
	s := &State{}
	if err := s.Add(view); err != nil {
		t.Fatal(err)
	}
	s.RecordRemoved(view, t0)
	if len(s.Removed) != 1 || !s.Removed[0].Deleted {
		t.Errorf("recorded %+v", s.Removed)
	}
	bad := n.Roster.clone()
	bad.Members = []Member{member(bob, "bob")}
	if _, err := view.ApplyRoster(signRaw(t, bad, n.Secret)); err == nil {
		t.Error("a dissolved roster with members accepted")
	}
}
