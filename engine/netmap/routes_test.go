package netmap

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

func TestValidRoute(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" ok, else a substring of the error
	}{
		{"192.168.1.0/24", ""},
		{"10.0.0.0/8", ""},
		{"198.18.78.0/24", ""},
		{"192.168.1.7/32", ""},
		{"2001:db8::/32", ""},
		{"192.168.1.1/24", "not canonical (did you mean 192.168.1.0/24?)"},
		{"0.0.0.0/0", "default route"},
		{"::/0", "default route"},
		{"100.64.0.0/10", "overlaps 100.64.0.0/10"},
		{"100.100.100.0/24", "overlaps 100.64.0.0/10"},
		{"100.0.0.0/8", "overlaps 100.64.0.0/10"},
		{"64.0.0.0/2", "overlaps 100.64.0.0/10"},
		{"fd72:6179:6669:1::/64", "overlaps fd72:6179:6669::/48"},
		{"fd00::/8", "overlaps fd72:6179:6669::/48"},
		{"127.0.0.0/8", "overlaps 127.0.0.0/8"},
		{"224.0.0.0/4", "overlaps 224.0.0.0/4"},
		{"fe80::/64", "overlaps fe80::/10"},
		{"::ffff:10.0.0.0/104", "IPv4-mapped"},
	} {
		err := ValidRoute(netip.MustParsePrefix(tc.in))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.in, err, tc.want)
		}
	}
	if ValidRoute(netip.Prefix{}) == nil {
		t.Error("zero prefix accepted")
	}
}

