package ui

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/ui/state"
)

// uiLoop runs dispatched functions one at a time on its own goroutine, as
// Fyne's main loop does; do runs fn there and waits for it.
type uiLoop struct{ ch chan func() }

func newUILoop(t *testing.T) *uiLoop {
	l := &uiLoop{ch: make(chan func(), 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for fn := range l.ch {
			fn()
		}
	}()
	t.Cleanup(func() { close(l.ch); <-done })
	return l
}

func (l *uiLoop) dispatch(fn func()) { l.ch <- fn }

func (l *uiLoop) do(fn func()) {
	ran := make(chan struct{})
	l.ch <- func() { fn(); close(ran) }
	<-ran
}

// TestThrottleLastValueLands feeds a value that changes every 100 ms (or
// at random gaps) into a throttled redraw and checks, on virtual time,
// that redraws are at least an interval apart and that the last value is
// on screen at most an interval after it arrived: nothing stays stale.
func TestThrottleLastValueLands(t *testing.T) {
	const interval = 2500 * time.Millisecond
	for _, tc := range []struct {
		name string
		gaps []time.Duration // between updates
	}{
		{"steady 100ms", repeat(100*time.Millisecond, 100)},
		{"steady 1s", repeat(time.Second, 20)},
		{"one update", nil},
		{"burst then quiet", append(repeat(10*time.Millisecond, 30), 7*time.Second, 10*time.Millisecond)},
		{"just past the interval", repeat(interval+time.Millisecond, 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newUILoop(t)
				var value, shown int // UI goroutine only
				var runs []time.Time
				th := NewThrottle(interval, l.dispatch, func() {
					shown = value
					runs = append(runs, time.Now())
				})
				start := time.Now()
				update := func() {
					l.do(func() {
						value++
						th.Kick()
					})
				}
				update()
				for _, g := range tc.gaps {
					time.Sleep(g)
					update()
				}
				last := time.Now()
				time.Sleep(interval)
				synctest.Wait()
				l.do(func() {
					if shown != value {
						t.Errorf("an interval after the last update: shown %d, want the last value %d", shown, value)
					}
					if th.Pending() {
						t.Error("a redraw is still pending an interval after the last update")
					}
				})
				for i := 1; i < len(runs); i++ {
					if d := runs[i].Sub(runs[i-1]); d < interval {
						t.Errorf("redraws %d and %d only %v apart, want >= %v", i-1, i, d, interval)
					}
				}
				if max := int(last.Sub(start)/interval) + 2; len(runs) > max {
					t.Errorf("%d redraws over %v, want at most %d", len(runs), last.Sub(start), max)
				}
				if len(runs) == 0 || !runs[0].Equal(start) {
					t.Errorf("the first update was not drawn at once: redraws at %v", runs)
				}
			})
		})
	}
}

func TestThrottleStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newUILoop(t)
		runs := 0
		th := NewThrottle(time.Second, l.dispatch, func() { runs++ })
		l.do(func() { th.Kick(); th.Kick() }) // the second is deferred
		l.do(func() {
			th.Stop()
			th.Stop()
			th.Kick()
		})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		l.do(func() {
			if runs != 1 {
				t.Errorf("%d runs, want only the first (the deferred one was stopped)", runs)
			}
		})
	})
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestCoalesceBurst checks that a burst of stream events decoded over a
// few milliseconds reaches the views as one change, that every event of
// it is applied in order, and that a lone event lands within Coalesce.
func TestCoalesceBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const coalesce = 100 * time.Millisecond
		l := newUILoop(t)
		c := New(Config{Dispatch: l.dispatch, Coalesce: coalesce})
		var applied []int // UI goroutine only
		changes := 0
		c.OnChange(func(*state.Model) { changes++ })
		check := func(what string, wantApplied, wantChanges int) {
			t.Helper()
			synctest.Wait()
			l.do(func() {
				if len(applied) != wantApplied || changes != wantChanges {
					t.Errorf("%s: %d events applied in %d changes, want %d in %d", what, len(applied), changes, wantApplied, wantChanges)
				}
				for i, v := range applied {
					if v != i {
						t.Fatalf("%s: events applied out of order: %v", what, applied)
					}
				}
			})
		}
		n := 0
		queue := func(k int) {
			for range k {
				v := n
				n++
				c.queueApply(func() { applied = append(applied, v) })
				time.Sleep(50 * time.Microsecond)
			}
		}
		queue(40)
		check("before Coalesce is up", 0, 0)
		time.Sleep(coalesce)
		check("a burst of 40", 40, 1)
		time.Sleep(time.Second)
		queue(40)
		time.Sleep(coalesce)
		check("the next second's burst", 80, 2)
		for i := range 3 {
			time.Sleep(time.Second)
			queue(1)
			time.Sleep(coalesce)
			check("a lone event", 81+i, 3+i)
		}
		queue(1)
		c.Close()
		time.Sleep(time.Second)
		check("an event queued just before Close (dropped)", 83, 5)
	})
}
