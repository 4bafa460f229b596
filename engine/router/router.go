// Package router maps destination addresses to peers. Lookups run once
// per packet, lock-free and without allocating, against an immutable
// table that the engine replaces whenever membership or routes change.
//
// A table holds, in the order a lookup tries them:
//
//   - exact addresses: each peer's overlay addresses, and our own
//     (local) ones, which route nowhere;
//   - prefixes routed to a peer (subnet routes), longest prefix first,
//     and among equal prefixes the one added first;
//   - an optional default peer (the exit node) for everything else.
//
// The same table answers the inbound source check (Owns).
package router

import (
	"cmp"
	"net/netip"
	"slices"
	"sync/atomic"

	"github.com/rayfish/rayfish/engine/key"
)

// Table maps addresses to peers of type P. The zero Table is empty.
type Table[P comparable] struct {
	t atomic.Pointer[table[P]]
}

// entry is an exact address: a peer's, or ours (local).
type entry[P comparable] struct {
	p     P
	local bool
}

// route is a prefix routed to a peer.
type route[P comparable] struct {
	pfx netip.Prefix
	p   P
}

// table is one immutable snapshot.
type table[P comparable] struct {
	exact    map[netip.Addr]entry[P]
	prefixes []route[P] // longest first; equal lengths in the order added
	def      P
	hasDef   bool
}

// Lookup returns the peer that packets to addr go to: its exact owner,
// else the peer of the longest prefix holding it, else the default peer.
// Our own addresses go to no peer.
func (t *Table[P]) Lookup(addr netip.Addr) (P, bool) {
	var zero P
	tb := t.t.Load()
	if tb == nil {
		return zero, false
	}
	if e, ok := tb.exact[addr]; ok {
		return e.p, !e.local
	}
	for i := range tb.prefixes {
		if tb.prefixes[i].pfx.Contains(addr) {
			return tb.prefixes[i].p, true
		}
	}
	return tb.def, tb.hasDef
}

// Owns reports whether p may send packets from addr: the inbound source
// check that stops a peer from speaking with another's address. A peer
// owns its own addresses, addresses in the prefixes routed to it (when
// no longer prefix routes them elsewhere; equal prefixes routed to
// several peers are each peer's), and, if it is the default peer, any
// address no one else owns outside the overlay ranges. Our own addresses
// are no peer's.
func (t *Table[P]) Owns(p P, addr netip.Addr) bool {
	tb := t.t.Load()
	if tb == nil {
		return false
	}
	if e, ok := tb.exact[addr]; ok {
		return !e.local && e.p == p
	}
	for i, r := range tb.prefixes {
		if !r.pfx.Contains(addr) {
			continue
		}
		// The longest match; equal prefixes follow it.
		for _, q := range tb.prefixes[i:] {
			if q.pfx.Bits() != r.pfx.Bits() {
				break
			}
			if q.p == p && q.pfx == r.pfx {
				return true
			}
		}
		return false
	}
	// Not an overlay address, though: those belong to their owners
	// alone, and one no one holds here is no one's to use.
	return tb.hasDef && tb.def == p && !key.CGNATPrefix.Contains(addr) && !key.ULAPrefix.Contains(addr)
}

// IsLocal reports whether addr is one of our own addresses.
func (t *Table[P]) IsLocal(addr netip.Addr) bool {
	tb := t.t.Load()
	if tb == nil {
		return false
	}
	e, ok := tb.exact[addr]
	return ok && e.local
}

// Builder collects a new table. The first claim of an exact address wins;
// later claims are reported as conflicts.
type Builder[P comparable] struct {
	exact     map[netip.Addr]entry[P]
	prefixes  []route[P]
	def       P
	hasDef    bool
	Conflicts []netip.Addr
}

// Add claims addr for p.
func (b *Builder[P]) Add(addr netip.Addr, p P) { b.add(addr, entry[P]{p: p}) }

// AddLocal claims addr as ours: it routes to no peer, and no peer may
// send from it.
func (b *Builder[P]) AddLocal(addr netip.Addr) { b.add(addr, entry[P]{local: true}) }

func (b *Builder[P]) add(addr netip.Addr, e entry[P]) {
	if b.exact == nil {
		b.exact = make(map[netip.Addr]entry[P])
	}
	if q, ok := b.exact[addr]; ok && q != e {
		b.Conflicts = append(b.Conflicts, addr)
		return
	}
	b.exact[addr] = e
}

// AddPrefix routes pfx to p (a subnet route). Its host bits are ignored.
func (b *Builder[P]) AddPrefix(pfx netip.Prefix, p P) {
	b.prefixes = append(b.prefixes, route[P]{pfx: pfx.Masked(), p: p})
}

// SetDefault routes every address nothing else claims to p (the exit
// node).
func (b *Builder[P]) SetDefault(p P) { b.def, b.hasDef = p, true }

// Install replaces t's contents with what b collected. b may be reused
// afterwards only for a new table.
func (t *Table[P]) Install(b *Builder[P]) {
	tb := &table[P]{exact: b.exact, def: b.def, hasDef: b.hasDef}
	if tb.exact == nil {
		tb.exact = map[netip.Addr]entry[P]{}
	}
	tb.prefixes = slices.Clone(b.prefixes)
	slices.SortStableFunc(tb.prefixes, func(x, y route[P]) int {
		return cmp.Compare(y.pfx.Bits(), x.pfx.Bits())
	})
	t.t.Store(tb)
}

// Len returns the number of exact addresses in the table, ours included.
func (t *Table[P]) Len() int {
	tb := t.t.Load()
	if tb == nil {
		return 0
	}
	return len(tb.exact)
}
