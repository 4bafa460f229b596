package ui

import (
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// driverLoop stands in for Fyne's desktop main loop (glfw runGL): one
// goroutine that either runs a queued function or, on a 60 Hz ticker,
// polls the window system and draws. polls counts those ticks handled.
type driverLoop struct {
	queue chan func()
	stop  chan struct{}
	done  chan struct{}
	polls int // loop goroutine only until done is closed
}

const driverTick = time.Second / 60

func newDriverLoop() *driverLoop {
	l := &driverLoop{queue: make(chan func(), 1024), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(driverTick)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case fn := <-l.queue:
				fn()
			case <-tick.C:
				l.polls++
			}
		}
	}()
	return l
}

// do is fyne.Do: queue fn without waiting.
func (l *driverLoop) do(fn func()) { l.queue <- fn }

// close ends the loop (after p.Stop, so no park is queued any more).
func (l *driverLoop) close() int {
	close(l.stop)
	<-l.done
	return l.polls
}

// onLoop runs fn on the loop goroutine through its own queue (a tray menu
// click: Fyne's runOnMain) and returns when it ran.
func (l *driverLoop) onLoop(fn func()) {
	ran := make(chan struct{})
	l.do(func() { fn(); close(ran) })
	<-ran
}

// TestParkerSlowsTheLoopWhileHidden counts the driver loop's polls over
// ten seconds of virtual time: 60 a second while the window shows, at
// most two per slice while it is hidden, and back to 60 once shown again.
func TestParkerSlowsTheLoopWhileHidden(t *testing.T) {
	const span = 10 * time.Second
	for _, tc := range []struct {
		name   string
		hidden bool
		slice  time.Duration
	}{
		{"shown", false, 250 * time.Millisecond},
		{"hidden 250ms", true, 250 * time.Millisecond},
		{"hidden 1s", true, time.Second},
		{"hidden 50ms", true, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newDriverLoop()
				p := NewParker(l.do, tc.slice)
				if tc.hidden {
					p.Hidden()
				}
				count := func() int {
					var n int
					l.onLoop(func() { n = l.polls })
					return n
				}
				before := count()
				time.Sleep(span)
				polls := count() - before
				perSlice := int(span / tc.slice)
				if tc.hidden && (polls > 2*perSlice+1 || polls < 1) {
					t.Errorf("hidden: %d polls in %v, want 1…%d (slice %v)", polls, span, 2*perSlice+1, tc.slice)
				}
				if !tc.hidden && polls < int(span/driverTick)-2 {
					t.Errorf("shown: %d polls in %v, want about %d", polls, span, span/driverTick)
				}
				// Shown again: the loop is back at full pace at once.
				l.onLoop(p.Shown)
				before = count()
				time.Sleep(time.Second)
				if n := count() - before; n < 58 {
					t.Errorf("after Shown: %d polls in 1 s, want about 60", n)
				}
				if p.Parked() {
					t.Error("still parked after Shown")
				}
				p.Stop()
				l.close()
			})
		})
	}
}

// TestParkerCallbacksRunAtOnce: while the UI goroutine is parked, a
// callback given to Do runs at once (no virtual time passes), on the loop
// goroutine, in order; the toolkit's own queued work (a tray click) waits
// at most one slice.
func TestParkerCallbacksRunAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const slice = 250 * time.Millisecond
		l := newDriverLoop()
		p := NewParker(l.do, slice)
		p.Hidden()
		synctest.Wait()
		time.Sleep(slice / 2) // mid-slice
		synctest.Wait()
		if !p.Parked() {
			t.Fatal("not parked while hidden")
		}
		var got []int
		ran := make(chan time.Time, 3)
		start := time.Now()
		for i := range 3 {
			p.Do(func() { got = append(got, i); ran <- time.Now() })
		}
		for range 3 {
			if at := <-ran; at != start {
				t.Errorf("callback ran %v after it was given, want at once", at.Sub(start))
			}
		}
		if !slices.Equal(got, []int{0, 1, 2}) {
			t.Errorf("callbacks ran in order %v", got)
		}
		// A tray click goes through the toolkit's queue: answered when the
		// slice ends.
		start = time.Now()
		l.onLoop(func() {})
		if wait := time.Since(start); wait > slice {
			t.Errorf("the toolkit's queue waited %v, want at most one slice (%v)", wait, slice)
		}
		p.Stop()
		l.close()
	})
}

