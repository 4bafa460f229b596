package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Params are one direction's impairments.
type Params struct {
	Delay   time.Duration // added to every frame that is not reordered
	Jitter  time.Duration // uniform in [-Jitter, +Jitter], never below zero delay
	Loss    float64       // percent of frames dropped at random
	Reorder float64       // percent of frames sent at once, overtaking the delayed ones
	Rate    int64         // bits per second on the wire; 0 = unlimited
	Limit   int           // frames waiting at most; more are dropped (tail drop)
}

// Stats counts what a Queue did to the frames it was given.
type Stats struct {
	In, Out, Lost, Reordered, Overflow, Oversize atomic.Uint64
	// Overtaken counts the queued frames that reordered frames jumped
	// ahead of: each arrives after a newer frame.
	Overtaken atomic.Uint64
}

// slot holds one frame waiting for its departure time.
type slot struct {
	due time.Time
	n   int
	buf []byte
}

// A Queue delays the frames of one direction of the link. One goroutine
// calls Enqueue (the reader), one runs Run (the writer); frames live in
// a fixed set of slots handed between them over two channels of slot
// indices, so nothing is allocated per frame.
//
// Departure times only grow: a frame's due time is its arrival plus the
// delay (and jitter), but never earlier than the previous frame's, and
// with a rate, never earlier than the previous departure plus its
// serialization time. So jitter and rate alone never reorder; only the
// Reorder share does, the way netem's reorder does: those frames skip the
// queue and leave at once, ahead of the frames already waiting.
type Queue struct {
	p    Params
	rng  *rand.Rand
	send func([]byte) // to the other side; called by Enqueue and Run

	slots []slot
	free  chan int32 // empty slots
	ready chan int32 // filled slots in departure order

	lastDue time.Time    // reader-owned
	queued  uint64       // reader-owned: frames ever queued
	marked  uint64       // reader-owned: queued frames already counted as overtaken
	waiting atomic.Int64 // queued frames not yet sent (the writer's included)
	Stats   Stats
}

// NewQueue returns a Queue with p.Limit slots of mtu bytes each, sending
// departing frames with send. seed makes the random choices repeatable.
func NewQueue(p Params, mtu int, seed uint64, send func([]byte)) *Queue {
	if p.Limit <= 0 {
		p.Limit = 1000
	}
	q := &Queue{
		p:     p,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		send:  send,
		slots: make([]slot, p.Limit),
		free:  make(chan int32, p.Limit),
		ready: make(chan int32, p.Limit),
	}
	for i := range q.slots {
		q.slots[i].buf = make([]byte, mtu)
		q.free <- int32(i)
	}
	return q
}

// Enqueue takes one frame (copied; the caller may reuse frame) and either
// drops it, sends it at once (reordered) or queues it for later.
func (q *Queue) Enqueue(frame []byte) {
	q.Stats.In.Add(1)
	if q.p.Loss > 0 && q.rng.Float64()*100 < q.p.Loss {
		q.Stats.Lost.Add(1)
		return
	}
	if q.p.Reorder > 0 && q.rng.Float64()*100 < q.p.Reorder {
		q.Stats.Reordered.Add(1)
		// The frames waiting now leave after this one; count each once.
		n := min(uint64(max(q.waiting.Load(), 0)), q.queued-q.marked)
		q.marked = q.queued
		q.Stats.Overtaken.Add(n)
		q.Stats.Out.Add(1)
		q.send(frame)
		return
	}
	var i int32
	select {
	case i = <-q.free:
	default:
		q.Stats.Overflow.Add(1)
		return
	}
	s := &q.slots[i]
	if len(frame) > len(s.buf) {
		q.free <- i
		q.Stats.Oversize.Add(1)
		return
	}
	s.n = copy(s.buf, frame)
	d := q.p.Delay
	if q.p.Jitter > 0 {
		d += time.Duration(q.rng.Int64N(int64(2*q.p.Jitter)+1)) - q.p.Jitter
		d = max(d, 0)
	}
	due := time.Now().Add(d)
	if q.p.Rate > 0 {
		// The wire is busy until the previous frame left; this one
		// takes its own serialization time after that.
		ser := time.Duration(int64(len(frame)) * 8 * int64(time.Second) / q.p.Rate)
		due = later(due, q.lastDue.Add(ser))
	}
	due = later(due, q.lastDue)
	q.lastDue = due
	s.due = due
	q.queued++
	q.waiting.Add(1)
	q.ready <- i
}

// Run sends queued frames when they are due, until stop is closed.
func (q *Queue) Run(stop <-chan struct{}) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var i int32
		select {
		case i = <-q.ready:
		case <-stop:
			return
		}
		s := &q.slots[i]
		if wait := time.Until(s.due); wait > 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
		q.send(s.buf[:s.n])
		q.waiting.Add(-1)
		q.Stats.Out.Add(1)
		q.free <- i
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// parseRate reads 100M, 1.5G, 64K or a plain number of bits per second.
func parseRate(s string) (int64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1e9, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "K"):
		mult, s = 1e3, strings.TrimSuffix(s, "K")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad rate %q", s)
	}
	return int64(f * mult), nil
}
