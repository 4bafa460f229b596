// Package deadline implements the read deadline of an in-memory
// net.PacketConn: a channel that is closed when the deadline passes, so a
// blocked read can select on it next to its data channel. It follows the
// pipeDeadline of the standard library's net.Pipe.
package deadline

import (
	"sync"
	"time"
)

// Deadline is a settable deadline. The zero value is not usable; call New.
type Deadline struct {
	mu     sync.Mutex // guards the fields below
	timer  *time.Timer
	when   time.Time     // the deadline the timer is armed for
	cancel chan struct{} // closed when the deadline has passed
}

// New returns a Deadline that is not set.
func New() *Deadline {
	return &Deadline{cancel: make(chan struct{})}
}

// Set sets the deadline to t; the zero time clears it. A time in the past
// makes Wait's channel closed at once. Moving a deadline that has not
// passed allocates nothing: one timer is reused.
func (d *Deadline) Set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop() // a callback already running finds when moved, below
	}
	d.when = time.Time{}

	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		d.when = t
		if d.timer == nil {
			d.timer = time.AfterFunc(dur, d.expire)
		} else {
			d.timer.Reset(dur)
		}
		return
	}
	if !closed {
		close(d.cancel)
	}
}

// expire closes cancel if the deadline has passed. A callback that
// started before Set cleared the deadline does nothing; one that finds
// the deadline still ahead (moved by Set, or a wall clock stepped back)
// waits for it again.
func (d *Deadline) expire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.when.IsZero() || isClosed(d.cancel) {
		return
	}
	if left := time.Until(d.when); left > 0 {
		d.timer.Reset(left)
		return
	}
	close(d.cancel)
}

// Wait returns a channel that is closed when the deadline passes.
func (d *Deadline) Wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
