package dataplane

import "sync/atomic"

// recentWindow is how far back a recentCounter looks.
const recentWindow = 60

// recentCounter counts events over the last minute in per-second buckets,
// without locks or allocation, so the data path may count every drop. A
// bucket is reused once its second has passed; an add racing with that
// reuse may be lost, which is fine for a count shown to people.
type recentCounter struct {
	sec   [recentWindow]atomic.Int64 // the second (since the plane's epoch) each bucket counts
	count [recentWindow]atomic.Uint64
}

// add counts one event at second now.
func (r *recentCounter) add(now int64) {
	i := now % recentWindow
	if s := r.sec[i].Load(); s != now && r.sec[i].CompareAndSwap(s, now) {
		r.count[i].Store(0)
	}
	r.count[i].Add(1)
}

// sum is the number of events in the minute up to second now.
func (r *recentCounter) sum(now int64) uint64 {
	var total uint64
	for i := range r.sec {
		if s := r.sec[i].Load(); s > now-recentWindow && s <= now {
			total += r.count[i].Load()
		}
	}
	return total
}
