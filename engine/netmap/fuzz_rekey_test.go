package netmap

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// fuzzRekeyed returns, from fixed keys, a member's view of a network and
// a valid roster of it rekeyed once by its admin, with the new secret.
func fuzzRekeyed(f *testing.F) (*Network, SignedRoster, key.NetworkPrivate, key.NodePublic) {
	id, next := fixedNetwork(f, 1), fixedNetwork(f, 5)
	admin, self := fixedNode(f, 2), fixedNode(f, 3)
	r := &Roster{Network: id.Public(), Name: "home", Version: 2, Issued: t0}
	ma, ms := member(admin.Public(), "admin"), member(self.Public(), "self")
	ma.Admin = true
	r.Members = []Member{ma, ms}
	if self.Public().Less(admin.Public()) {
		r.Members = []Member{ms, ma}
	}
	s, err := r.Sign(id)
	if err != nil {
		f.Fatal(err)
	}
	m, err := FromRoster(id.Public(), s)
	if err != nil {
		f.Fatal(err)
	}
	h := Handover{Network: id.Public(), Gen: 1, Old: id.Public(), New: next.Public(), By: admin.Public(), Time: t0}.Sign(id, admin)
	r.Version = 3
	rekeyed, err := r.SignChain(next, []Handover{h})
	if err != nil {
		f.Fatal(err)
	}
	return m, rekeyed, next, self.Public()
}

// FuzzApplyRekeyedRoster feeds arbitrary signed rosters, hand-over chains
// included, to a member: nothing panics, and the member's key moves only
// to the one the valid chain names.
func FuzzApplyRekeyedRoster(f *testing.F) {
	m, valid, next, _ := fuzzRekeyed(f)
	seed, _ := json.Marshal(valid)
	f.Add(seed)
	f.Add([]byte(`{"body":"e30=","sig":"","chain":[{}]}`))
	f.Add([]byte(`{"chain":null}`))
	base := m.Signed
	f.Fuzz(func(t *testing.T, data []byte) {
		var s SignedRoster
		if json.Unmarshal(data, &s) != nil {
			return
		}
		n := *m
		n.Signed = base
		if _, err := n.ApplyRoster(s); err != nil {
			return
		}
		if k := n.Key(); k != n.ID && k != next.Public() {
			t.Fatalf("member follows a key nobody handed over: %s", k)
		}
	})
}

// FuzzCheckRemovalProof feeds arbitrary removal proofs to a member: none
// is believed unless signed by the key it trusts (or one the valid chain
// leads to).
func FuzzCheckRemovalProof(f *testing.F) {
	m, valid, next, self := fuzzRekeyed(f)
	p := RemovalProof{Network: m.ID, Node: self, Removed: t0.Add(time.Hour), Version: 4, Chain: valid.Chain}
	p.Sig = next.Sign(p.message())
	seed, _ := json.Marshal(p)
	f.Add(seed)
	f.Add([]byte(`{"network":"` + m.ID.String() + `","node":"` + self.String() + `","version":9}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var q RemovalProof
		if json.Unmarshal(data, &q) != nil {
			return
		}
		if m.CheckRemovalProof(q, self) != nil {
			return
		}
		if !bytes.Equal(q.Sig, next.Sign(q.message())) && !bytes.Equal(q.Sig, p.Sig) {
			t.Fatalf("removal proof believed without the trusted key's signature: %+v", q)
		}
	})
}
