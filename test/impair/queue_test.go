package main

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// sink records what a Queue sends: each frame's sequence number (its
// first 4 bytes) and when it left, on the bubble's virtual clock.
type sink struct {
	mu    sync.Mutex
	start time.Time
	seq   []uint32
	at    []time.Duration
}

func (s *sink) send(f []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq = append(s.seq, binary.BigEndian.Uint32(f))
	s.at = append(s.at, time.Since(s.start))
}

func frame(seq uint32, size int) []byte {
	f := make([]byte, size)
	binary.BigEndian.PutUint32(f, seq)
	return f
}

// runQueue feeds n frames of size bytes, gap apart, through a Queue with
// p in a synctest bubble, and returns what left and the counters.
func runQueue(t *testing.T, p Params, n, size int, gap time.Duration) (*sink, *Queue) {
	t.Helper()
	var s sink
	var q *Queue
	synctest.Test(t, func(t *testing.T) {
		s.start = time.Now()
		q = NewQueue(p, 2048, 7, s.send)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { q.Run(stop); close(done) }()
		f := make([]byte, size)
		for i := range n {
			binary.BigEndian.PutUint32(f, uint32(i))
			q.Enqueue(f) // the queue copies: f is reused
			if gap > 0 {
				time.Sleep(gap)
			}
		}
		time.Sleep(time.Minute) // every frame is due long before
		synctest.Wait()
		close(stop)
		<-done
	})
	return &s, q
}

func TestQueueDelayKeepsOrderAndTiming(t *testing.T) {
	s, q := runQueue(t, Params{Delay: 25 * time.Millisecond}, 100, 100, time.Millisecond)
	if len(s.seq) != 100 || q.Stats.Out.Load() != 100 || q.Stats.In.Load() != 100 {
		t.Fatalf("sent %d frames, stats out %d in %d; want 100", len(s.seq), q.Stats.Out.Load(), q.Stats.In.Load())
	}
	for i, seq := range s.seq {
		want := time.Duration(i)*time.Millisecond + 25*time.Millisecond
		if seq != uint32(i) || s.at[i] != want {
			t.Fatalf("frame %d: seq %d left at %v, want seq %d at %v", i, seq, s.at[i], i, want)
		}
	}
}

func TestQueueRatePacesDepartures(t *testing.T) {
	// 1000-byte frames at 8 Mbit/s: 1 ms each on the wire. Ten arrive at
	// once; the first leaves after the delay, the others 1 ms apart.
	s, _ := runQueue(t, Params{Delay: 10 * time.Millisecond, Rate: 8_000_000}, 10, 1000, 0)
	if len(s.seq) != 10 {
		t.Fatalf("sent %d of 10", len(s.seq))
	}
	for i := range s.seq {
		want := 10*time.Millisecond + time.Duration(i)*time.Millisecond
		if s.seq[i] != uint32(i) || s.at[i] != want {
			t.Errorf("frame %d (seq %d) left at %v, want %v", i, s.seq[i], s.at[i], want)
		}
	}
}

func TestQueueJitterNeverReorders(t *testing.T) {
	p := Params{Delay: 20 * time.Millisecond, Jitter: 10 * time.Millisecond}
	s, _ := runQueue(t, p, 500, 100, 100*time.Microsecond)
	if len(s.seq) != 500 {
		t.Fatalf("sent %d of 500", len(s.seq))
	}
	var spread time.Duration
	for i := range s.seq {
		if s.seq[i] != uint32(i) {
			t.Fatalf("position %d holds frame %d: jitter reordered", i, s.seq[i])
		}
		d := s.at[i] - time.Duration(i)*100*time.Microsecond
		if d < 10*time.Millisecond || d > 30*time.Millisecond+time.Millisecond {
			t.Fatalf("frame %d delayed %v, want 10-30 ms", i, d)
		}
		spread = max(spread, d)
	}
	if spread <= 20*time.Millisecond {
		t.Errorf("largest delay %v: jitter had no effect", spread)
	}
}

