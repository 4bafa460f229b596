package netmap

import (
	"errors"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
)

func TestSanitizeHostname(t *testing.T) {
	tests := []struct{ in, want string }{
		{"laptop", "laptop"},
		{"Laptop", "laptop"},
		{"  MyBox  ", "mybox"},
		{"Johns-MacBook-Pro.local", "johns-macbook-pro"},
		{"my_box", "my-box"},
		{"my box", "my-box"},
		{"-edge-", "edge"},
		{"__x__", "x"},
		{"", "node"},
		{"---", "node"},
		{".local", "node"},
		{"héllo", "h-llo"},
		{"日本", "node"},
		{strings.Repeat("a", 100), strings.Repeat("a", 63)},
		{strings.Repeat("a", 62) + "_b", strings.Repeat("a", 62)},
		{"web01", "web01"},
	}
	for _, tt := range tests {
		got := SanitizeHostname(tt.in)
		if got != tt.want {
			t.Errorf("SanitizeHostname(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !ValidHostname(got) {
			t.Errorf("SanitizeHostname(%q) = %q is not valid", tt.in, got)
		}
	}
}

func TestValidHostname(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a", true},
		{"web-1", true},
		{"0", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"-a", false},
		{"a-", false},
		{"A", false},
		{"a.b", false},
		{"a_b", false},
		{"a b", false},
	}
	for _, tt := range tests {
		if got := ValidHostname(tt.in); got != tt.want {
			t.Errorf("ValidHostname(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestUniqueHostname(t *testing.T) {
	long := strings.Repeat("a", 63)
	dashy := strings.Repeat("a", 60) + "-bc"
	tests := []struct {
		base  string
		taken []string
		want  string
	}{
		{"web", nil, "web"},
		{"web", []string{"web"}, "web-1"},
		{"web", []string{"web", "web-1"}, "web-2"},
		{"web", []string{"web", "web-2"}, "web-1"},
		{"web-1", []string{"web-1"}, "web-1-1"},
		{long, []string{long}, strings.Repeat("a", 61) + "-1"},
		{dashy, []string{dashy}, strings.Repeat("a", 60) + "-1"},
	}
	for _, tt := range tests {
		taken := map[string]bool{}
		for _, s := range tt.taken {
			taken[s] = true
		}
		got := uniqueHostname(tt.base, func(s string) bool { return taken[s] })
		if got != tt.want {
			t.Errorf("uniqueHostname(%q, %q) = %q, want %q", tt.base, tt.taken, got, tt.want)
		}
		if !ValidHostname(got) {
			t.Errorf("uniqueHostname(%q) = %q is not valid", tt.base, got)
		}
	}
	// Ten suffixes in a row on a long name stay valid and distinct.
	taken := map[string]bool{long: true}
	for i := 0; i < 12; i++ {
		got := uniqueHostname(long, func(s string) bool { return taken[s] })
		if taken[got] || !ValidHostname(got) {
			t.Fatalf("round %d: got %q", i, got)
		}
		taken[got] = true
	}
}

func TestNormalizeNetworkName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"home", "home", true},
		{" Home ", "home", true},
		{"my_net-2", "my_net-2", true},
		{strings.Repeat("x", 32), strings.Repeat("x", 32), true},
		{strings.Repeat("x", 33), "", false},
		{"", "", false},
		{"a b", "", false},
		{"a.b", "", false},
		{"héllo", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeNetworkName(tt.in)
		if tt.ok {
			if err != nil || got != tt.want {
				t.Errorf("NormalizeNetworkName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("NormalizeNetworkName(%q) = %q, want error", tt.in, got)
		} else if !errors.Is(err, errNetworkName) {
			t.Errorf("NormalizeNetworkName(%q) error %v does not explain the rule", tt.in, err)
		}
	}
}

func TestSetHostname(t *testing.T) {
	n, admin := newAdminNetwork(t)
	bob := key.NewNode().Public()
	if _, err := n.Admit(bob, "bob", t0); err != nil {
		t.Fatal(err)
	}
	v := n.Roster.Version
	for _, tc := range []struct {
		node key.NodePublic
		name string
		want error
	}{
		{bob, "admin-box", ErrHostnameTaken},
		{key.NewNode().Public(), "carol", ErrNotMember},
	} {
		if _, err := n.SetHostname(tc.node, tc.name, t0); !errors.Is(err, tc.want) {
			t.Errorf("rename to %q: %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, bad := range []string{"", "-x", "UPPER", "a.b", strings.Repeat("a", 64)} {
		if _, err := n.SetHostname(bob, bad, t0); err == nil {
			t.Errorf("rename to %q accepted", bad)
		}
	}
	if changed, err := n.SetHostname(bob, "bob", t0); changed || err != nil {
		t.Errorf("unchanged name: %v %v", changed, err)
	}
	if n.Roster.Version != v {
		t.Fatal("refused renames changed the roster")
	}
	if changed, err := n.SetHostname(admin.Public(), "boss", t0); !changed || err != nil {
		t.Fatalf("rename: %v %v", changed, err)
	}
	if m, _ := n.Roster.Member(admin.Public()); m.Hostname != "boss" {
		t.Errorf("hostname = %q", m.Hostname)
	}
	if _, err := memberView(t, n).SetHostname(bob, "robert", t0); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("member renames: %v", err)
	}
}
