package relay

import "time"

// tokenBucket limits a byte rate. It is not safe for concurrent use: each
// server-side client's reader owns its own.
type tokenBucket struct {
	rate   float64 // bytes per second; 0 means unlimited
	burst  float64 // bucket size in bytes
	tokens float64
	last   time.Time
}

func newTokenBucket(rate, burst uint64, now time.Time) tokenBucket {
	if burst == 0 {
		burst = rate
	}
	return tokenBucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst), last: now}
}

// allow reports whether n bytes may pass at time now, and if so takes
// them from the bucket. A packet larger than the burst never passes.
func (b *tokenBucket) allow(n int, now time.Time) bool {
	if b.rate == 0 {
		return true
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
		b.last = now
	}
	if float64(n) > b.tokens {
		return false
	}
	b.tokens -= float64(n)
	return true
}
