package routeset

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
)

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// keys returns n node keys in ascending order.
func keys(n int) []key.NodePublic {
	ks := make([]key.NodePublic, n)
	for i := range ks {
		ks[i] = key.NewNode().Public()
	}
	slices.SortFunc(ks, func(a, b key.NodePublic) int { return bytes.Compare(a[:], b[:]) })
	return ks
}

// routes renders a set's routes as "prefix>peer".
func routes(s *Set[string]) []string {
	var out []string
	for _, r := range s.Routes {
		out = append(out, r.Prefix.String()+">"+r.Peer)
	}
	return out
}

func TestComputeSubnetRoutes(t *testing.T) {
	k := keys(3)
	a := Peer[string]{ID: "a", Key: k[0], Online: true}
	b := Peer[string]{ID: "b", Key: k[1], Online: true}
	c := Peer[string]{ID: "c", Key: k[2], Online: true}
	for _, tc := range []struct {
		name   string
		in     Input[string]
		want   []string
		carved []netip.Prefix
	}{
		{name: "none"},
		{
			name: "not accepted",
			in:   Input[string]{Peers: []Peer[string]{with(a, "192.168.1.0/24")}},
		},
		{
			name: "one route",
			in:   Input[string]{Accept: true, Peers: []Peer[string]{with(a, "192.168.1.0/24")}},
			want: []string{"192.168.1.0/24>a"},
		},
		{
			name: "most specific first, then by address",
			in: Input[string]{Accept: true, Peers: []Peer[string]{
				with(a, "10.0.0.0/8", "2001:db8::/32"), with(b, "10.1.0.0/16", "10.0.0.0/16"),
			}},
			want: []string{"2001:db8::/32>a", "10.0.0.0/16>b", "10.1.0.0/16>b", "10.0.0.0/8>a"},
		},
		{
			name: "same prefix: smaller key",
			in:   Input[string]{Accept: true, Peers: []Peer[string]{with(c, "10.0.0.0/8"), with(b, "10.0.0.0/8")}},
			want: []string{"10.0.0.0/8>b"},
		},
		{
			name: "same prefix: stable while the router is offline",
			in: Input[string]{Accept: true, Peers: []Peer[string]{
				offline(with(a, "10.0.0.0/8")), with(c, "10.0.0.0/8"), offline(with(b, "10.0.0.0/8")),
			}},
			want: []string{"10.0.0.0/8>a"},
		},
		{
			name: "a peer's underlay address is carved out",
			in: Input[string]{Accept: true, Peers: []Peer[string]{
				with(a, "198.18.78.0/30"), {ID: "b", Key: k[1], Underlay: addrs("198.18.78.2")},
			}},
			want:   []string{"198.18.78.3/32>a", "198.18.78.0/31>a"},
			carved: pfx("198.18.78.0/30"),
		},
		{
			name: "a relay's address is carved out",
			in: Input[string]{Accept: true, Relays: addrs("10.0.0.1"), Peers: []Peer[string]{
				with(a, "10.0.0.0/31"),
			}},
			want:   []string{"10.0.0.0/32>a"},
			carved: pfx("10.0.0.0/31"),
		},
		{
			name: "a route that is only an underlay host is dropped",
			in: Input[string]{Accept: true, Relays: addrs("10.9.9.9"), Peers: []Peer[string]{
				with(a, "10.9.9.9/32", "10.0.0.0/24"),
			}},
			want:   []string{"10.0.0.0/24>a"},
			carved: pfx("10.9.9.9/32"),
		},
		{
			name: "invalid routes are ignored",
			in:   Input[string]{Accept: true, Peers: []Peer[string]{with(a, "100.64.0.0/10", "0.0.0.0/0", "10.0.0.0/8")}},
			want: []string{"10.0.0.0/8>a"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Compute(tc.in)
			if got := routes(s); !slices.Equal(got, tc.want) {
				t.Errorf("routes %v, want %v", got, tc.want)
			}
			if !slices.Equal(s.Carved, tc.carved) {
				t.Errorf("carved %v, want %v", s.Carved, tc.carved)
			}
			if s.ExitSelected || len(s.Exclude) > 0 {
				t.Error("exit selected without a choice")
			}
			// No route may contain an underlay address.
			for _, r := range s.Routes {
				for _, u := range append(slices.Clone(tc.in.Relays), underlayOf(tc.in.Peers)...) {
					if r.Prefix.Contains(u) {
						t.Errorf("route %s captures underlay %s", r.Prefix, u)
					}
				}
			}
		})
	}
}

func with(p Peer[string], routes ...string) Peer[string] {
	p.Routes = pfx(routes...)
	return p
}

