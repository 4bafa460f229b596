// Package router maps overlay addresses to peers. Lookups run once per
// packet, lock-free, against an immutable table that the engine replaces
// whenever membership changes.
package router

import (
	"net/netip"
	"sync/atomic"
)

// Table maps overlay addresses to peers of type P.
type Table[P comparable] struct {
	m atomic.Pointer[map[netip.Addr]P]
}

// Lookup returns the peer owning addr.
func (t *Table[P]) Lookup(addr netip.Addr) (P, bool) {
	var zero P
	m := t.m.Load()
	if m == nil {
		return zero, false
	}
	p, ok := (*m)[addr]
	return p, ok
}

// Owns reports whether addr belongs to p: the inbound source check that
// stops a peer from speaking with another peer's address.
func (t *Table[P]) Owns(p P, addr netip.Addr) bool {
	q, ok := t.Lookup(addr)
	return ok && q == p
}

// Builder collects a new table. The first owner of an address wins; later
// claims are reported as conflicts.
type Builder[P comparable] struct {
	m         map[netip.Addr]P
	Conflicts []netip.Addr
}

// Add claims addr for p.
func (b *Builder[P]) Add(addr netip.Addr, p P) {
	if b.m == nil {
		b.m = make(map[netip.Addr]P)
	}
	if q, ok := b.m[addr]; ok && q != p {
		b.Conflicts = append(b.Conflicts, addr)
		return
	}
	b.m[addr] = p
}

// Install replaces t's contents with what b collected.
func (t *Table[P]) Install(b *Builder[P]) {
	m := b.m
	if m == nil {
		m = map[netip.Addr]P{}
	}
	t.m.Store(&m)
}

// Len returns the number of addresses in the table.
func (t *Table[P]) Len() int {
	m := t.m.Load()
	if m == nil {
		return 0
	}
	return len(*m)
}
