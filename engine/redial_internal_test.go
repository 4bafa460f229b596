package engine

import (
	"testing"
	"time"
)

// TestRedialEarly: a peer in dial backoff is dialled at once when it
// answered a ping after the failure, at most once a second; not on a
// pong from before the failure, nor without a backoff.
func TestRedialEarly(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const b = 15 * time.Second
	next := t0.Add(b + 2*time.Second) // failed at t0 (plus 2 s of jitter)
	for _, tc := range []struct {
		name     string
		backoff  time.Duration
		now      time.Time
		lastPong time.Time
		want     bool
	}{
		{"pong after the failure", b, t0.Add(5 * time.Second), t0.Add(4 * time.Second), true},
		{"pong before the failure", b, t0.Add(5 * time.Second), t0.Add(-time.Second), false},
		{"no pong at all", b, t0.Add(5 * time.Second), time.Time{}.Add(time.Nanosecond), false},
		{"too soon after the failure", b, t0.Add(2500 * time.Millisecond), t0.Add(2400 * time.Millisecond), false},
		{"no backoff", 0, t0.Add(5 * time.Second), t0.Add(4 * time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := redialEarly(tc.backoff, next, tc.now, tc.lastPong); got != tc.want {
				t.Errorf("redialEarly = %v, want %v", got, tc.want)
			}
		})
	}
}
