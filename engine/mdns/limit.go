package mdns

import (
	"net/netip"
	"time"
)

// bucket is a token bucket: it holds up to burst tokens and gains rate
// tokens per second.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(burst, b.tokens+dt*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// full reports whether b would be back to burst tokens at now, which
// makes it indistinguishable from a new bucket.
func (b *bucket) full(now time.Time, rate, burst float64) bool {
	return b.tokens+now.Sub(b.last).Seconds()*rate >= burst
}

// limiter rate-limits by source address, tracking at most max sources.
// When the table is full, idle sources are forgotten; if none is idle,
// new sources are refused until some are. It is not safe for concurrent
// use.
type limiter struct {
	rate, burst float64
	max         int
	m           map[netip.Addr]*bucket
}

func newLimiter(rate, burst float64, max int) *limiter {
	return &limiter{rate: rate, burst: burst, max: max, m: make(map[netip.Addr]*bucket)}
}

// allow takes a token for src at now.
func (l *limiter) allow(src netip.Addr, now time.Time) bool {
	b, ok := l.m[src]
	if !ok {
		if len(l.m) >= l.max {
			for a, ob := range l.m {
				if ob.full(now, l.rate, l.burst) {
					delete(l.m, a)
				}
			}
			if len(l.m) >= l.max {
				return false
			}
		}
		b = new(bucket)
		l.m[src] = b
	}
	return b.take(now, l.rate, l.burst)
}
