package netmap

import (
	"bytes"
	"encoding/base32"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// nodes returns n node keys sorted by public key.
func nodes(n int) []key.NodePrivate {
	ks := make([]key.NodePrivate, n)
	for i := range ks {
		ks[i] = key.NewNode()
	}
	slices.SortFunc(ks, func(a, b key.NodePrivate) int {
		pa, pb := a.Public(), b.Public()
		return bytes.Compare(pa[:], pb[:])
	})
	return ks
}

// member returns a valid roster entry for k.
func member(k key.NodePublic, host string) Member {
	return Member{Node: k, Hostname: host, IPv4: k.IPv4(0), IPv6: k.IPv6(), Joined: t0}
}

// signRaw signs r without checking it, to build rosters that are
// correctly signed but invalid.
func signRaw(t testing.TB, r *Roster, k key.NetworkPrivate) SignedRoster {
	t.Helper()
	body, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return SignedRoster{Body: body, Sig: k.Sign(rosterMessage(body))}
}

// newAdminNetwork creates a network whose creator is admin.
func newAdminNetwork(t testing.TB) (*Network, key.NodePrivate) {
	t.Helper()
	admin := key.NewNode()
	n, err := Create("home", false, admin.Public(), "admin-box", t0)
	if err != nil {
		t.Fatal(err)
	}
	return n, admin
}

// memberView returns the view of n that a non-admin member holds.
func memberView(t testing.TB, n *Network) *Network {
	t.Helper()
	m, err := FromRoster(n.ID, n.Signed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// saveLoad saves s to a fresh file and loads it back, as a restart does.
func saveLoad(t testing.TB, s *State) *State {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// fixedNode and fixedNetwork return deterministic keys. Fuzz targets need
// them: each fuzz worker process runs the target's setup again, and seeds
// built from random keys would not match the worker's keys.
func fixedNode(t testing.TB, seed byte) key.NodePrivate {
	t.Helper()
	var k key.NodePrivate
	if err := k.UnmarshalText([]byte("nodekey:" + fixedSeed(seed))); err != nil {
		t.Fatal(err)
	}
	return k
}

func fixedNetwork(t testing.TB, seed byte) key.NetworkPrivate {
	t.Helper()
	var k key.NetworkPrivate
	if err := k.UnmarshalText([]byte("netkey:" + fixedSeed(seed))); err != nil {
		t.Fatal(err)
	}
	return k
}

func fixedSeed(seed byte) string {
	b := bytes.Repeat([]byte{seed}, 32)
	return base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding).EncodeToString(b)
}
