package disco

import (
	"sync/atomic"
	"time"
)

// Stamp is a message's send time by its sender's clock, in Unix
// nanoseconds, strictly increasing across one process's messages.
type Stamp uint64

// Freshness limits.
const (
	// MaxClockSkew bounds how far a message's stamp may be from the
	// receiver's clock, either way: a message captured longer ago cannot
	// be replayed, even to a receiver that has no Window for its sender
	// yet. Peers' clocks must agree this well for direct paths (relayed
	// traffic does not depend on it).
	MaxClockSkew = 5 * time.Minute
	// ReorderWindow is how far behind the newest stamp accepted from a
	// sender a message may be and still be accepted (once): pings sent
	// together to several addresses, or through a relay, arrive out of
	// order.
	ReorderWindow = 5 * time.Second
	// windowSlots is how many recent stamps a Window remembers exactly.
	windowSlots = 64
)

// lastStamp is the newest stamp handed out in this process.
var lastStamp atomic.Uint64

// nextStamp returns the time now as a Stamp, later than every stamp
// handed out before by a clock that agrees with now within MaxClockSkew.
// A clock further behind (the wall clock stepped back, or the virtual
// clock of a testing/synctest bubble) starts again from now: stamps
// following the old clock would be refused as too far ahead anyway.
func nextStamp() Stamp {
	return stampAt(time.Now())
}

func stampAt(now time.Time) Stamp {
	for {
		last := lastStamp.Load()
		s := uint64(max(now.UnixNano(), 0))
		if last >= s && last-s < uint64(MaxClockSkew) {
			s = last + 1
		}
		if lastStamp.CompareAndSwap(last, s) {
			return Stamp(s)
		}
	}
}

// A Window tracks the stamps accepted from one sender. The zero Window
// is ready; it is not safe for concurrent use.
type Window struct {
	newest Stamp
	floor  Stamp // every stamp up to floor counts as seen
	seen   [windowSlots]Stamp
	next   int
}

// Accept reports whether a verified message stamped s, received at now,
// is fresh and new, and if so records it: s is within MaxClockSkew of
// now, within ReorderWindow of the newest stamp accepted, and not
// accepted before.
func (w *Window) Accept(s Stamp, now time.Time) bool {
	n := now.UnixNano()
	if n < 0 || int64(s) < 0 || absDiff(int64(s), n) > int64(MaxClockSkew) {
		return false
	}
	if s <= w.floor || w.newest > s && int64(w.newest-s) > int64(ReorderWindow) {
		return false
	}
	for _, old := range w.seen {
		if old == s {
			return false
		}
	}
	// The oldest entry leaves the ring; what it remembered is covered by
	// the floor from now on.
	w.floor = max(w.floor, w.seen[w.next])
	w.seen[w.next] = s
	w.next = (w.next + 1) % windowSlots
	w.newest = max(w.newest, s)
	return true
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
