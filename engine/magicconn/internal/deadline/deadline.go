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
	mu     sync.Mutex // guards timer and cancel
	timer  *time.Timer
	cancel chan struct{} // closed when the deadline has passed
}

// New returns a Deadline that is not set.
func New() *Deadline {
	return &Deadline{cancel: make(chan struct{})}
}

// Set sets the deadline to t; the zero time clears it. A time in the past
// makes Wait's channel closed at once.
func (d *Deadline) Set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // wait for the timer callback to finish and close cancel
	}
	d.timer = nil

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
		cancel := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(cancel) })
		return
	}
	if !closed {
		close(d.cancel)
	}
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
