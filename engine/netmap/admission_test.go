package netmap

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

func TestIssueInvite(t *testing.T) {
	tests := []struct {
		kind       InviteKind
		ttl        time.Duration
		wantTTL    time.Duration
		wantSecret bool
	}{
		{InviteSingle, 0, 7 * 24 * time.Hour, true},
		{InviteReusable, 0, 30 * 24 * time.Hour, true},
		{InviteApproval, 0, 7 * 24 * time.Hour, false},
		{InviteSingle, time.Hour, time.Hour, true},
		{InviteReusable, 90 * time.Minute, 90 * time.Minute, true},
	}
	for _, tt := range tests {
		n, _ := newAdminNetwork(t)
		secret, rec, err := n.IssueInvite(tt.kind, tt.ttl, t0)
		if err != nil {
			t.Fatalf("%v: %v", tt.kind, err)
		}
		if (secret != [16]byte{}) != tt.wantSecret {
			t.Errorf("%v: secret set = %v, want %v", tt.kind, secret != [16]byte{}, tt.wantSecret)
		}
		if rec.Kind != tt.kind || !rec.Expires.Equal(t0.Add(tt.wantTTL)) || !rec.Created.Equal(t0) {
			t.Errorf("%v: record %+v", tt.kind, rec)
		}
		if !tt.wantSecret {
			if len(n.Invites) != 0 || rec.Hash != "" {
				t.Errorf("%v: stored %d records, hash %q", tt.kind, len(n.Invites), rec.Hash)
			}
			continue
		}
		if len(n.Invites) != 1 || n.Invites[0] != rec {
			t.Fatalf("%v: stored %+v", tt.kind, n.Invites)
		}
		if rec.Hash != hashSecret(secret) || strings.Contains(rec.Hash, hex.EncodeToString(secret[:])) {
			t.Errorf("%v: record does not hold exactly the hash of the secret", tt.kind)
		}
	}

	n, _ := newAdminNetwork(t)
	for _, kind := range []InviteKind{0, 4, 255} {
		if _, _, err := n.IssueInvite(kind, 0, t0); err == nil {
			t.Errorf("IssueInvite(kind %d) succeeded", kind)
		}
	}
	if _, _, err := n.IssueInvite(InviteSingle, -time.Second, t0); err == nil {
		t.Error("negative ttl accepted")
	}
	if _, _, err := memberView(t, n).IssueInvite(InviteSingle, 0, t0); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("non-admin IssueInvite: %v", err)
	}
	a, _, _ := n.IssueInvite(InviteSingle, 0, t0)
	b, _, _ := n.IssueInvite(InviteSingle, 0, t0)
	if a == b {
		t.Error("two invites share a secret")
	}
}