func TestParseRoutes(t *testing.T) {
	got, err := ParseRoutes(" 10.1.0.0/16,192.168.1.0/24 , 10.1.0.0/16,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got, err := ParseRoutes(""); err != nil || got != nil {
		t.Errorf("empty: %v %v", got, err)
	}
	var many []string
	for i := range MaxOfferRoutes + 1 {
		many = append(many, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16).String())
	}
	for _, bad := range []string{"10.0.0.1", "banana", "10.0.0.1/24", "0.0.0.0/0", "100.64.0.0/16", strings.Join(many, ",")} {
		if _, err := ParseRoutes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRecordOffers(t *testing.T) {
	k := key.NewNode()
	addrs := []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:4242")}
	routes := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("10.0.0.0/8")}
	r := SignRecord(k, addrs, "", Offer{ExitNode: true, Routes: append(routes, netip.MustParsePrefix("0.0.0.0/0"), routes[0])}, 5)
	if !r.ExitNode || !slices.Equal(r.Routes, []netip.Prefix{routes[1], routes[0]}) {
		t.Fatalf("offer %v %v: want exit node and the two routes sorted, the bad and repeated one dropped", r.ExitNode, r.Routes)
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	// A record without offers signs as before offers existed.
	plain := SignRecord(k, addrs, "", Offer{}, 5)
	if string(plain.message()) != string(SignEndpoints(k, addrs, "", 5).message()) {
		t.Error("a record without offers signs differently")
	}
	for name, mut := range map[string]func(*EndpointRecord){
		"exit dropped": func(r *EndpointRecord) { r.ExitNode = false },
		"route added":  func(r *EndpointRecord) { r.Routes = append(r.Routes, netip.MustParsePrefix("172.16.0.0/12")) },
		"route changed": func(r *EndpointRecord) {
			r.Routes = []netip.Prefix{r.Routes[0], netip.MustParsePrefix("192.168.2.0/24")}
		},
		"bad route": func(r *EndpointRecord) { r.Routes = []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10")} },
		"too many": func(r *EndpointRecord) {
			r.Routes = nil
			for i := range MaxOfferRoutes + 1 {
				r.Routes = append(r.Routes, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16))
			}
		},
	} {
		c := r
		c.Routes = slices.Clone(r.Routes)
		mut(&c)
		if c.Verify() == nil {
			t.Errorf("%s: verified", name)
		}
	}
	o, err := ParseOffer(AppendOffer(nil, r.Offer()))
	if err != nil || !o.Equal(r.Offer()) {
		t.Errorf("offer round trip: %v %v", o, err)
	}
	for _, bad := range [][]byte{{2, 0}, {1, 1, 4, 10, 0}, {1, 1, 5, 10, 0, 0, 0, 8}, {1, 1, 4, 10, 0, 0, 0, 33}, {0, 0}, {1, 0, 9}} {
		if _, err := ParseOffer(bad); err == nil {
			t.Errorf("ParseOffer(%v) accepted", bad)
		}
	}
}

func TestApprove(t *testing.T) {
	n, _ := newAdminNetwork(t)
	bob := key.NewNode().Public()
	if _, err := n.Admit(bob, "bob", t0); err != nil {
		t.Fatal(err)
	}
	lan := netip.MustParsePrefix("192.168.1.0/24")
	v := n.Roster.Version
	if changed, err := n.Approve(bob, false, lan, true, t0); err != nil || !changed {
		t.Fatalf("approve route: %v %v", changed, err)
	}
	if changed, err := n.Approve(bob, true, netip.Prefix{}, true, t0); err != nil || !changed {
		t.Fatalf("approve exit: %v %v", changed, err)
	}
	if changed, _ := n.Approve(bob, true, netip.Prefix{}, true, t0); changed {
		t.Error("approving twice made a new roster")
	}
	if n.Roster.Version != v+2 {
		t.Errorf("version %d, want %d", n.Roster.Version, v+2)
	}
	// A member sees the approvals through the signed roster.
	m := memberView(t, n)
	exit, routes := m.Roster.Approved(bob)
	if !exit || !slices.Equal(routes, []netip.Prefix{lan}) {
		t.Errorf("member sees exit %v routes %v", exit, routes)
	}
	// Bad input changes nothing.
	v = n.Roster.Version
	for name, f := range map[string]func() error{
		"non-member": func() error { _, err := n.Approve(key.NewNode().Public(), true, netip.Prefix{}, true, t0); return err },
		"default route": func() error {
			_, err := n.Approve(bob, false, netip.MustParsePrefix("0.0.0.0/0"), true, t0)
			return err
		},
		"overlay": func() error {
			_, err := n.Approve(bob, false, netip.MustParsePrefix("100.64.0.0/12"), true, t0)
			return err
		},
		"member view": func() error { _, err := m.Approve(bob, true, netip.Prefix{}, true, t0); return err },
	} {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n.Roster.Version != v {
		t.Error("refused approvals changed the roster")
	}
	if changed, err := n.Approve(bob, true, netip.Prefix{}, false, t0); err != nil || !changed {
		t.Fatalf("unapprove: %v %v", changed, err)
	}
	if exit, _ := n.Roster.Approved(bob); exit {
		t.Error("exit node still approved")
	}
	if changed, _ := n.Approve(bob, false, netip.MustParsePrefix("10.0.0.0/8"), false, t0); changed {
		t.Error("unapproving a route never approved made a new roster")
	}
	// A removed member's approvals stop counting.
	if err := n.RemoveMember(bob, key.NodePublic{}, t0); err != nil {
		t.Fatal(err)
	}
	if _, routes := n.Roster.Approved(bob); routes != nil {
		t.Errorf("removed member keeps routes %v", routes)
	}
}

func TestRosterGrantChecks(t *testing.T) {
	n, adminKey := newAdminNetwork(t)
	self := adminKey.Public()
	lan := netip.MustParsePrefix("192.168.1.0/24")
	for name, gs := range map[string][]RouteGrant{
		"no node":     {{Exit: true, Approved: true}},
		"both":        {{Node: self, Exit: true, Prefix: lan, Approved: true}},
		"bad prefix":  {{Node: self, Prefix: netip.MustParsePrefix("100.64.0.0/10"), Approved: true}},
		"no prefix":   {{Node: self, Approved: true}},
		"duplicate":   {{Node: self, Prefix: lan, Approved: true}, {Node: self, Prefix: lan}},
		"too many":    make([]RouteGrant, MaxGrants+1),
		"non-canonic": {{Node: self, Prefix: netip.MustParsePrefix("192.168.1.9/24"), Approved: true}},
	} {
		r := n.Roster.clone()
		r.Grants = gs
		if _, err := signRaw(t, r, n.Secret).Verify(n.ID); err == nil {
			t.Errorf("%s: roster verified", name)
		}
	}
}

func TestGrantsMerge(t *testing.T) {
	lan := netip.MustParsePrefix("192.168.1.0/24")
	nas := netip.MustParsePrefix("198.18.78.0/24")
	for _, order := range []string{"a first", "b first"} {
		t.Run(order, func(t *testing.T) {
			a, b, _, dave := coAdmins(t)
			if _, err := a.Approve(dave, false, lan, true, t0); err != nil {
				t.Fatal(err)
			}
			deliver(t, a, b, t0)
			now := t0.Add(time.Hour)
			// Concurrently: a withdraws lan and approves the exit node;
			// b approves lan again (a no-op) and approves nas.
			if _, err := a.Approve(dave, false, lan, false, now); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Approve(dave, true, netip.Prefix{}, true, now); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Approve(dave, false, nas, true, now); err != nil {
				t.Fatal(err)
			}
			first, second := a, b
			if order == "b first" {
				first, second = b, a
			}
			for range 3 {
				deliver(t, first, second, now)
				deliver(t, second, first, now)
			}
			if string(a.Signed.Body) != string(b.Signed.Body) {
				t.Fatalf("admins disagree: versions %d and %d", a.Roster.Version, b.Roster.Version)
			}
			exit, routes := a.Roster.Approved(dave)
			if !exit || !slices.Equal(routes, []netip.Prefix{nas}) {
				t.Errorf("merged: exit %v routes %v, want exit and %v", exit, routes, nas)
			}
		})
	}
}

func TestGrantReplaces(t *testing.T) {
	yes := RouteGrant{Exit: true, Approved: true, Version: 5}
	no := RouteGrant{Exit: true, Version: 5}
	for _, tc := range []struct {
		g, o RouteGrant
		want bool
	}{
		{no, yes, true},   // a tie: the unapproval wins
		{yes, no, false},  // and is not undone
		{yes, yes, false}, // the same decision
		{RouteGrant{Exit: true, Approved: true, Version: 6}, no, true},
		{RouteGrant{Exit: true, Version: 4}, yes, false},
	} {
		if got := tc.g.replaces(tc.o); got != tc.want {
			t.Errorf("%+v replaces %+v = %v, want %v", tc.g, tc.o, got, tc.want)
		}
	}
}

func TestGrantNewerDecisionWins(t *testing.T) {
	a, b, _, dave := coAdmins(t)
	lan := netip.MustParsePrefix("192.168.1.0/24")
	if _, err := a.Approve(dave, false, lan, true, t0); err != nil {
		t.Fatal(err)
	}
	deliver(t, a, b, t0)
	// Same roster version: a withdraws lan, b approves the exit node and
	// still holds lan's older approval. Whichever roster wins the tie,
	// a's newer decision on lan stands.
	if _, err := a.Approve(dave, false, lan, false, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Approve(dave, true, netip.Prefix{}, true, t0); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		deliver(t, a, b, t0)
		deliver(t, b, a, t0)
	}
	for _, n := range []*Network{a, b} {
		exit, routes := n.Roster.Approved(dave)
		if !exit || len(routes) != 0 {
			t.Errorf("exit %v routes %v, want exit node only", exit, routes)
		}
	}
}
