package netmap

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
)

func validRoster(t testing.TB, k key.NetworkPrivate, ks []key.NodePrivate) *Roster {
	t.Helper()
	r := &Roster{Network: k.Public(), Name: "home", Version: 3, Issued: t0}
	for i, nk := range ks {
		m := member(nk.Public(), "host"+string(rune('a'+i)))
		m.Admin = i == 0
		r.Members = append(r.Members, m)
	}
	return r
}

func TestRosterSignVerify(t *testing.T) {
	k := key.NewNetwork()
	ks := nodes(3)
	r := validRoster(t, k, ks)
	s, err := r.Sign(k)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	got, err := s.Verify(k.Public())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Version != 3 || got.Name != "home" || len(got.Members) != 3 || !got.Issued.Equal(t0) {
		t.Fatalf("Verify returned %+v", got)
	}
	for i, nk := range ks {
		m, ok := got.Member(nk.Public())
		if !ok || m.Hostname != r.Members[i].Hostname || m.IPv4 != nk.Public().IPv4(0) {
			t.Errorf("Member(%d) = %+v, %v", i, m, ok)
		}
		if m2, ok := got.MemberByIP(m.IPv4); !ok || m2.Node != m.Node {
			t.Errorf("MemberByIP(%v) = %+v, %v", m.IPv4, m2, ok)
		}
		if m2, ok := got.MemberByIP(m.IPv6); !ok || m2.Node != m.Node {
			t.Errorf("MemberByIP(%v) = %+v, %v", m.IPv6, m2, ok)
		}
		mapped := netip.AddrFrom16(m.IPv4.As16())
		if m2, ok := got.MemberByIP(mapped); !ok || m2.Node != m.Node {
			t.Errorf("MemberByIP(%v) = %+v, %v", mapped, m2, ok)
		}
	}
	if _, ok := got.Member(key.NewNode().Public()); ok {
		t.Error("Member found a stranger")
	}
	for _, a := range []netip.Addr{{}, netip.MustParseAddr("100.64.0.1"), netip.MustParseAddr("fd72:6179:6669::1")} {
		if _, ok := got.MemberByIP(a); ok {
			t.Errorf("MemberByIP(%v) found a member", a)
		}
	}
	if admins := got.Admins(); len(admins) != 1 || admins[0] != ks[0].Public() {
		t.Errorf("Admins = %v, want [%v]", admins, ks[0].Public())
	}
}

func TestRosterSignRefuses(t *testing.T) {
	k := key.NewNetwork()
	r := validRoster(t, k, nodes(2))
	if _, err := r.Sign(key.NewNetwork()); err == nil {
		t.Error("Sign with another network's key succeeded")
	}
	if _, err := r.Sign(key.NetworkPrivate{}); err == nil {
		t.Error("Sign with a zero key succeeded")
	}
	r.Members[1].Hostname = "Bad_Name"
	if _, err := r.Sign(k); err == nil {
		t.Error("Sign of an invalid roster succeeded")
	}
}

func TestRosterTamperRejected(t *testing.T) {
	k := key.NewNetwork()
	s, err := validRoster(t, k, nodes(2)).Sign(k)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Body {
		bad := SignedRoster{Body: bytes.Clone(s.Body), Sig: s.Sig}
		bad.Body[i] ^= 0x01
		if _, err := bad.Verify(k.Public()); !errors.Is(err, ErrRosterSignature) {
			t.Fatalf("body byte %d flipped: err = %v, want ErrRosterSignature", i, err)
		}
	}
	for i := range s.Sig {
		bad := SignedRoster{Body: s.Body, Sig: bytes.Clone(s.Sig)}
		bad.Sig[i] ^= 0x80
		if _, err := bad.Verify(k.Public()); !errors.Is(err, ErrRosterSignature) {
			t.Fatalf("sig byte %d flipped: err = %v, want ErrRosterSignature", i, err)
		}
	}
	for name, bad := range map[string]SignedRoster{
		"no sig":    {Body: s.Body},
		"short sig": {Body: s.Body, Sig: s.Sig[:63]},
		"empty":     {},
	} {
		if _, err := bad.Verify(k.Public()); !errors.Is(err, ErrRosterSignature) {
			t.Errorf("%s: err = %v, want ErrRosterSignature", name, err)
		}
	}
	if _, err := s.Verify(key.NewNetwork().Public()); !errors.Is(err, ErrRosterSignature) {
		t.Errorf("wrong network key: err = %v, want ErrRosterSignature", err)
	}
	big := SignedRoster{Body: make([]byte, MaxRosterBody+1), Sig: s.Sig}
	if _, err := big.Verify(k.Public()); !errors.Is(err, ErrRosterTooLarge) {
		t.Errorf("oversized body: err = %v, want ErrRosterTooLarge", err)
	}
}