func TestInviteLimit(t *testing.T) {
	n, _ := newAdminNetwork(t)
	for i := range MaxInvites {
		if _, _, err := n.IssueInvite(InviteSingle, time.Hour, t0); err != nil {
			t.Fatalf("invite %d: %v", i, err)
		}
	}
	if _, _, err := n.IssueInvite(InviteSingle, time.Hour, t0); err == nil {
		t.Fatal("invite beyond the limit accepted")
	}
	// Once they have expired (plus the grace period) there is room again.
	if _, _, err := n.IssueInvite(InviteSingle, time.Hour, t0.Add(time.Hour+inviteGrace)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if len(n.Invites) != 1 {
		t.Errorf("%d records kept, want 1", len(n.Invites))
	}
}

func TestRedeem(t *testing.T) {
	type step struct {
		at      time.Duration // after t0
		secret  string        // "issued" or "wrong" or "zero"
		wantErr error
	}
	tests := []struct {
		name  string
		kind  InviteKind
		steps []step
	}{
		{"single once", InviteSingle, []step{{time.Minute, "issued", nil}}},
		{"single twice", InviteSingle, []step{{time.Minute, "issued", nil}, {2 * time.Minute, "issued", ErrInviteUsed}}},
		{"single expired", InviteSingle, []step{{7*24*time.Hour + time.Second, "issued", ErrInviteExpired}}},
		{"single at expiry", InviteSingle, []step{{7 * 24 * time.Hour, "issued", ErrInviteExpired}}},
		{"single just before expiry", InviteSingle, []step{{7*24*time.Hour - time.Second, "issued", nil}}},
		{"reusable twice", InviteReusable, []step{{time.Minute, "issued", nil}, {time.Hour, "issued", nil}, {29 * 24 * time.Hour, "issued", nil}}},
		{"reusable expired", InviteReusable, []step{{time.Minute, "issued", nil}, {31 * 24 * time.Hour, "issued", ErrInviteExpired}}},
		{"wrong secret", InviteSingle, []step{{time.Minute, "wrong", ErrInviteUnknown}, {time.Minute, "issued", nil}}},
		{"zero secret", InviteSingle, []step{{time.Minute, "zero", ErrInviteUnknown}}},
		{"pruned after grace", InviteSingle, []step{{7*24*time.Hour + inviteGrace, "issued", ErrInviteUnknown}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, _ := newAdminNetwork(t)
			secret, _, err := n.IssueInvite(tt.kind, 0, t0)
			if err != nil {
				t.Fatal(err)
			}
			// A second, unrelated invite must not interfere.
			if _, _, err := n.IssueInvite(InviteReusable, 0, t0); err != nil {
				t.Fatal(err)
			}
			for i, st := range tt.steps {
				s := secret
				switch st.secret {
				case "wrong":
					s[0] ^= 1
				case "zero":
					s = [16]byte{}
				}
				if err := n.Redeem(s, t0.Add(st.at)); !errors.Is(err, st.wantErr) {
					t.Fatalf("step %d: err = %v, want %v", i, err, st.wantErr)
				}
			}
		})
	}
}

func TestRedeemCounts(t *testing.T) {
	n, _ := newAdminNetwork(t)
	secret, _, _ := n.IssueInvite(InviteReusable, 0, t0)
	for range 3 {
		if err := n.Redeem(secret, t0); err != nil {
			t.Fatal(err)
		}
	}
	if n.Invites[0].Uses != 3 || n.Invites[0].Used {
		t.Errorf("record %+v, want 3 uses, not used up", n.Invites[0])
	}
	if err := memberView(t, n).Redeem(secret, t0); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("non-admin Redeem: %v", err)
	}
}

func TestAdmitWithInvite(t *testing.T) {
	n, _ := newAdminNetwork(t)
	secret, _, _ := n.IssueInvite(InviteSingle, 0, t0)
	k := key.NewNode().Public()

	if _, err := n.AdmitWithInvite([16]byte{1}, k, "x", t0); !errors.Is(err, ErrInviteUnknown) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, ok := n.Roster.Member(k); ok {
		t.Fatal("admitted with a wrong secret")
	}
	// A failed admission does not consume the invite.
	if _, err := n.AdmitWithInvite(secret, key.NodePublic{}, "x", t0); err == nil {
		t.Fatal("zero key admitted")
	}
	if n.Invites[0].Used {
		t.Fatal("failed admission consumed the invite")
	}
	m, err := n.AdmitWithInvite(secret, k, "laptop", t0)
	if err != nil || m.Node != k || m.Hostname != "laptop" {
		t.Fatalf("AdmitWithInvite = %+v, %v", m, err)
	}
	if !n.Invites[0].Used {
		t.Error("invite not marked used")
	}
	// The same node again is already a member: no error, no second use.
	if m2, err := n.AdmitWithInvite(secret, k, "laptop", t0); err != nil || m2 != m {
		t.Errorf("member again: %+v, %v", m2, err)
	}
	if _, err := n.AdmitWithInvite(secret, key.NewNode().Public(), "y", t0); !errors.Is(err, ErrInviteUsed) {
		t.Errorf("second node with single-use invite: %v", err)
	}
}

func TestInviteKindText(t *testing.T) {
	for _, k := range []InviteKind{InviteSingle, InviteReusable, InviteApproval} {
		b, err := k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got InviteKind
		if err := got.UnmarshalText(b); err != nil || got != k {
			t.Errorf("%v: round trip %v, %v", k, got, err)
		}
	}
	if _, err := InviteKind(0).MarshalText(); err == nil {
		t.Error("marshal of kind 0 succeeded")
	}
	var k InviteKind
	if err := k.UnmarshalText([]byte("forever")); err == nil {
		t.Error("unmarshal of unknown kind succeeded")
	}
	if s := InviteKind(9).String(); s != "InviteKind(9)" {
		t.Errorf("String = %q", s)
	}
}

