package ui

import "time"

// Throttle runs a redraw at most once per interval without ever leaving
// the last change undrawn: Kick runs it at once when the last run is an
// interval old, and otherwise arms one timer for the end of the interval,
// when it runs with whatever is newest then. Kicks while the timer is
// armed only ride along.
//
// Everything but the timer runs on the UI goroutine: the timer hands the
// deferred run to dispatch (fyne.Do in the app).
type Throttle struct {
	interval time.Duration
	dispatch func(func())
	fn       func()

	last    time.Time // when fn last ran
	armed   bool      // a deferred run is scheduled
	stopped bool
	timer   *time.Timer
}

// NewThrottle returns a throttle that runs fn at most once per interval.
func NewThrottle(interval time.Duration, dispatch func(func()), fn func()) *Throttle {
	return &Throttle{interval: interval, dispatch: dispatch, fn: fn}
}

// Kick asks for a run: now if the last one is an interval old, otherwise
// at the end of the interval.
func (t *Throttle) Kick() {
	if t.armed || t.stopped {
		return
	}
	wait := t.interval - time.Since(t.last)
	if t.last.IsZero() || wait <= 0 {
		t.run()
		return
	}
	t.armed = true
	t.timer = time.AfterFunc(wait, func() { t.dispatch(t.fire) })
}

func (t *Throttle) fire() {
	if !t.armed || t.stopped {
		return
	}
	t.armed = false
	t.run()
}

func (t *Throttle) run() {
	t.last = time.Now()
	t.fn()
}

// Pending reports whether a deferred run is scheduled.
func (t *Throttle) Pending() bool { return t.armed }

// Stop cancels a deferred run; later kicks do nothing. It is idempotent.
func (t *Throttle) Stop() {
	t.stopped, t.armed = true, false
	if t.timer != nil {
		t.timer.Stop()
	}
}
