package netmap

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// rekeyNet returns a network created by a, with b a co-admin holding the
// secret (b's view) and m a plain member's view.
func rekeyNet(t *testing.T) (a, b, m *Network, aKey, bKey key.NodePrivate) {
	t.Helper()
	a, aKey = newAdminNetwork(t)
	bKey = key.NewNode()
	mKey := key.NewNode()
	for _, k := range []key.NodePublic{bKey.Public(), mKey.Public()} {
		if _, err := a.Admit(k, "node", t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.SetAdmin(bKey.Public(), true, t0); err != nil {
		t.Fatal(err)
	}
	b = memberView(t, a)
	if err := b.AdoptSecret(a.Secret, bKey.Public()); err != nil {
		t.Fatal(err)
	}
	return a, b, memberView(t, a), aKey, bKey
}

func TestRekeyHandOver(t *testing.T) {
	a, b, m, aKey, bKey := rekeyNet(t)
	oldSecret := a.Secret
	v := a.Roster.Version
	if err := a.Rekey(aKey, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if a.Key() == a.ID || a.Secret.Public() != a.Key() || a.Generation() != 1 || a.Roster.Version != v+1 {
		t.Fatalf("after rekey: key %s id %s generation %d version %d", a.Key().ShortString(), a.ID.ShortString(), a.Generation(), a.Roster.Version)
	}
	// The member follows the hand-over from the key it trusts.
	if changed, err := m.ApplyRoster(a.Signed); !changed || err != nil {
		t.Fatalf("member: changed %v, err %v", changed, err)
	}
	if m.Key() != a.Key() || m.ID != a.ID {
		t.Error("the member does not hold the new key under the same id")
	}
	// The co-admin's old secret no longer signs: it waits for the new one.
	if _, err := b.ApplyRoster(a.Signed); err != nil {
		t.Fatal(err)
	}
	if b.IsAdmin() || !b.AwaitsKey() {
		t.Error("the co-admin kept a secret that no longer signs")
	}
	if err := b.AdoptSecret(oldSecret, bKey.Public()); err == nil {
		t.Error("the old secret was adopted after the rekey")
	}
	if err := b.AdoptSecret(a.Secret, bKey.Public()); err != nil {
		t.Fatalf("the new secret: %v", err)
	}
	if _, err := b.Admit(key.NewNode().Public(), "carol", t0); err != nil {
		t.Fatalf("the co-admin admits with the new key: %v", err)
	}
	if _, err := m.ApplyRoster(b.Signed); err != nil {
		t.Fatalf("member takes the co-admin's roster under the new key: %v", err)
	}
	// A roster signed by the old key is refused, whatever its version.
	old := m.Roster.clone()
	old.Version += 100
	forged, err := old.Sign(oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ApplyRoster(forged); !errors.Is(err, ErrReplacedKey) {
		t.Errorf("roster under the replaced key: %v, want %v", err, ErrReplacedKey)
	}
	// A joiner that knows only the id follows the chain.
	if j, err := FromRoster(a.ID, m.Signed); err != nil || j.Key() != a.Key() {
		t.Errorf("joiner: %v", err)
	}
	// The chain and the new secret survive a restart.
	s := &State{}
	if err := s.Add(a); err != nil {
		t.Fatal(err)
	}
	if n := saveLoad(t, s).ByID(a.ID); n == nil || n.Key() != a.Key() || n.Secret.Public() != a.Key() {
		t.Error("the rekeyed network did not survive a save and load")
	}
}

func TestForgedHandOverRefused(t *testing.T) {
	a, _, m, aKey, _ := rekeyNet(t)
	stranger := key.NewNode()
	sign := func(h Handover, old key.NetworkPrivate, by key.NodePrivate) Handover {
		msg := h.message()
		h.KeySig, h.NodeSig = old.Sign(msg), by.Sign(msg)
		return h
	}
	newKey := key.NewNetwork()
	good := Handover{Network: a.ID, Gen: 1, Old: a.ID, New: newKey.Public(), By: aKey.Public(), Time: t0}
	resign := func(t *testing.T, chain []Handover, k key.NetworkPrivate) SignedRoster {
		r := a.Roster.clone()
		r.Version++
		s, err := r.SignChain(k, chain)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tampered := sign(good, a.Secret, aKey)
	tampered.New = key.NewNetwork().Public()
	for _, tc := range []struct {
		name string
		h    Handover
		want error
	}{
		{"signed by a key the member does not trust", sign(good, key.NewNetwork(), aKey), ErrRekeyChain},
		{"made by a node that is not an admin", func() Handover { h := good; h.By = stranger.Public(); return sign(h, a.Secret, stranger) }(), ErrRekeyNotAdmin},
		{"node signature by another key", func() Handover { h := good; return sign(h, a.Secret, stranger) }(), ErrRekeyChain},
		{"skipped generation", func() Handover { h := good; h.Gen = 2; return sign(h, a.Secret, aKey) }(), ErrRekeyChain},
		{"other network", func() Handover { h := good; h.Network = key.NewNetwork().Public(); return sign(h, a.Secret, aKey) }(), ErrRekeyChain},
		{"new key altered after signing", tampered, ErrRekeyChain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey
			if tc.h.New != newKey.Public() {
				k = key.NetworkPrivate{}
			}
			s := SignedRoster{}
			if k.IsZero() { // the roster cannot be signed by the named key: sign with ours
				s = resign(t, nil, a.Secret)
				s.Chain = []Handover{tc.h}
			} else {
				s = resign(t, []Handover{tc.h}, k)
			}
			before := m.Signed
			if _, err := m.ApplyRoster(s); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if !bytes.Equal(m.Signed.Body, before.Body) || m.Key() != a.ID {
				t.Error("a refused hand-over changed the member's roster or key")
			}
		})
	}
	// A chain over the limit is refused before any signature is checked.
	long := resign(t, nil, a.Secret)
	long.Chain = make([]Handover, MaxRekeys+1)
	if _, err := m.ApplyRoster(long); !errors.Is(err, ErrRekeyChain) {
		t.Errorf("overlong chain: %v", err)
	}
}

// TestWithdrawnAdminAfterRekey: a withdrawn admin that kept the old secret
// can neither sign rosters members take nor fork the chain.
func TestWithdrawnAdminAfterRekey(t *testing.T) {
	a, w, m, aKey, wKey := rekeyNet(t)
	kept := w.Secret // a node that does not follow the protocol keeps it
	if _, err := a.SetAdmin(wKey.Public(), false, t0); err != nil {
		t.Fatal(err)
	}
	if err := a.Rekey(aKey, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ApplyRoster(a.Signed); err != nil {
		t.Fatal(err)
	}
	// w adds itself back as admin under the old key.
	r := m.Roster.clone()
	i, _ := r.find(wKey.Public())
	r.Members[i].Admin = true
	r.Version += 10
	s, err := r.Sign(kept)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ApplyRoster(s); !errors.Is(err, ErrStaleRoster) {
		t.Errorf("withdrawn admin's roster under the old key: %v", err)
	}
	// w forks the chain with its own hand-over from the old key.
	wNew := key.NewNetwork()
	h := Handover{Network: a.ID, Gen: 1, Old: a.ID, New: wNew.Public(), By: wKey.Public(), Time: t0}
	h.KeySig, h.NodeSig = kept.Sign(h.message()), wKey.Sign(h.message())
	// Make the fork win the key comparison if it could win at all.
	forked, err := r.SignChain(wNew, []Handover{h})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ApplyRoster(forked); !errors.Is(err, ErrRekeyNotAdmin) && !errors.Is(err, ErrRekeyLost) {
		t.Errorf("withdrawn admin's fork: %v", err)
	}
	if m.Key() != a.Key() || m.Roster.AdminOf(wKey.Public()) {
		t.Error("the member follows the withdrawn admin")
	}
}

// TestConcurrentRekeyConverges: two admins rekey at once and one also
// admits a node under its key; every node ends on one key with both
// changes.
func TestConcurrentRekeyConverges(t *testing.T) {
	for _, order := range []string{"a first", "b first"} {
		t.Run(order, func(t *testing.T) {
			a, b, m, aKey, bKey := rekeyNet(t)
			now := t0.Add(time.Hour)
			if err := a.Rekey(aKey, now); err != nil {
				t.Fatal(err)
			}
			if err := b.Rekey(bKey, now); err != nil {
				t.Fatal(err)
			}
			carol := key.NewNode().Public()
			if _, err := b.Admit(carol, "carol", now); err != nil {
				t.Fatal(err)
			}
			first, second := a, b
			if order == "b first" {
				first, second = b, a
			}
			// sync delivers from's roster to to, then, as the engine
			// does on every connection, from hands its secret to a
			// co-admin whose key was replaced.
			sync := func(from, to *Network, self key.NodePublic) {
				deliver(t, from, to, now)
				if to.AwaitsKey() && from.IsAdmin() {
					if err := to.AdoptSecret(from.Secret, self); err != nil {
						t.Fatal(err)
					}
					if _, err := to.MergeLost(now); err != nil {
						t.Fatal(err)
					}
				}
			}
			sync(first, m, key.NodePublic{})
			sync(second, m, key.NodePublic{})
			sync(a, b, bKey.Public())
			sync(b, a, aKey.Public())
			sync(a, b, bKey.Public())
			sync(b, m, key.NodePublic{})
			sync(a, m, key.NodePublic{})
			for name, n := range map[string]*Network{"a": a, "b": b, "member": m} {
				if !bytes.Equal(n.Signed.Body, a.Signed.Body) || n.Key() != a.Key() {
					t.Errorf("%s holds version %d under %s, a holds %d under %s", name, n.Roster.Version, n.Key().ShortString(), a.Roster.Version, a.Key().ShortString())
				}
				if _, ok := n.Roster.Member(carol); !ok {
					t.Errorf("%s lost carol, admitted under the losing key", name)
				}
			}
			if !a.IsAdmin() || !b.IsAdmin() || a.Secret.Public() != a.Key() || b.Secret.Public() != a.Key() {
				t.Error("the admins do not both hold the winning key")
			}
		})
	}
}

func TestRemovalProof(t *testing.T) {
	a, aKey := newAdminNetwork(t)
	mKey := key.NewNode()
	if _, err := a.Admit(mKey.Public(), "m", t0); err != nil {
		t.Fatal(err)
	}
	m := memberView(t, a)
	if _, err := a.ProveRemoval(mKey.Public()); !errors.Is(err, ErrNoRemoval) {
		t.Errorf("proof for a member: %v", err)
	}
	if err := a.RemoveMember(mKey.Public(), aKey.Public(), t0); err != nil {
		t.Fatal(err)
	}
	p, err := a.ProveRemoval(mKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckRemovalProof(p, mKey.Public()); err != nil {
		t.Errorf("valid proof refused: %v", err)
	}
	if err := m.CheckRemovalProof(p, key.NewNode().Public()); err == nil {
		t.Error("a proof about another node accepted")
	}
	forged := p
	forged.Sig = key.NewNetwork().Sign(p.message())
	if err := m.CheckRemovalProof(forged, mKey.Public()); err == nil {
		t.Error("a proof signed by another key accepted")
	}
	unsigned := p
	unsigned.Sig = nil
	if err := m.CheckRemovalProof(unsigned, mKey.Public()); err == nil {
		t.Error("an unsigned claim accepted")
	}
	// Readmitted since: the old proof is a replay.
	if _, err := a.Admit(mKey.Public(), "m", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	back := memberView(t, a)
	if err := back.CheckRemovalProof(p, mKey.Public()); !errors.Is(err, ErrStaleRoster) {
		t.Errorf("replayed proof: %v", err)
	}
	// After a rekey the proof carries the chain from the key m trusts.
	if err := a.RemoveMember(mKey.Public(), aKey.Public(), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.Rekey(aKey, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	p, err = a.ProveRemoval(mKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := back.CheckRemovalProof(p, mKey.Public()); err != nil {
		t.Errorf("proof under the new key: %v", err)
	}
	// A node that left gets no proof.
	leaver := key.NewNode()
	if _, err := a.Admit(leaver.Public(), "l", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Remove(leaver.Public(), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ProveRemoval(leaver.Public()); !errors.Is(err, ErrNoRemoval) {
		t.Errorf("proof for a node that left: %v", err)
	}
}