func TestJoinRequests(t *testing.T) {
	n, admin := newAdminNetwork(t)
	ks := nodes(3)
	add := func(k key.NodePublic, host string, at time.Duration) error {
		return n.AddRequest(JoinRequest{Node: k, Hostname: host, Received: t0.Add(at)})
	}
	if err := add(ks[0].Public(), "Alpha", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := add(ks[1].Public(), "beta", time.Minute); err != nil {
		t.Fatal(err)
	}
	// The same node again updates its entry.
	if err := add(ks[0].Public(), "alpha.lan", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	got := n.PendingRequests(t0.Add(time.Hour))
	if len(got) != 2 || got[0].Node != ks[1].Public() || got[1].Hostname != "alpha" || !got[1].Received.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("PendingRequests = %+v", got)
	}
	if err := add(admin.Public(), "me", 0); err == nil {
		t.Error("request from a member accepted")
	}
	if err := add(key.NodePublic{}, "zero", 0); err == nil {
		t.Error("request without a key accepted")
	}
	if _, ok := n.TakeRequest(ks[2].Public()); ok {
		t.Error("TakeRequest found a request never made")
	}
	req, ok := n.TakeRequest(ks[1].Public())
	if !ok || req.Hostname != "beta" {
		t.Errorf("TakeRequest = %+v, %v", req, ok)
	}
	if _, ok := n.TakeRequest(ks[1].Public()); ok {
		t.Error("TakeRequest returned the same request twice")
	}
	if got := n.PendingRequests(t0.Add(3*time.Minute + RequestTTL)); len(got) != 0 {
		t.Errorf("expired requests listed: %+v", got)
	}
	if err := memberView(t, n).AddRequest(JoinRequest{Node: ks[2].Public()}); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("non-admin AddRequest: %v", err)
	}
}

func TestJoinRequestLimit(t *testing.T) {
	n, _ := newAdminNetwork(t)
	for i := range MaxRequests {
		if err := n.AddRequest(JoinRequest{Node: key.NewNode().Public(), Hostname: fmt.Sprint("n", i), Received: t0}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	late := key.NewNode().Public()
	if err := n.AddRequest(JoinRequest{Node: late, Received: t0}); err == nil {
		t.Fatal("request beyond the limit accepted")
	}
	// Updating a queued node still works when full.
	if err := n.AddRequest(JoinRequest{Node: n.Requests[0].Node, Hostname: "renamed", Received: t0}); err != nil {
		t.Errorf("update when full: %v", err)
	}
	// Stale requests make room.
	if err := n.AddRequest(JoinRequest{Node: late, Received: t0.Add(RequestTTL)}); err != nil {
		t.Errorf("after TTL: %v", err)
	}
	if len(n.Requests) != 1 {
		t.Errorf("%d requests kept, want 1", len(n.Requests))
	}
}

func TestNewInvite(t *testing.T) {
	n, admin := newAdminNetwork(t)
	n.Name = "local-name"
	addrs := []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:41641")}
	inv, rec, err := n.NewInvite(InviteSingle, time.Hour, admin.Public(), addrs, "https://r.example", t0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseInvite(inv.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Network != n.ID || got.NetworkName != "home" || got.Inviter != admin.Public() ||
		len(got.Addrs) != 1 || got.Relay != "https://r.example" || !got.Expires.Equal(rec.Expires) {
		t.Errorf("invite = %+v", got)
	}
	// The joiner's secret is what the admin redeems.
	if err := n.Redeem(got.Secret, t0.Add(time.Minute)); err != nil {
		t.Errorf("Redeem: %v", err)
	}
	appr, _, err := n.NewInvite(InviteApproval, 0, admin.Public(), nil, "", t0)
	if err != nil || appr.Secret != ([16]byte{}) {
		t.Errorf("approval invite: %+v, %v", appr, err)
	}
}

func TestRequestsPerSource(t *testing.T) {
	n, _ := newAdminNetwork(t)
	add := func(src string) error {
		return n.AddRequest(JoinRequest{Node: key.NewNode().Public(), Hostname: "fake", Received: t0, Source: src})
	}
	for i := range MaxRequestsPerSource {
		if err := add("ip 198.18.0.1/32"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if err := add("ip 198.18.0.1/32"); err == nil {
		t.Fatal("a source queued more than MaxRequestsPerSource requests")
	}
	if err := add("ip 198.18.0.2/32"); err != nil {
		t.Fatalf("another source refused: %v", err)
	}
	// A key asking again replaces its request, whatever the source.
	k := n.Requests[0].Node
	if err := n.AddRequest(JoinRequest{Node: k, Hostname: "again", Received: t0, Source: "ip 198.18.0.1/32"}); err != nil {
		t.Fatalf("repeat request refused: %v", err)
	}
	if len(n.Requests) != MaxRequestsPerSource+1 {
		t.Fatalf("%d requests queued, want %d", len(n.Requests), MaxRequestsPerSource+1)
	}
}
