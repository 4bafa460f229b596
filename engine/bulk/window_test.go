package bulk

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

func TestWindow(t *testing.T) {
	type step struct {
		c    uint64
		want error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first zero", []step{{0, nil}, {0, ErrReplay}, {1, nil}}},
		{"first far", []step{{100000, nil}, {100000, ErrReplay}, {99999, nil}}},
		{"in order", []step{{0, nil}, {1, nil}, {2, nil}, {3, nil}}},
		{"reorder", []step{{5, nil}, {3, nil}, {4, nil}, {0, nil}, {3, ErrReplay}, {6, nil}}},
		{"edge of window", []step{
			{WindowSize, nil},
			{0, ErrTooOld},
			{1, nil},
			{1, ErrReplay},
		}},
		{"block boundaries", []step{{63, nil}, {64, nil}, {127, nil}, {128, nil}, {63, ErrReplay}, {65, nil}}},
		{"jump clears the ring", []step{
			{1, nil},
			{1 + ringBlocks*blockBits, nil},       // same ring slot as 1, a full turn later
			{1 + ringBlocks*blockBits, ErrReplay}, // ...so its bit is now set
			{1 + (ringBlocks-1)*blockBits, nil},   // newest - WindowSize: still inside, was clear
			{1 + blockBits, ErrTooOld},
		}},
		{"huge jump", []step{{7, nil}, {1 << 62, nil}, {7, ErrTooOld}, {1<<62 - 7, nil}, {1<<62 - 7, ErrReplay}}},
		{"max counter", []step{{^uint64(0), nil}, {^uint64(0), ErrReplay}, {^uint64(0) - WindowSize + 1, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w window
			for i, s := range tt.steps {
				hint := w.check(s.c)
				got := w.commit(s.c)
				if got != s.want {
					t.Fatalf("step %d: commit(%d) = %v, want %v", i, s.c, got, s.want)
				}
				if hint != s.want {
					t.Fatalf("step %d: check(%d) = %v, commit says %v", i, s.c, hint, got)
				}
			}
		})
	}
}

// TestWindowCountsLate: late counts accepted packets that came after a
// newer one, never replays, refusals or packets in order.
func TestWindowCountsLate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cs   []uint64
		late uint64
	}{
		{"in order", []uint64{0, 1, 2, 3, 10, 11}, 0},
		{"gaps are not late", []uint64{1, 5, 9, 100}, 0},
		{"reorder", []uint64{5, 3, 4, 0, 3, 6}, 3},     // 3, 4, 0 (the second 3 is a replay)
		{"replays", []uint64{2, 1, 2, 1, 1, 3}, 1},     // the first 1; the rest are replays
		{"too old", []uint64{WindowSize + 5, 0, 6}, 1}, // 0 refused, 6 late
	} {
		t.Run(tt.name, func(t *testing.T) {
			var w window
			var shared atomic.Uint64
			w.shared = &shared
			for _, c := range tt.cs {
				w.commit(c)
			}
			if got := w.late.Load(); got != tt.late || shared.Load() != tt.late {
				t.Errorf("late = %d, shared %d, want %d", got, shared.Load(), tt.late)
			}
		})
	}
}

// refWindow is the slow, obviously right window: every accepted counter
// in a set.
type refWindow struct {
	seen   map[uint64]bool
	newest uint64
}

func (r *refWindow) commit(c uint64) error {
	if c <= r.newest && r.newest-c >= WindowSize {
		return ErrTooOld
	}
	if r.seen[c] {
		return ErrReplay
	}
	r.seen[c] = true
	r.newest = max(r.newest, c)
	return nil
}

// TestWindowRandom compares window with refWindow on random streams: mostly
// increasing counters with jitter, duplicates, stale and far-future ones.
func TestWindowRandom(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 77))
		var w window
		ref := refWindow{seen: make(map[uint64]bool)}
		var base uint64
		for i := range 20000 {
			var c uint64
			switch k := rng.IntN(100); {
			case k < 60:
				base += uint64(rng.IntN(3))
				c = base
			case k < 80: // reordered, mostly within the window
				c = base - min(base, uint64(rng.IntN(WindowSize+200)))
			case k < 95: // repeat of something recent
				c = base - min(base, uint64(rng.IntN(100)))
			case k < 99: // jump
				base += uint64(rng.IntN(3 * WindowSize))
				c = base
			default: // way back
				c = uint64(rng.IntN(int(base) + 1))
			}
			hint := w.check(c)
			got, want := w.commit(c), ref.commit(c)
			if got != want {
				t.Fatalf("seed %d step %d: commit(%d) with newest %d = %v, reference %v", seed, i, c, ref.newest, got, want)
			}
			if hint != want {
				t.Fatalf("seed %d step %d: check(%d) = %v, reference %v", seed, i, c, hint, want)
			}
		}
	}
}
