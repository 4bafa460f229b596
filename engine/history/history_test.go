package history

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestRingBoundedAndRates samples every Interval on virtual time for
// longer than the ring holds: it keeps the last Len samples, oldest
// first, with the rates the counters imply.
func TestRingBoundedAndRates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r Ring
		if r.Export() != nil {
			t.Fatal("empty ring exports samples")
		}
		var rx, tx uint64
		r.Add(time.Now(), 0, rx, tx) // baseline only
		if r.Len() != 0 {
			t.Fatalf("baseline counted as a sample: %d", r.Len())
		}
		const total = Len + 25
		for i := 1; i <= total; i++ {
			time.Sleep(Interval)
			rx += uint64(i) * 5000 // i*1000 B/s over 5 s
			tx += 500              // 100 B/s
			r.Add(time.Now(), float64(i), rx, tx)
			if want := min(i, Len); r.Len() != want {
				t.Fatalf("after %d samples Len = %d, want %d", i, r.Len(), want)
			}
		}
		h := r.Export()
		if h.IntervalS != 5 || len(h.RTTMs) != Len || len(h.RxBps) != Len || len(h.TxBps) != Len {
			t.Fatalf("export: interval %d, lengths %d %d %d", h.IntervalS, len(h.RTTMs), len(h.RxBps), len(h.TxBps))
		}
		for k := range Len {
			i := total - Len + 1 + k // the sample number at position k
			if h.RTTMs[k] != float64(i) || h.RxBps[k] != uint64(i)*1000 || h.TxBps[k] != 100 {
				t.Fatalf("sample %d: rtt %v rx %d tx %d, want %d %d 100", k, h.RTTMs[k], h.RxBps[k], h.TxBps[k], i, i*1000)
			}
		}
	})
}

func TestRingCounterRestartAndClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r Ring
		r.Add(time.Now(), 0, 1_000_000, 1_000_000)
		time.Sleep(Interval)
		r.Add(time.Now(), 12.5, 2000, 1_000_000) // new connection: counters restarted
		r.Add(time.Now(), 99, 9_999_999, 0)      // no time passed: ignored
		h := r.Export()
		if len(h.RTTMs) != 1 || h.RTTMs[0] != 12.5 || h.RxBps[0] != 400 || h.TxBps[0] != 0 {
			t.Fatalf("got %+v", h)
		}
	})
}