func TestQueueLossAndReorder(t *testing.T) {
	const n = 20000
	for _, tc := range []struct {
		name          string
		p             Params
		lost, reorder float64 // expected share, percent
	}{
		{"clean", Params{Delay: time.Millisecond}, 0, 0},
		{"loss 1%", Params{Delay: time.Millisecond, Loss: 1}, 1, 0},
		{"loss 3%", Params{Delay: time.Millisecond, Loss: 3}, 3, 0},
		{"reorder 1%", Params{Delay: time.Millisecond, Reorder: 1}, 0, 1},
		{"both", Params{Delay: time.Millisecond, Loss: 3, Reorder: 5}, 3, 5 * 0.97},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, q := runQueue(t, tc.p, n, 64, 10*time.Microsecond)
			lost, reo := q.Stats.Lost.Load(), q.Stats.Reordered.Load()
			if got := uint64(len(s.seq)); got+lost != n || q.Stats.Out.Load() != got {
				t.Fatalf("sent %d + lost %d != %d (out counter %d)", got, lost, n, q.Stats.Out.Load())
			}
			near := func(got uint64, pct float64) bool {
				want := pct / 100 * n
				return float64(got) >= want*0.8-5 && float64(got) <= want*1.2+5
			}
			if !near(lost, tc.lost) || !near(reo, tc.reorder) {
				t.Fatalf("lost %d reordered %d of %d, want about %.1f%% and %.1f%%", lost, reo, n, tc.lost, tc.reorder)
			}
			// Each reordered frame overtakes the queued ones, so the
			// next queued frame is a step down: at most one descent per
			// reordered frame (two in a row make one), none without.
			seen := make(map[uint32]bool, n)
			descents := uint64(0)
			for i, seq := range s.seq {
				if seen[seq] {
					t.Fatalf("frame %d sent twice", seq)
				}
				seen[seq] = true
				if i > 0 && seq < s.seq[i-1] {
					descents++
				}
			}
			if descents > reo || float64(descents) < 0.9*float64(reo) {
				t.Fatalf("%d descents in the sent order for %d reordered frames", descents, reo)
			}
			// Overtaken counts exactly the frames that left after a
			// newer one.
			late, newest := uint64(0), int64(-1)
			for _, seq := range s.seq {
				if int64(seq) < newest {
					late++
				}
				newest = max(newest, int64(seq))
			}
			// A frame the sender goroutine is handing out at the moment
			// a reordered frame jumps the queue may be counted on either
			// side of it, so allow that race a few frames.
			got := q.Stats.Overtaken.Load()
			if d := max(got, late) - min(got, late); d > late/1000+1 {
				t.Fatalf("overtaken %d, but %d frames left after a newer one", got, late)
			}
		})
	}
}

func TestQueueOverflowDropsTail(t *testing.T) {
	p := Params{Delay: 10 * time.Millisecond, Limit: 4}
	s, q := runQueue(t, p, 10, 64, 0)
	if q.Stats.Overflow.Load() != 6 || len(s.seq) != 4 {
		t.Fatalf("overflow %d sent %d, want 6 and 4", q.Stats.Overflow.Load(), len(s.seq))
	}
	for i, seq := range s.seq {
		if seq != uint32(i) {
			t.Fatalf("kept frames %v, want the first four", s.seq)
		}
	}
}

func TestQueueOversizeDropped(t *testing.T) {
	var sent int
	q := NewQueue(Params{}, 100, 1, func([]byte) { sent++ })
	q.Enqueue(make([]byte, 101))
	if q.Stats.Oversize.Load() != 1 || len(q.ready) != 0 || len(q.free) != 1000 {
		t.Fatalf("oversize %d ready %d free %d", q.Stats.Oversize.Load(), len(q.ready), len(q.free))
	}
}

func TestQueueAllocs(t *testing.T) {
	var n atomic.Int64
	q := NewQueue(Params{Delay: time.Microsecond, Jitter: time.Microsecond, Loss: 1, Reorder: 1, Rate: 1e9}, 2048, 1,
		func(f []byte) { n.Add(int64(len(f))) })
	stop := make(chan struct{})
	defer close(stop)
	go q.Run(stop)
	f := frame(1, 1500)
	allocs := testing.AllocsPerRun(2000, func() { q.Enqueue(f) })
	if allocs != 0 {
		t.Errorf("%.2f allocations per frame, want 0", allocs)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "100M": 100e6, "1.5G": 1.5e9, "64K": 64e3, "1200": 1200} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1M", "M"} {
		if _, err := parseRate(bad); err == nil {
			t.Errorf("parseRate(%q) accepted", bad)
		}
	}
}
