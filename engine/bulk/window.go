package bulk

import (
	"sync"
	"sync/atomic"
)

// The replay window is WireGuard's ring of bitmap blocks (RFC 6479): the
// bit for counter c lives in block (c/64) mod ringBlocks. When the newest
// counter moves into a new block, the blocks it skips are cleared. One
// block is kept spare so the oldest counter still in the window never
// shares a block with the newest.
const (
	blockBits  = 64
	ringBlocks = 128

	// WindowSize is how far behind the newest accepted counter a packet
	// may be and still be accepted (once).
	WindowSize = (ringBlocks - 1) * blockBits
)

// window tracks which counters a Receiver has accepted.
//
// commit is authoritative and runs under mu. check runs without the lock
// before decryption, to drop obvious replays without paying for the AEAD;
// its answer is a hint, but never a wrong rejection: commit clears the
// blocks it moves over before it publishes the new last, and check loads
// last before the block, so a block check reads is never stale for last.
// Fields are atomic so that check is race-free; only commit writes them.
type window struct {
	mu   sync.Mutex
	last atomic.Uint64 // newest accepted counter (0 before the first)
	ring [ringBlocks]atomic.Uint64
	// late counts counters accepted after a newer one: packets that
	// arrived out of order (the path's doing, or a sender's queues').
	late atomic.Uint64
	// shared, if set, counts the same as late for a whole data plane.
	shared *atomic.Uint64
}

// check reports whether c could still be accepted: nil, ErrReplay or
// ErrTooOld. It does not change the window.
func (w *window) check(c uint64) error {
	last := w.last.Load()
	if c > last {
		return nil
	}
	if last-c >= WindowSize {
		return ErrTooOld
	}
	if w.ring[(c/blockBits)%ringBlocks].Load()&(1<<(c%blockBits)) != 0 {
		return ErrReplay
	}
	return nil
}

// commit marks c accepted, or returns ErrReplay or ErrTooOld if it cannot
// be.
func (w *window) commit(c uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := w.last.Load()
	switch {
	case c > last:
		cur, next := last/blockBits, c/blockBits
		if d := next - cur; d >= ringBlocks {
			for i := range w.ring {
				w.ring[i].Store(0)
			}
		} else {
			for b := cur + 1; b <= next; b++ {
				w.ring[b%ringBlocks].Store(0)
			}
		}
		w.last.Store(c)
	case last-c >= WindowSize:
		return ErrTooOld
	}
	blk := &w.ring[(c/blockBits)%ringBlocks]
	old := blk.Load()
	bit := uint64(1) << (c % blockBits)
	if old&bit != 0 {
		return ErrReplay
	}
	blk.Store(old | bit)
	if c < last {
		w.late.Add(1)
		if w.shared != nil {
			w.shared.Add(1)
		}
	}
	return nil
}
