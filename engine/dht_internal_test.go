package engine

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestRendezvousSlots: two members whose loops start at different times
// wake on the same wall-clock instants, on virtual time.
func TestRendezvousSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wakes := func(delay time.Duration, n int) []time.Time {
			time.Sleep(delay)
			var out []time.Time
			for range n {
				now := time.Now()
				time.Sleep(nextSlot(now, dhtSlot).Sub(now))
				out = append(out, time.Now())
			}
			return out
		}
		var a, b []time.Time
		done := make(chan struct{})
		go func() { a = wakes(1300*time.Millisecond, 3); close(done) }()
		b = wakes(7900*time.Millisecond, 3)
		<-done
		for i := range a {
			if !a[i].Equal(b[i]) || a[i].UnixNano()%int64(dhtSlot) != 0 {
				t.Fatalf("slot %d: a woke at %v, b at %v", i, a[i], b[i])
			}
		}
		if a[1].Sub(a[0]) != dhtSlot {
			t.Fatalf("slots %v apart, want %v", a[1].Sub(a[0]), dhtSlot)
		}
	})
}

func TestNextSlot(t *testing.T) {
	base := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ at, want time.Duration }{
		{0, 10 * time.Second},
		{time.Nanosecond, 10 * time.Second},
		{9999 * time.Millisecond, 10 * time.Second},
		{10 * time.Second, 20 * time.Second},
	} {
		if got := nextSlot(base.Add(tc.at), dhtSlot); !got.Equal(base.Add(tc.want)) {
			t.Errorf("nextSlot(+%v) = %v, want +%v", tc.at, got.Sub(base), tc.want)
		}
	}
}
