package bulk

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"
)

var benchSizes = []int{64, 1400}

// reportCPU reports the process CPU time per operation since start: on a
// machine shared with other work, wall time per operation says little
// about what the code costs, CPU time does.
func reportCPU(b *testing.B, start int64) {
	if start > 0 && b.N > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, c := range ciphers {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%v/%d", c, n), func(b *testing.B) {
				s, _ := testPair(b, c)
				buf := make([]byte, HeaderLen+n, n+Overhead)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				start := cpuTime()
				for b.Loop() {
					if _, err := s.Seal(buf[:0], buf[HeaderLen:HeaderLen+n]); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, start)
			})
		}
	}
}

// resetWindow forgets every accepted counter, so a benchmark can reopen
// the same packets.
func (r *Receiver) resetWindow() {
	r.window.last.Store(0)
	for i := range r.window.ring {
		r.window.ring[i].Store(0)
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, c := range ciphers {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%v/%d", c, n), func(b *testing.B) {
				s, r := testPair(b, c)
				wires := make([][]byte, 1024)
				for i := range wires {
					wires[i] = mustSeal(b, s, testPacket(n, byte(i)))
				}
				dst := make([]byte, 0, n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				i := 0
				start := cpuTime()
				for b.Loop() {
					if i == len(wires) {
						i = 0
						r.resetWindow()
					}
					if _, err := r.Open(dst, wires[i]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				reportCPU(b, start)
			})
		}
	}
}

// BenchmarkBatch seals 64-packet batches of 1400 bytes, in place, on one
// goroutine, as a peer's sender does.
func BenchmarkBatch(b *testing.B) {
	const per, n = 64, 1400
	for _, c := range ciphers {
		b.Run(fmt.Sprintf("%v/serial", c), func(b *testing.B) {
			s, _ := testPair(b, c)
			in, out := make([][]byte, per), make([][]byte, per)
			for i := range per {
				buf := make([]byte, HeaderLen+n, HeaderLen+n+TagLen)
				binary.BigEndian.PutUint32(buf[HeaderLen:], uint32(i))
				in[i], out[i] = buf[HeaderLen:], buf[:0]
			}
			b.SetBytes(per * n)
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				for i := range in {
					sealed, err := s.Seal(out[i][:0], in[i])
					if err != nil {
						b.Fatal(err)
					}
					out[i] = sealed
				}
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkWindow measures the replay window's commit alone, from one
// goroutine and from GOMAXPROCS goroutines sharing it (the mutex).
func BenchmarkWindow(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		var w window
		var c uint64
		for b.Loop() {
			if err := w.commit(c); err != nil {
				b.Fatal(err)
			}
			c++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var w window
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c := next.Add(1)
				if err := w.check(c); err != nil && err != ErrTooOld {
					b.Error(err)
				}
				if err := w.commit(c); err != nil && err != ErrTooOld {
					b.Error(err)
				}
			}
		})
	})
}