func TestRosterVerifyContent(t *testing.T) {
	k := key.NewNetwork()
	ks := nodes(3)
	other := key.NewNetwork()
	tests := []struct {
		name    string
		mutate  func(r *Roster)
		wantErr string // substring; empty means valid
	}{
		{name: "valid", mutate: func(r *Roster) {}},
		{name: "no members", mutate: func(r *Roster) { r.Members = nil }},
		{name: "collision index", mutate: func(r *Roster) {
			r.Members[1].Index = 7
			r.Members[1].IPv4 = r.Members[1].Node.IPv4(7)
		}},
		{name: "other network in body", mutate: func(r *Roster) { r.Network = other.Public() }, wantErr: "roster is for network " + other.Public().String()},
		{name: "bad name", mutate: func(r *Roster) { r.Name = "Home Net" }, wantErr: "invalid network name"},
		{name: "empty name", mutate: func(r *Roster) { r.Name = "" }, wantErr: "invalid network name"},
		{name: "ipv4 not derived", mutate: func(r *Roster) { r.Members[0].IPv4 = netip.MustParseAddr("100.64.1.1") }, wantErr: "not derived"},
		{name: "index mismatch", mutate: func(r *Roster) { r.Members[0].Index = 1 }, wantErr: "not derived"},
		{name: "ipv6 not derived", mutate: func(r *Roster) { r.Members[0].IPv6 = ks[1].Public().IPv6() }, wantErr: "not derived"},
		{name: "ipv4 zero", mutate: func(r *Roster) { r.Members[0].IPv4 = netip.Addr{} }, wantErr: "not derived"},
		{name: "duplicate node", mutate: func(r *Roster) {
			r.Members[1] = r.Members[0]
			r.Members[1].Hostname = "other"
		}, wantErr: "duplicated"},
		{name: "unsorted", mutate: func(r *Roster) { r.Members[0], r.Members[1] = r.Members[1], r.Members[0] }, wantErr: "not sorted"},
		{name: "duplicate hostname", mutate: func(r *Roster) { r.Members[2].Hostname = r.Members[0].Hostname }, wantErr: "twice"},
		{name: "hostname upper", mutate: func(r *Roster) { r.Members[0].Hostname = "Box" }, wantErr: "invalid hostname"},
		{name: "hostname leading dash", mutate: func(r *Roster) { r.Members[0].Hostname = "-box" }, wantErr: "invalid hostname"},
		{name: "hostname empty", mutate: func(r *Roster) { r.Members[0].Hostname = "" }, wantErr: "invalid hostname"},
		{name: "hostname too long", mutate: func(r *Roster) { r.Members[0].Hostname = strings.Repeat("a", 64) }, wantErr: "invalid hostname"},
		{name: "zero node", mutate: func(r *Roster) { r.Members[0] = member(key.NodePublic{}, "zero") }, wantErr: "no node key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRoster(t, k, ks)
			tt.mutate(r)
			_, err := signRaw(t, r, k).Verify(k.Public())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Verify error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestRosterVerifyMalformed(t *testing.T) {
	k := key.NewNetwork()
	for _, body := range []string{"", "{", "[]", "null x", `{"network":"nope"}`, `{"members":{}}`} {
		s := SignedRoster{Body: []byte(body), Sig: k.Sign(rosterMessage([]byte(body)))}
		if _, err := s.Verify(k.Public()); err == nil {
			t.Errorf("Verify(%q) succeeded", body)
		}
	}
}

func TestRosterMemberLimit(t *testing.T) {
	k := key.NewNetwork()
	r := &Roster{Network: k.Public(), Name: "big", Members: make([]Member, MaxMembers+1)}
	_, err := signRaw(t, r, k).Verify(k.Public())
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("Verify of %d members: err = %v", MaxMembers+1, err)
	}
}

func TestRosterDomainSeparation(t *testing.T) {
	// A signature over the bare body (no domain prefix) must not verify.
	k := key.NewNetwork()
	r := validRoster(t, k, nodes(1))
	s := signRaw(t, r, k)
	s.Sig = k.Sign(s.Body)
	if _, err := s.Verify(k.Public()); !errors.Is(err, ErrRosterSignature) {
		t.Fatalf("undomained signature: err = %v", err)
	}
}
