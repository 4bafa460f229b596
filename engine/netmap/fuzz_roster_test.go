package netmap

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
)

// FuzzVerifyRoster feeds arbitrary bodies and signatures to Verify (which
// must never accept a forgery) and arbitrary bodies to the content checks
// behind it (which must never panic, and whatever they accept must sign
// and verify again to the same roster).
func FuzzVerifyRoster(f *testing.F) {
	k := fixedNetwork(f, 1)
	ks := []key.NodePrivate{fixedNode(f, 2), fixedNode(f, 3), fixedNode(f, 4)}
	slices.SortFunc(ks, func(a, b key.NodePrivate) int {
		pa, pb := a.Public(), b.Public()
		return bytes.Compare(pa[:], pb[:])
	})
	r := &Roster{Network: k.Public(), Name: "home", Version: 2, Issued: t0}
	for i, nk := range ks {
		m := member(nk.Public(), string(rune('a'+i)))
		m.Admin = i == 0
		r.Members = append(r.Members, m)
	}
	valid, err := r.Sign(k)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid.Body, valid.Sig)
	f.Add([]byte(`{}`), []byte{})
	f.Add([]byte(`{"network":"`+k.Public().String()+`","name":"x","members":[{}]}`), valid.Sig)
	f.Add([]byte(`{"network":"`+k.Public().String()+`","name":"x","members":null}`), make([]byte, 64))
	f.Fuzz(func(t *testing.T, body, sig []byte) {
		s := SignedRoster{Body: body, Sig: sig}
		if _, err := s.Verify(k.Public()); err == nil && !bytes.Equal(body, valid.Body) {
			t.Fatalf("forged roster verified: %q", body)
		}
		got, err := parseRoster(body, k.Public())
		if err != nil {
			return
		}
		resigned, err := got.Sign(k)
		if err != nil {
			t.Fatalf("accepted roster does not sign: %v", err)
		}
		again, err := resigned.Verify(k.Public())
		if err != nil {
			t.Fatalf("re-signed roster does not verify: %v", err)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(again)
		if !bytes.Equal(a, b) {
			t.Fatalf("roster changed on re-signing:\n%s\n%s", a, b)
		}
	})
}
