package router

import (
	"net/netip"
	"testing"
)

func TestTable(t *testing.T) {
	a := netip.MustParseAddr("100.64.0.2")
	b := netip.MustParseAddr("100.64.0.3")
	v6 := netip.MustParseAddr("fd72:6179:6669::1:2")
	var tbl Table[string]
	if _, ok := tbl.Lookup(a); ok {
		t.Fatal("empty table found an address")
	}
	var bl Builder[string]
	bl.Add(a, "alice")
	bl.Add(v6, "alice")
	bl.Add(b, "bob")
	bl.Add(a, "mallory") // conflict: first owner stays
	tbl.Install(&bl)
	tests := []struct {
		addr netip.Addr
		want string
		ok   bool
	}{
		{a, "alice", true},
		{v6, "alice", true},
		{b, "bob", true},
		{netip.MustParseAddr("100.64.0.4"), "", false},
	}
	for _, tc := range tests {
		got, ok := tbl.Lookup(tc.addr)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Lookup(%v) = %q,%v want %q,%v", tc.addr, got, ok, tc.want, tc.ok)
		}
	}
	if len(bl.Conflicts) != 1 || bl.Conflicts[0] != a {
		t.Errorf("conflicts = %v", bl.Conflicts)
	}
	if !tbl.Owns("alice", v6) || tbl.Owns("bob", a) || tbl.Owns("mallory", a) {
		t.Error("Owns gave a wrong answer")
	}
	if n := testing.AllocsPerRun(100, func() { tbl.Lookup(a) }); n != 0 {
		t.Errorf("Lookup allocates %v", n)
	}
}
