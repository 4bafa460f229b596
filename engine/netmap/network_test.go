package netmap

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

func TestCreate(t *testing.T) {
	creator := key.NewNode().Public()
	n, err := Create(" Home ", true, creator, "Johns-Laptop.local", t0)
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "home" || n.Roster.Name != "home" || !n.Roster.Open || n.Roster.Version != 1 {
		t.Errorf("network = %q, roster %+v", n.Name, n.Roster)
	}
	if !n.IsAdmin() || n.Secret.Public() != n.ID || n.Roster.Network != n.ID {
		t.Error("creator does not hold the matching network secret")
	}
	m, ok := n.Roster.Member(creator)
	if !ok || !m.Admin || m.Hostname != "johns-laptop" || m.IPv4 != creator.IPv4(0) || !m.Joined.Equal(t0) {
		t.Errorf("creator entry = %+v, %v", m, ok)
	}
	if _, err := n.Signed.Verify(n.ID); err != nil {
		t.Errorf("signed roster does not verify: %v", err)
	}

	for _, bad := range []struct {
		name    string
		creator key.NodePublic
	}{{"bad name!", creator}, {"", creator}, {"ok", key.NodePublic{}}} {
		if _, err := Create(bad.name, false, bad.creator, "x", t0); err == nil {
			t.Errorf("Create(%q, %v) succeeded", bad.name, bad.creator.IsZero())
		}
	}
	// Two networks never share a key.
	n2, err := Create("home", false, creator, "x", t0)
	if err != nil || n2.ID == n.ID {
		t.Errorf("second Create: %v, same id %v", err, n2.ID == n.ID)
	}
}

func TestApplyRoster(t *testing.T) {
	admin, _ := newAdminNetwork(t)
	view := memberView(t, admin)
	if view.IsAdmin() || view.Name != "home" || view.Roster.Version != 1 {
		t.Fatalf("member view: admin=%v name=%q version=%d", view.IsAdmin(), view.Name, view.Roster.Version)
	}
	v1 := admin.Signed
	newcomer := key.NewNode().Public()
	if _, err := admin.Admit(newcomer, "b", t0); err != nil {
		t.Fatal(err)
	}
	v2 := admin.Signed
	tampered := SignedRoster{Body: append([]byte(nil), v2.Body...), Sig: v2.Sig}
	tampered.Body[len(tampered.Body)/2] ^= 1
	otherNet, _ := newAdminNetwork(t)

	steps := []struct {
		name        string
		s           SignedRoster
		wantChanged bool
		wantErr     error // nil or a sentinel
		wantVersion uint64
	}{
		{"newer installs", v2, true, nil, 2},
		{"equal is a no-op", v2, false, nil, 2},
		{"older refused", v1, false, ErrStaleRoster, 2},
		{"tampered refused", tampered, false, ErrRosterSignature, 2},
		{"other network refused", otherNet.Signed, false, ErrRosterSignature, 2},
	}
	for _, st := range steps {
		changed, err := view.ApplyRoster(st.s)
		if changed != st.wantChanged || !errors.Is(err, st.wantErr) {
			t.Errorf("%s: changed=%v err=%v, want %v %v", st.name, changed, err, st.wantChanged, st.wantErr)
		}
		if view.Roster.Version != st.wantVersion {
			t.Errorf("%s: version %d, want %d", st.name, view.Roster.Version, st.wantVersion)
		}
	}
	if _, ok := view.Roster.Member(newcomer); !ok {
		t.Error("member view lacks the newcomer after applying v2")
	}
	// A network without a roster takes any valid one.
	empty := &Network{Name: "home", ID: admin.ID}
	if changed, err := empty.ApplyRoster(v1); !changed || err != nil {
		t.Errorf("first roster: changed=%v err=%v", changed, err)
	}
}

func TestApplyRosterEqualVersionDifferentBody(t *testing.T) {
	// Two co-admins may sign different rosters with the same version; on
	// every node the one with the smaller body hash wins (see merge.go),
	// whichever arrived first.
	admin, _ := newAdminNetwork(t)
	fork := admin.Roster.clone()
	fork.Open = true
	s, err := fork.Sign(admin.Secret)
	if err != nil {
		t.Fatal(err)
	}
	want := admin.Signed
	if winsTie(s, admin.Signed) {
		want = s
	}
	for _, first := range []SignedRoster{admin.Signed, s} {
		view := &Network{Name: "home", ID: admin.ID}
		if _, err := view.ApplyRoster(first); err != nil {
			t.Fatal(err)
		}
		for _, other := range []SignedRoster{admin.Signed, s} {
			if _, err := view.ApplyRoster(other); err != nil {
				t.Fatalf("equal version: %v", err)
			}
		}
		if !bytes.Equal(view.Signed.Body, want.Body) {
			t.Error("the tie went to the roster seen first, not the smaller hash")
		}
	}
}

