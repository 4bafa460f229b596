// Package history keeps a short, fixed-size history of a peer's round
// trip time and throughput for the app's sparklines: one sample every
// Interval from the counters the engine already keeps (no per-packet
// work), the last Len samples (5 minutes).
package history

import (
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Len samples of Interval each: the last five minutes.
const (
	Len      = apitype.HistorySamples
	Interval = 5 * time.Second
)

// Ring is one peer's history. The zero value is empty and ready. A Ring
// is not safe for concurrent use; its owner guards it.
type Ring struct {
	rtt    [Len]float64 // ms; 0 = offline or unknown
	rx, tx [Len]uint64  // bytes per second over the interval
	next   int          // where the next sample goes
	n      int          // samples held, at most Len

	last           time.Time // when the counters were last read
	lastRx, lastTx uint64
}

// Add records a sample at now: the current round trip (ms, 0 while
// offline) and the peer's byte counters, from which it derives the rates
// since the previous sample. The first call only reads the counters. A
// counter that went backwards (a new connection restarted it) counts as
// starting from zero.
func (r *Ring) Add(now time.Time, rttMs float64, rxBytes, txBytes uint64) {
	if r.last.IsZero() {
		r.last, r.lastRx, r.lastTx = now, rxBytes, txBytes
		return
	}
	secs := now.Sub(r.last).Seconds()
	if secs <= 0 {
		return
	}
	r.rtt[r.next] = rttMs
	r.rx[r.next] = rate(r.lastRx, rxBytes, secs)
	r.tx[r.next] = rate(r.lastTx, txBytes, secs)
	r.next = (r.next + 1) % Len
	r.n = min(r.n+1, Len)
	r.last, r.lastRx, r.lastTx = now, rxBytes, txBytes
}

func rate(prev, cur uint64, secs float64) uint64 {
	if cur < prev {
		prev = 0
	}
	return uint64(float64(cur-prev)/secs + 0.5)
}

// Len returns how many samples the ring holds.
func (r *Ring) Len() int { return r.n }

// Export returns the samples oldest first in the API's terms, or nil
// when there are none yet.
func (r *Ring) Export() *apitype.PeerHistory {
	if r.n == 0 {
		return nil
	}
	h := &apitype.PeerHistory{
		IntervalS: int(Interval / time.Second),
		RTTMs:     make([]float64, 0, r.n),
		RxBps:     make([]uint64, 0, r.n),
		TxBps:     make([]uint64, 0, r.n),
	}
	start := (r.next - r.n + Len) % Len
	for i := range r.n {
		j := (start + i) % Len
		h.RTTMs = append(h.RTTMs, r.rtt[j])
		h.RxBps = append(h.RxBps, r.rx[j])
		h.TxBps = append(h.TxBps, r.tx[j])
	}
	return h
}