func offline(p Peer[string]) Peer[string] {
	p.Online = false
	return p
}

func underlayOf(ps []Peer[string]) []netip.Addr {
	var out []netip.Addr
	for _, p := range ps {
		out = append(out, p.Underlay...)
	}
	return out
}

func TestCarveCoversTheRest(t *testing.T) {
	p := netip.MustParsePrefix("10.0.0.0/24")
	holes := addrs("10.0.0.7", "10.0.0.200", "10.0.0.0")
	ps := []netip.Prefix{p}
	for _, h := range holes {
		ps = carve(ps, h)
	}
	for i := range 256 {
		a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
		n := 0
		for _, q := range ps {
			if q.Contains(a) {
				n++
			}
		}
		want := 1
		if slices.Contains(holes, a) {
			want = 0
		}
		if n != want {
			t.Errorf("%s covered %d times, want %d", a, n, want)
		}
	}
	v6 := carve(pfx("2001:db8::/32"), netip.MustParseAddr("2001:db8::1"))
	if len(v6) != 96 {
		t.Errorf("IPv6 /32 minus a host: %d prefixes, want 96", len(v6))
	}
}

func TestComputeExit(t *testing.T) {
	k := keys(3)
	exit := Peer[string]{ID: "x", Key: k[0], Online: true, ExitNode: true, Underlay: addrs("198.18.1.1")}
	other := Peer[string]{ID: "o", Key: k[1], Online: true, Underlay: addrs("198.18.2.2", "2001:db8::2")}
	for _, tc := range []struct {
		name    string
		peers   []Peer[string]
		choice  key.NodePublic
		state   string
		hasExit bool
	}{
		{"online", []Peer[string]{exit, other}, k[0], ExitOnline, true},
		{"offline", []Peer[string]{offline(exit), other}, k[0], ExitOffline, true},
		{"no approval or offer", []Peer[string]{exit, other}, k[1], ExitUnapproved, false},
		{"not a member", []Peer[string]{exit, other}, k[2], ExitUnapproved, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Compute(Input[string]{Peers: tc.peers, Exit: tc.choice, Relays: addrs("203.0.113.9")})
			if !s.ExitSelected || s.ExitState != tc.state || s.HasExit != tc.hasExit {
				t.Fatalf("selected %v state %q has %v, want true %q %v", s.ExitSelected, s.ExitState, s.HasExit, tc.state, tc.hasExit)
			}
			wantEx := pfx("198.18.1.1/32", "198.18.2.2/32", "203.0.113.9/32", "2001:db8::2/128")
			if !slices.Equal(s.Exclude, wantEx) {
				t.Errorf("exclude %v, want %v", s.Exclude, wantEx)
			}
			if tc.hasExit && s.Exit != "x" {
				t.Errorf("exit peer %q, want x", s.Exit)
			}
		})
	}
	s := Compute(Input[string]{Peers: []Peer[string]{exit}})
	if s.ExitSelected || s.HasExit || len(s.Exclude) > 0 {
		t.Error("no exit node chosen, but the set has one")
	}
}

func TestServes(t *testing.T) {
	s := Compute(Input[string]{ServeRoutes: pfx("198.18.78.0/24", "10.0.0.0/8")})
	if !s.Forward() || !slices.Equal(s.ServeRoutes, pfx("10.0.0.0/8", "198.18.78.0/24")) {
		t.Errorf("subnet router: forward %v routes %v", s.Forward(), s.ServeRoutes)
	}
	if s = Compute(Input[string]{ServeExit: true}); !s.Forward() || !s.ServeExit {
		t.Error("exit node does not forward")
	}
	if Compute(Input[string]{}).Forward() {
		t.Error("forwarding without serving")
	}
}

func TestCarveBounded(t *testing.T) {
	k := keys(2)
	var many []netip.Addr
	for i := range 4096 {
		many = append(many, netip.AddrFrom4([4]byte{10, 1, byte(i >> 4), byte(i&15) << 4})) // spread out
	}
	s := Compute(Input[string]{Accept: true, Peers: []Peer[string]{
		{ID: "a", Key: k[0], Routes: pfx("10.1.0.0/16", "10.2.0.0/16")},
		{ID: "b", Key: k[1], Underlay: many},
	}})
	// 10.1.0.0/16 would need thousands of pieces: left out; 10.2 stays.
	if got := routes(s); !slices.Equal(got, []string{"10.2.0.0/16>a"}) {
		t.Errorf("routes %v", got)
	}
	if !slices.Equal(s.Carved, pfx("10.1.0.0/16")) {
		t.Errorf("carved %v", s.Carved)
	}
}
