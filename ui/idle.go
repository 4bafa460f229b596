package ui

import (
	"sync"
	"time"
)

// DefaultParkSlice is how long the UI goroutine sleeps at a time while no
// window is on screen: the toolkit's own queue (tray menu clicks, its
// signal handler) is answered within one slice.
const DefaultParkSlice = 250 * time.Millisecond

// Parker lets the UI goroutine sleep while no window is on screen.
//
// Fyne's desktop driver runs its main loop at 60 Hz whether or not a
// window shows (it polls window-system events and walks every window each
// tick), which keeps a hidden tray app at about 1 % of a core. While the
// window is hidden, the Parker hands the driver a function (through do,
// fyne.Do in the app) that blocks the UI goroutine for up to one slice
// and then queues itself again: the loop turns about 1000/slice times a
// second instead of 60, runs the toolkit's queued work (tray menu clicks)
// between slices, and polls the window system once per slice.
//
// Our own UI callbacks go through Do: while parked they run at once
// inside the park, in order, so the tray and notifications follow the
// daemon without waiting for a slice; otherwise Do hands them to do. A
// callback that shows the window calls Shown, which ends the park
// before the callback returns: showing the window from our code is never
// delayed.
//
// Lock order: mu is a leaf; do and the callbacks run without it.
type Parker struct {
	do    func(func())
	slice time.Duration
	wake  chan struct{} // cap 1: a callback was queued or parking should end

	mu       sync.Mutex
	queue    []func() // callbacks given to Do not yet run, oldest first
	draining bool     // a drain is handed to do and has not started
	hidden   bool     // no window is on screen
	queued   bool     // a park is handed to do or running
	parked   bool     // the UI goroutine is inside park
	stopped  bool     // the app is quitting: park no more

	inside bool // park is running (UI goroutine only, no lock)
}

// NewParker returns a Parker whose park and callbacks run through do (the
// UI goroutine's queue, fyne.Do); slice <= 0 means DefaultParkSlice. It
// parks nothing until Hidden.
func NewParker(do func(func()), slice time.Duration) *Parker {
	if slice <= 0 {
		slice = DefaultParkSlice
	}
	return &Parker{do: do, slice: slice, wake: make(chan struct{}, 1)}
}

// Do runs fn on the UI goroutine without waiting: inside the park when
// the UI goroutine is parked, otherwise through do. Callbacks run in the
// order they were given. Any goroutine.
func (p *Parker) Do(fn func()) {
	p.mu.Lock()
	p.queue = append(p.queue, fn)
	parked := p.parked
	schedule := !parked && !p.draining
	if schedule {
		p.draining = true
	}
	p.mu.Unlock()
	switch {
	case parked:
		p.poke()
	case schedule:
		p.do(p.drain)
	}
}

// Hidden says no window is on screen any more: the UI goroutine parks
// from its next turn on. Any goroutine.
func (p *Parker) Hidden() {
	p.mu.Lock()
	p.hidden = true
	start := !p.queued && !p.stopped
	if start {
		p.queued = true
	}
	p.mu.Unlock()
	if start {
		p.do(p.park)
	}
}

// Shown says a window is about to show: a park in progress ends as soon
// as the callback calling Shown returns, and none starts until Hidden.
// Any goroutine.
func (p *Parker) Shown() {
	p.mu.Lock()
	p.hidden = false
	p.mu.Unlock()
	p.poke()
}

// Stop ends parking for good (the app is quitting). Callbacks given to Do
// still run. Idempotent; any goroutine.
func (p *Parker) Stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.poke()
}

// Parked reports whether the UI goroutine is inside a park (for tests).
func (p *Parker) Parked() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parked
}

func (p *Parker) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take removes the queued callbacks. Caller holds mu.
func (p *Parker) take() []func() {
	fns := p.queue
	p.queue = nil
	return fns
}

// drain runs the queued callbacks. UI goroutine.
func (p *Parker) drain() {
	p.mu.Lock()
	p.draining = false
	fns := p.take()
	p.mu.Unlock()
	runAll(fns)
}

// park blocks the UI goroutine for one slice while no window shows,
// running callbacks as they come, then queues itself again. UI goroutine.
func (p *Parker) park() {
	if p.inside {
		// do ran the next park inline instead of queueing it: Fyne does
		// once its loop is quitting (a SIGTERM, which does not go through
		// Stop). Parking again from within would never return to the loop.
		p.mu.Lock()
		p.queued = false
		p.mu.Unlock()
		return
	}
	p.inside = true
	defer func() { p.inside = false }()
	p.mu.Lock()
	if !p.hidden || p.stopped {
		p.queued = false
		p.mu.Unlock()
		return
	}
	p.parked = true
	p.mu.Unlock()

	slice := time.NewTimer(p.slice)
	defer slice.Stop()
wait:
	for p.runQueued() {
		select {
		case <-p.wake:
		case <-slice.C:
			break wait
		}
	}
	p.mu.Lock()
	// Callbacks queued from here on go through do; those queued since the
	// last run are taken now, so none is left behind and the order holds.
	p.parked = false
	fns := p.take()
	again := p.hidden && !p.stopped
	p.queued = again
	p.mu.Unlock()
	runAll(fns)
	if again {
		p.do(p.park)
	}
}

// runQueued runs the callbacks queued so far and reports whether the
// park goes on (no window shows and the app is not quitting). UI
// goroutine.
func (p *Parker) runQueued() bool {
	p.mu.Lock()
	fns := p.take()
	p.mu.Unlock()
	runAll(fns)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hidden && !p.stopped
}

func runAll(fns []func()) {
	for _, fn := range fns {
		fn()
	}
}
