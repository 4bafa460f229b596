package router

import (
	"net/netip"
	"testing"
)

var (
	alice = netip.MustParseAddr("100.64.0.2")
	bob   = netip.MustParseAddr("100.64.0.3")
	self4 = netip.MustParseAddr("100.64.0.1")
	v6    = netip.MustParseAddr("fd72:6179:6669::1:2")
)

func TestTable(t *testing.T) {
	var tbl Table[string]
	if _, ok := tbl.Lookup(alice); ok {
		t.Fatal("empty table found an address")
	}
	if tbl.Owns("", alice) || tbl.IsLocal(alice) || tbl.Len() != 0 {
		t.Fatal("empty table owns an address")
	}
	var bl Builder[string]
	bl.AddLocal(self4)
	bl.Add(alice, "alice")
	bl.Add(v6, "alice")
	bl.Add(bob, "bob")
	bl.Add(alice, "mallory") // conflict: first owner stays
	bl.Add(self4, "mallory") // ours: a conflict too
	tbl.Install(&bl)
	tests := []struct {
		addr netip.Addr
		want string
		ok   bool
	}{
		{alice, "alice", true},
		{v6, "alice", true},
		{bob, "bob", true},
		{self4, "", false}, // ours: no peer
		{netip.MustParseAddr("100.64.0.4"), "", false},
	}
	for _, tc := range tests {
		got, ok := tbl.Lookup(tc.addr)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Lookup(%v) = %q,%v want %q,%v", tc.addr, got, ok, tc.want, tc.ok)
		}
	}
	if len(bl.Conflicts) != 2 || bl.Conflicts[0] != alice || bl.Conflicts[1] != self4 {
		t.Errorf("conflicts = %v", bl.Conflicts)
	}
	if !tbl.Owns("alice", v6) || tbl.Owns("bob", alice) || tbl.Owns("mallory", alice) || tbl.Owns("", self4) {
		t.Error("Owns gave a wrong answer")
	}
	if !tbl.IsLocal(self4) || tbl.IsLocal(alice) {
		t.Error("IsLocal gave a wrong answer")
	}
	if tbl.Len() != 4 {
		t.Errorf("Len = %d, want 4", tbl.Len())
	}
}

// routes is the table of TestPrefixes: exact addresses, nested and equal
// prefixes, and (if exit is set) a default peer.
func routes(exit string) *Table[string] {
	var b Builder[string]
	b.AddLocal(self4)
	b.Add(alice, "alice")
	b.Add(bob, "bob")
	b.AddPrefix(netip.MustParsePrefix("10.0.0.0/8"), "alice")
	b.AddPrefix(netip.MustParsePrefix("10.1.0.0/16"), "bob")
	b.AddPrefix(netip.MustParsePrefix("10.1.2.99/24"), "carol")  // host bits ignored
	b.AddPrefix(netip.MustParsePrefix("10.1.2.0/24"), "dave")    // same prefix, added later
	b.AddPrefix(netip.MustParsePrefix("100.64.0.0/24"), "carol") // holds alice's and our addresses
	b.AddPrefix(netip.MustParsePrefix("fd00:1::/32"), "dave")
	if exit != "" {
		b.SetDefault(exit)
	}
	var t Table[string]
	t.Install(&b)
	return &t
}

func TestPrefixes(t *testing.T) {
	tests := []struct {
		name string
		exit string
		addr string
		want string // "" = no peer
	}{
		{"exact beats prefix", "", "100.64.0.2", "alice"},
		{"ours beats prefix", "", "100.64.0.1", ""},
		{"prefix around exact", "", "100.64.0.9", "carol"},
		{"short prefix", "", "10.9.9.9", "alice"},
		{"longer prefix", "", "10.1.9.9", "bob"},
		{"longest prefix", "", "10.1.2.3", "carol"},
		{"v6 prefix", "", "fd00:1::5", "dave"},
		{"no route", "", "192.0.2.1", ""},
		{"no route v6", "", "2001:db8::1", ""},
		{"default", "exit", "192.0.2.1", "exit"},
		{"default v6", "exit", "2001:db8::1", "exit"},
		{"prefix beats default", "exit", "10.9.9.9", "alice"},
		{"ours not to default", "exit", "100.64.0.1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := routes(tc.exit).Lookup(netip.MustParseAddr(tc.addr))
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Lookup(%s) = %q,%v want %q", tc.addr, got, ok, tc.want)
			}
		})
	}
}

func TestOwnsSource(t *testing.T) {
	tests := []struct {
		name string
		exit string
		peer string
		src  string
		want bool
	}{
		{"own address", "", "alice", "100.64.0.2", true},
		{"another peer's address", "", "bob", "100.64.0.2", false},
		{"exit may not use a peer's address", "exit", "exit", "100.64.0.2", false},
		{"nobody sends from ours", "exit", "exit", "100.64.0.1", false},
		{"its prefix", "", "alice", "10.9.9.9", true},
		{"a longer prefix is another's", "", "alice", "10.1.9.9", false},
		{"its longer prefix", "", "bob", "10.1.9.9", true},
		{"equal prefixes: first", "", "carol", "10.1.2.3", true},
		{"equal prefixes: second", "", "dave", "10.1.2.3", true},
		{"equal prefixes: not the shorter one's", "", "bob", "10.1.2.3", false},
		{"unrouted without exit", "", "alice", "192.0.2.1", false},
		{"unrouted from exit", "exit", "exit", "192.0.2.1", true},
		{"unrouted from another", "exit", "alice", "192.0.2.1", false},
		{"routed prefix not from exit", "exit", "exit", "10.9.9.9", false},
		{"v6 prefix", "", "dave", "fd00:1::5", true},
		{"v6 unrouted from exit", "exit", "exit", "2001:db8::1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := routes(tc.exit).Owns(tc.peer, netip.MustParseAddr(tc.src)); got != tc.want {
				t.Errorf("Owns(%s, %s) = %v, want %v", tc.peer, tc.src, got, tc.want)
			}
		})
	}
}

// TestTableAllocs: the per-packet calls allocate nothing, whichever
// step answers.
func TestTableAllocs(t *testing.T) {
	tbl := routes("exit")
	for _, a := range []string{"100.64.0.2", "10.1.2.3", "192.0.2.1"} {
		addr := netip.MustParseAddr(a)
		if n := testing.AllocsPerRun(100, func() {
			tbl.Lookup(addr)
			tbl.Owns("alice", addr)
			tbl.IsLocal(addr)
		}); n != 0 {
			t.Errorf("%s: %v allocations", a, n)
		}
	}
}

// BenchmarkLookup: the per-packet route lookups, by the step that
// answers.
func BenchmarkLookup(b *testing.B) {
	for _, tc := range []struct{ name, addr string }{
		{"exact", "100.64.0.2"},
		{"prefix", "10.1.2.3"},
		{"default", "192.0.2.1"},
	} {
		tbl := routes("exit")
		addr := netip.MustParseAddr(tc.addr)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tbl.Lookup(addr)
			}
		})
	}
}