// TestParkerShownEndsThePark: a callback that shows the window (the
// single-instance activation, a notification's button) ends the park
// before anything else runs on the loop: no slice is waited out.
func TestParkerShownEndsThePark(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newDriverLoop()
		p := NewParker(l.do, time.Hour)
		p.Hidden()
		synctest.Wait()
		if !p.Parked() {
			t.Fatal("not parked while hidden")
		}
		start := time.Now()
		p.Do(p.Shown)
		l.onLoop(func() {}) // the loop is free again
		if wait := time.Since(start); wait != 0 {
			t.Errorf("the loop was free %v after Shown, want at once", wait)
		}
		if p.Parked() {
			t.Error("parked after Shown")
		}
		// Hidden again parks again; Stop (quit) ends it at once as well.
		p.Hidden()
		synctest.Wait()
		if !p.Parked() {
			t.Fatal("not parked after the second Hidden")
		}
		start = time.Now()
		p.Stop()
		l.onLoop(func() {})
		if wait := time.Since(start); wait != 0 {
			t.Errorf("the loop was free %v after Stop, want at once", wait)
		}
		p.Hidden() // after Stop: no park
		synctest.Wait()
		if p.Parked() {
			t.Error("parked after Stop")
		}
		ran := false
		p.Do(func() { ran = true })
		synctest.Wait()
		if !ran {
			t.Error("a callback given after Stop never ran")
		}
		l.close()
	})
}

// TestParkerKeepsEveryCallbackInOrder gives Do a numbered callback at
// random gaps from one goroutine while another shows and hides the window
// at random: every callback runs exactly once, in order, on the loop
// goroutine (never two at a time), and without delay.
func TestParkerKeepsEveryCallbackInOrder(t *testing.T) {
	for seed := range uint64(20) {
		synctest.Test(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			gaps := make([]time.Duration, 400)
			toggles := make([]time.Duration, 60)
			for i := range gaps {
				gaps[i] = time.Duration(rng.IntN(40)) * time.Millisecond
			}
			for i := range toggles {
				toggles[i] = time.Duration(rng.IntN(300)) * time.Millisecond
			}
			l := newDriverLoop()
			p := NewParker(l.do, 100*time.Millisecond)
			var got []int
			running := false // loop goroutine only
			toggled := make(chan struct{})
			go func() {
				defer close(toggled)
				for i, d := range toggles {
					time.Sleep(d)
					if i%2 == 0 {
						p.Hidden()
					} else {
						l.do(p.Shown) // Shown runs on the UI goroutine
					}
				}
			}()
			for i, d := range gaps {
				time.Sleep(d)
				given := time.Now()
				p.Do(func() {
					if running {
						t.Error("two callbacks at once")
					}
					// Parked or not, nothing on the loop takes virtual
					// time but a park, and a park runs callbacks at once.
					if late := time.Since(given); late != 0 {
						t.Errorf("callback %d ran %v late", i, late)
					}
					running = true
					got = append(got, i)
					running = false
				})
			}
			<-toggled
			time.Sleep(time.Second)
			p.Stop()
			var n int
			l.onLoop(func() { n = len(got) })
			if n != len(gaps) {
				t.Fatalf("seed %d: %d of %d callbacks ran", seed, n, len(gaps))
			}
			for i, v := range got {
				if v != i {
					t.Fatalf("seed %d: callback %d ran at position %d", seed, v, i)
				}
			}
			l.close()
		})
	}
}

// TestParkerQuitWithoutStop: once Fyne's loop is quitting (a SIGTERM
// calls the driver's Quit, not ours), fyne.Do on the UI goroutine runs
// the function at once instead of queueing it. The park's next slice must
// then not park again from within itself (it would never return to the
// loop, and the app would not exit): the loop is free within one slice.
func TestParkerQuitWithoutStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const slice = 250 * time.Millisecond
		l := newDriverLoop()
		var quitting atomic.Bool
		depth := 0 // loop goroutine only
		do := func(fn func()) {
			if !quitting.Load() {
				l.do(fn)
				return
			}
			if depth++; depth > 3 {
				t.Error("the park keeps parking inline after the loop quit")
				return
			}
			fn()
		}
		p := NewParker(do, slice)
		p.Hidden()
		synctest.Wait()
		if !p.Parked() {
			t.Fatal("not parked while hidden")
		}
		quitting.Store(true)
		start := time.Now()
		l.onLoop(func() {}) // Fyne's Quit, queued by its signal handler
		if wait := time.Since(start); wait > slice {
			t.Errorf("the loop was free after %v, want at most one slice", wait)
		}
		if p.Parked() {
			t.Error("still parked after the loop quit")
		}
		l.close()
	})
}