func TestAdmit(t *testing.T) {
	n, admin := newAdminNetwork(t)
	ks := nodes(5)
	tests := []struct {
		node        key.NodePublic
		hostname    string
		wantHost    string
		wantVersion uint64
	}{
		{ks[0].Public(), "web", "web", 2},
		{ks[1].Public(), "WEB", "web-1", 3},
		{ks[2].Public(), "web.example.com", "web-2", 4},
		{ks[0].Public(), "other", "web", 4}, // existing member: unchanged
		{ks[3].Public(), "", "node", 5},
		{ks[4].Public(), "admin-box", "admin-box-1", 6},
		{admin.Public(), "again", "admin-box", 6},
	}
	for _, tt := range tests {
		m, err := n.Admit(tt.node, tt.hostname, t0.Add(time.Minute))
		if err != nil {
			t.Fatalf("Admit(%q): %v", tt.hostname, err)
		}
		if m.Hostname != tt.wantHost || m.Node != tt.node || m.IPv4 != tt.node.IPv4(m.Index) || m.IPv6 != tt.node.IPv6() {
			t.Errorf("Admit(%q) = %+v, want hostname %q", tt.hostname, m, tt.wantHost)
		}
		if n.Roster.Version != tt.wantVersion {
			t.Errorf("Admit(%q): version %d, want %d", tt.hostname, n.Roster.Version, tt.wantVersion)
		}
		if m.Admin && tt.node != admin.Public() {
			t.Errorf("Admit(%q) made an admin", tt.hostname)
		}
	}
	if !slices.IsSortedFunc(n.Roster.Members, func(a, b Member) int { return strings.Compare(string(a.Node[:]), string(b.Node[:])) }) {
		t.Error("members not sorted")
	}
	// A member verifies every roster the admin produced.
	view := memberView(t, n)
	if len(view.Roster.Members) != 6 || !view.Roster.Issued.Equal(t0.Add(time.Minute)) {
		t.Errorf("member view: %d members, issued %v", len(view.Roster.Members), view.Roster.Issued)
	}
	if _, err := n.Admit(key.NodePublic{}, "zero", t0); err == nil {
		t.Error("Admit of a zero key succeeded")
	}
	if _, err := view.Admit(key.NewNode().Public(), "x", t0); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("non-admin Admit: err = %v, want ErrNotAdmin", err)
	}
}

func TestAdmitNetworkFull(t *testing.T) {
	n, _ := newAdminNetwork(t)
	// Fill the roster directly; signing 4096 members is not needed to
	// test the bound.
	r := n.Roster.clone()
	for len(r.Members) < MaxMembers {
		r.Members = append(r.Members, Member{})
	}
	n.Roster = r
	if _, err := n.Admit(key.NewNode().Public(), "x", t0); !errors.Is(err, ErrNetworkFull) {
		t.Fatalf("err = %v, want ErrNetworkFull", err)
	}
}

func TestAllocIndex(t *testing.T) {
	node := key.NewNode().Public()
	addrs := func(idx ...uint32) map[netip.Addr]bool {
		m := map[netip.Addr]bool{}
		for _, i := range idx {
			m[node.IPv4(i)] = true
		}
		return m
	}
	tests := []struct {
		name  string
		taken map[netip.Addr]bool
		want  uint32
	}{
		{"free", nil, 0},
		{"unrelated taken", map[netip.Addr]bool{netip.MustParseAddr("100.64.0.2"): true}, 0},
		{"natural taken", addrs(0), 1},
		{"two taken", addrs(0, 1), 2},
		{"gap", addrs(0, 2), 1},
		{"many", addrs(0, 1, 2, 3, 4, 5, 6, 7), 8},
	}
	for _, tt := range tests {
		for range 2 { // deterministic: same answer every time
			got, err := allocIndex(node, func(a netip.Addr) bool { return tt.taken[a] })
			if err != nil || got != tt.want {
				t.Errorf("%s: allocIndex = %d, %v; want %d", tt.name, got, err, tt.want)
			}
		}
	}
	if _, err := allocIndex(node, func(netip.Addr) bool { return true }); err == nil {
		t.Error("allocIndex with everything taken succeeded")
	}
}

