package bulk

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"
)

// newBatch returns a batch of n packets of size bytes, each numbered, with
// in-place destinations.
func newBatch(f Func, first, n, size int) *Batch {
	b := &Batch{Func: f, In: make([][]byte, n), Out: make([][]byte, n)}
	for i := range n {
		buf := make([]byte, HeaderLen+size, HeaderLen+size+TagLen)
		binary.BigEndian.PutUint32(buf[HeaderLen:], uint32(first+i))
		b.In[i] = buf[HeaderLen:]
		b.Out[i] = buf[:0]
	}
	return b
}

func TestPipelineOrder(t *testing.T) {
	for _, workers := range []int{0, 1, 3} {
		s, r := testPair(t, AES256GCM)
		const batches, per = 50, 37
		got := make(chan *Batch, batches)
		p := NewPipeline(workers, func(b *Batch) { got <- b })
		seal := Func(s.Seal)
		for i := range batches {
			// Varying sizes, including empty and single-packet batches.
			n := per
			switch i % 5 {
			case 1:
				n = 0
			case 2:
				n = 1
			}
			b := newBatch(seal, i*per, n, 200)
			b.Ctx = i
			if err := p.Submit(b); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		close(got)
		i := 0
		for b := range got {
			if b.Ctx.(int) != i {
				t.Fatalf("workers %d: batch %v delivered as number %d", workers, b.Ctx, i)
			}
			for j, w := range b.Out {
				if b.Err[j] != nil {
					t.Fatal(b.Err[j])
				}
				pkt, err := r.Open(nil, w)
				if err != nil {
					t.Fatalf("workers %d batch %d packet %d: %v", workers, i, j, err)
				}
				if got, want := binary.BigEndian.Uint32(pkt), uint32(i*per+j); got != want {
					t.Fatalf("workers %d: packet %d where %d belongs", workers, got, want)
				}
			}
			i++
		}
		if i != batches {
			t.Fatalf("workers %d: %d batches delivered, want %d", workers, i, batches)
		}
	}
}

// TestPipelineOpen runs sealing and opening pipelines back to back, the
// way a sending and a receiving node would, with two sessions whose
// packets are interleaved in every received batch.
func TestPipelineOpen(t *testing.T) {
	const batches, per = 20, 64
	var seal [2]Func
	var open [2]Func
	byID := make(map[SessionID]Func)
	for i := range 2 {
		k := testKeys(ChaCha20Poly1305, byte(10+i))
		s, err := NewSender(&k)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReceiver(&k)
		if err != nil {
			t.Fatal(err)
		}
		seal[i], open[i] = s.Seal, r.Open
		byID[k.Session] = open[i]
	}
	var next [2]uint32
	var bad int
	po := NewPipeline(2, func(b *Batch) {
		for j, pkt := range b.Out {
			sess := j % 2
			if b.Err[j] != nil || binary.BigEndian.Uint32(pkt) != next[sess] {
				bad++
			}
			next[sess]++
		}
	})
	// The sealing sink stands for the network: it takes one batch of each
	// session and interleaves them into one received batch.
	var pending *Batch
	ps := NewPipeline(2, func(b *Batch) {
		if pending == nil {
			pending = b
			return
		}
		ob := &Batch{In: make([][]byte, 0, 2*per), Out: make([][]byte, 0, 2*per), Funcs: make([]Func, 0, 2*per)}
		for j := range per {
			for _, w := range [][]byte{pending.Out[j], b.Out[j]} {
				sid, ok := ParseSession(w)
				if !ok {
					t.Error("ParseSession failed")
				}
				ob.In = append(ob.In, w)
				ob.Out = append(ob.Out, w[HeaderLen:HeaderLen]) // open in place
				ob.Funcs = append(ob.Funcs, byID[sid])
			}
		}
		pending = nil
		if err := po.Submit(ob); err != nil {
			t.Error(err)
		}
	})
	for i := range batches {
		for sess := range 2 {
			if err := ps.Submit(newBatch(seal[sess], i*per, per, 1400)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ps.Close()
	po.Close()
	if bad != 0 || next != [2]uint32{batches * per, batches * per} {
		t.Fatalf("%d packets out of order or failed, %v of %d arrived per session", bad, next, batches*per)
	}
}

func TestPipelineSubmitErrors(t *testing.T) {
	s, _ := testPair(t, AES256GCM)
	delivered := 0
	p := NewPipeline(1, func(*Batch) { delivered++ })
	if err := p.Submit(&Batch{In: make([][]byte, 1), Out: make([][]byte, 1)}); err != ErrBatch {
		t.Errorf("Submit without Func: %v", err)
	}
	if err := p.Submit(&Batch{Func: s.Seal, In: make([][]byte, 2), Out: make([][]byte, 1)}); err != ErrBatch {
		t.Errorf("Submit with short Out: %v", err)
	}
	if err := p.Submit(&Batch{Func: s.Seal, In: make([][]byte, MaxBatch+1), Out: make([][]byte, MaxBatch+1)}); err != ErrBatch {
		t.Errorf("Submit with too many packets: %v", err)
	}
	if err := p.Submit(&Batch{Funcs: make([]Func, 1), In: make([][]byte, 1), Out: make([][]byte, 1)}); err != ErrBatch {
		t.Errorf("Submit with a nil Funcs entry: %v", err)
	}
	if err := p.Submit(&Batch{Funcs: []Func{s.Seal}, In: make([][]byte, 2), Out: make([][]byte, 2)}); err != ErrBatch {
		t.Errorf("Submit with short Funcs: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Submit(newBatch(s.Seal, 0, 1, 10)); err != ErrClosed {
		t.Errorf("Submit after Close: %v", err)
	}
	if delivered != 0 {
		t.Errorf("%d rejected batches delivered", delivered)
	}
}

func TestPipelineAllocs(t *testing.T) {
	s, _ := testPair(t, AES256GCM)
	done := make(chan struct{}, 1)
	p := NewPipeline(1, func(*Batch) { done <- struct{}{} })
	defer p.Close()
	b := newBatch(s.Seal, 0, 64, 1400)
	if a := testing.AllocsPerRun(50, func() {
		for i := range b.Out {
			b.Out[i] = b.Out[i][:0]
		}
		if err := p.Submit(b); err != nil {
			t.Fatal(err)
		}
		<-done
	}); a != 0 {
		t.Errorf("Submit allocates %v times per batch", a)
	}
}

// TestPipelineNoLeak checks that Close stops every goroutine.
func TestPipelineNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	s, _ := testPair(t, AES256GCM)
	for range 5 {
		p := NewPipeline(4, func(*Batch) {})
		if err := p.Submit(newBatch(s.Seal, 0, 100, 100)); err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after Close", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPipelineDisorderFitsWindow(t *testing.T) {
	if inFlight := maxInFlight * MaxBatch; inFlight > WindowSize/2 {
		t.Fatalf("%d packets in flight may be reordered across most of the %d-counter window", inFlight, WindowSize)
	}
}
