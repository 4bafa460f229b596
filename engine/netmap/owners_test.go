package netmap

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
)

// collidingNetworks returns two networks, each with a member claiming the
// same IPv4 and the hostname "nas": victim in the first, intruder in the
// second.
func collidingNetworks(t *testing.T) (a, b *Network, victim, intruder key.NodePublic) {
	t.Helper()
	v, m := enginetest.CollidingKeys(t)
	victim, intruder = v.Public(), m.Public()
	a, _ = newAdminNetwork(t)
	b, err := Create("other", false, key.NewNode().Public(), "other-admin", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admit(victim, "nas", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Admit(intruder, "nas", t0); err != nil {
		t.Fatal(err)
	}
	return a, b, victim, intruder
}

func TestOwnersNewcomerNeverWins(t *testing.T) {
	self := key.NewNode().Public()
	a, b, victim, intruder := collidingNetworks(t)
	shared := victim.IPv4(0)
	if intruder.IPv4(0) != shared {
		t.Fatal("keys do not collide")
	}

	tests := []struct {
		name        string
		first, then *Network // joined in this order
		owner       key.NodePublic
	}{
		{"intruder joins later", a, b, victim},
		{"victim joins later", b, a, intruder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &State{}
			if err := s.Add(clone(t, tc.first)); err != nil {
				t.Fatal(err)
			}
			if s.ResolveOwners(self) {
				t.Error("uncontested claims changed the persisted decisions")
			}
			if err := s.Add(clone(t, tc.then)); err != nil {
				t.Fatal(err)
			}
			if !s.ResolveOwners(self) {
				t.Error("a new contest was not reported for saving")
			}
			loser := victim
			if tc.owner == victim {
				loser = intruder
			}
			for i := range 100 {
				if i > 0 && s.ResolveOwners(self) {
					t.Fatalf("recompute %d changed the decisions", i)
				}
				if got, _ := s.AddrOwner(shared); got != tc.owner {
					t.Fatalf("recompute %d: %s owned by %s, want the first claim %s", i, shared, got.ShortString(), tc.owner.ShortString())
				}
				if !s.OwnsName(tc.owner, "nas") || s.OwnsName(loser, "nas") {
					t.Fatalf("recompute %d: bare name nas.ray went to the newcomer", i)
				}
				if !s.OwnsAddr(loser, loser.IPv6()) {
					t.Fatalf("recompute %d: the refused member lost its IPv6", i)
				}
			}

			// The decision survives a restart even though a cold start
			// with the networks in another order would decide otherwise.
			loaded := saveLoad(t, s)
			loaded.Networks[0], loaded.Networks[1] = loaded.Networks[1], loaded.Networks[0]
			loaded.ResolveOwners(self)
			if got, _ := loaded.AddrOwner(shared); got != tc.owner {
				t.Fatalf("after reload %s owned by %s, want %s", shared, got.ShortString(), tc.owner.ShortString())
			}
			if !loaded.OwnsName(tc.owner, "nas") {
				t.Fatal("after reload the bare name moved")
			}
		})
	}
}

func TestOwnersHolderLeaves(t *testing.T) {
	self := key.NewNode().Public()
	a, b, victim, intruder := collidingNetworks(t)
	shared := victim.IPv4(0)
	s := &State{}
	for _, n := range []*Network{a, b} {
		if err := s.Add(clone(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	s.ResolveOwners(self)
	if got, _ := s.AddrOwner(shared); got != victim {
		t.Fatalf("cold start: owner %s, want the claim in the network joined first", got.ShortString())
	}
	// The holder's network goes: the other claim is the only one left.
	s.RemoveNetwork(a.ID)
	s.ResolveOwners(self)
	if got, _ := s.AddrOwner(shared); got != intruder {
		t.Fatalf("after the holder left: owner %s, want %s", got.ShortString(), intruder.ShortString())
	}
	// Coming back makes the old holder the newcomer.
	if err := s.Add(clone(t, a)); err != nil {
		t.Fatal(err)
	}
	s.ResolveOwners(self)
	if got, _ := s.AddrOwner(shared); got != intruder {
		t.Fatalf("the returning member took the address back")
	}
}

func TestOwnersSelfAlwaysWins(t *testing.T) {
	a, b, victim, intruder := collidingNetworks(t)
	s := &State{}
	for _, n := range []*Network{a, b} {
		if err := s.Add(clone(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	s.ResolveOwners(victim)
	if !s.OwnsAddr(victim, victim.IPv4(0)) || !s.OwnsName(victim, "nas") {
		t.Fatal("a member of another network took this node's address or name")
	}
	s.ResolveOwners(intruder)
	if !s.OwnsAddr(intruder, victim.IPv4(0)) {
		t.Fatal("this node lost its own address to an earlier claim")
	}
}

func TestRosterIndexBound(t *testing.T) {
	n, _ := newAdminNetwork(t)
	view := memberView(t, n)
	k := key.NewNode().Public()
	withIndex := func(idx uint32) *Roster {
		r := n.Roster.clone()
		m := member(k, "grinder")
		m.Index, m.IPv4 = idx, k.IPv4(idx)
		r.Members = append(r.Members, m)
		sortMembers(r)
		r.Version++
		return r
	}
	if _, err := withIndex(MaxAddrIndex + 1).Sign(n.Secret); err == nil {
		t.Fatalf("signed a member with address index %d", MaxAddrIndex+1)
	}
	// A roster signed anyway (an admin grinding) is refused on receipt,
	// and the network keeps its roster.
	ground := signRaw(t, withIndex(MaxAddrIndex+1), n.Secret)
	if _, err := view.ApplyRoster(ground); err == nil || view.Roster.Version != n.Roster.Version {
		t.Fatalf("ApplyRoster took a ground index: %v", err)
	}
	if _, err := FromRoster(n.ID, ground); err == nil {
		t.Fatal("FromRoster took a ground index")
	}
	// One stored before the limit existed still loads.
	stored := &State{}
	view.Signed = ground
	if err := stored.Add(view); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := stored.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("a stored roster with a large index made the state unreadable: %v", err)
	}
	if _, err := withIndex(MaxAddrIndex).Sign(n.Secret); err != nil {
		t.Fatalf("index %d refused: %v", MaxAddrIndex, err)
	}
}

func clone(t *testing.T, n *Network) *Network {
	t.Helper()
	c, err := FromRoster(n.ID, n.Signed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sortMembers(r *Roster) {
	slices.SortFunc(r.Members, func(a, b Member) int { return bytes.Compare(a.Node[:], b.Node[:]) })
}