func TestRemove(t *testing.T) {
	n, admin := newAdminNetwork(t)
	ks := nodes(2)
	for _, k := range ks {
		if _, err := n.Admit(k.Public(), "m", t0); err != nil {
			t.Fatal(err)
		}
	}
	v := n.Roster.Version
	if removed, err := n.Remove(ks[0].Public(), t0); !removed || err != nil {
		t.Fatalf("Remove member: %v %v", removed, err)
	}
	if n.Roster.Version != v+1 {
		t.Errorf("version %d, want %d", n.Roster.Version, v+1)
	}
	if _, ok := n.Roster.Member(ks[0].Public()); ok {
		t.Error("removed member still in roster")
	}
	if removed, err := n.Remove(ks[0].Public(), t0); removed || err != nil || n.Roster.Version != v+1 {
		t.Errorf("Remove non-member: %v %v, version %d", removed, err, n.Roster.Version)
	}
	if _, err := n.Remove(admin.Public(), t0); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("Remove last admin: err = %v, want ErrLastAdmin", err)
	}
	if _, err := n.SetAdmin(admin.Public(), false, t0); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("unmark last admin: err = %v, want ErrLastAdmin", err)
	}
	// With a co-admin, the first admin can go.
	if changed, err := n.SetAdmin(ks[1].Public(), true, t0); !changed || err != nil {
		t.Fatalf("SetAdmin: %v %v", changed, err)
	}
	if changed, err := n.SetAdmin(ks[1].Public(), true, t0); changed || err != nil {
		t.Errorf("SetAdmin again: %v %v", changed, err)
	}
	if _, err := n.SetAdmin(ks[0].Public(), true, t0); err == nil {
		t.Error("SetAdmin of a non-member succeeded")
	}
	if removed, err := n.Remove(admin.Public(), t0); !removed || err != nil {
		t.Errorf("Remove one of two admins: %v %v", removed, err)
	}
	if got := n.Roster.Admins(); len(got) != 1 || got[0] != ks[1].Public() {
		t.Errorf("Admins = %v", got)
	}
	view := memberView(t, n)
	if _, err := view.Remove(ks[1].Public(), t0); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("non-admin Remove: err = %v", err)
	}
}

func TestApplyLeave(t *testing.T) {
	n, _ := newAdminNetwork(t)
	k := key.NewNode()
	joined := t0.Add(time.Hour)
	if _, err := n.Admit(k.Public(), "leaver", joined); err != nil {
		t.Fatal(err)
	}
	other, _ := newAdminNetwork(t)
	forged := SignLeave(k, n.ID, joined.Add(time.Minute))
	forged.Node = key.NewNode().Public()

	tests := []struct {
		name        string
		l           LeaveNotice
		wantRemoved bool
		wantErr     bool
	}{
		{"forged", forged, false, true},
		{"other network", SignLeave(k, other.ID, joined.Add(time.Minute)), false, true},
		{"predates admission", SignLeave(k, n.ID, joined.Add(-time.Minute)), false, true},
		{"stranger", SignLeave(key.NewNode(), n.ID, joined), false, false},
		{"valid", SignLeave(k, n.ID, joined.Add(time.Minute)), true, false},
		{"replayed after removal", SignLeave(k, n.ID, joined.Add(time.Minute)), false, false},
	}
	for _, tt := range tests {
		removed, err := n.ApplyLeave(tt.l, joined.Add(time.Hour))
		if removed != tt.wantRemoved || (err != nil) != tt.wantErr {
			t.Errorf("%s: removed=%v err=%v; want %v, error %v", tt.name, removed, err, tt.wantRemoved, tt.wantErr)
		}
	}
	if _, ok := n.Roster.Member(k.Public()); ok {
		t.Error("leaver still a member")
	}
	// Admitted again later, the old notice no longer removes it.
	if _, err := n.Admit(k.Public(), "leaver", joined.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if removed, err := n.ApplyLeave(SignLeave(k, n.ID, joined.Add(time.Minute)), joined.Add(3*time.Hour)); removed || err == nil {
		t.Errorf("replayed old notice: removed=%v err=%v", removed, err)
	}
}
