package tun

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	wgtun "golang.zx2c4.com/wireguard/tun"
)

// fakeDev is an in-memory Device: Read returns queued packets, Write
// records them.
type fakeDev struct {
	mu      sync.Mutex
	in      chan []byte
	written [][]byte
	closed  bool
}

func newFakeDev() *fakeDev { return &fakeDev{in: make(chan []byte, 4)} }

func (f *fakeDev) File() *os.File { return nil }
func (f *fakeDev) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	p, ok := <-f.in
	if !ok {
		return 0, os.ErrClosed
	}
	sizes[0] = copy(bufs[0][offset:], p)
	return 1, nil
}
func (f *fakeDev) Write(bufs [][]byte, offset int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range bufs {
		f.written = append(f.written, append([]byte(nil), b[offset:]...))
	}
	return len(bufs), nil
}
func (f *fakeDev) MTU() (int, error)          { return 1400, nil }
func (f *fakeDev) Name() (string, error)      { return "real0", nil }
func (f *fakeDev) Events() <-chan wgtun.Event { return nil }
func (f *fakeDev) BatchSize() int             { return 1 }
func (f *fakeDev) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.in)
	}
	return nil
}

// TestDeferredRetriesThenServes: creation fails twice, the backoff
// doubles, each failure is reported, and once the device exists Read and
// Write reach it.
func TestDeferredRetriesThenServes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		real := newFakeDev()
		var mu sync.Mutex // guards attempts and reports
		var attempts []time.Duration
		start := time.Now()
		create := func() (Device, error) {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, time.Since(start))
			if len(attempts) < 3 {
				return nil, fmt.Errorf("wintun.dll could not be loaded (attempt %d)", len(attempts))
			}
			return real, nil
		}
		d := NewDeferred("rayfish", 1280, create)
		var reports []string
		d.Start(func(dev Device, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				reports = append(reports, err.Error())
			} else {
				reports = append(reports, "ok")
			}
		})

		if name, _ := d.Name(); name != "rayfish" {
			t.Errorf("Name before creation = %q", name)
		}
		if mtu, _ := d.MTU(); mtu != 1280 {
			t.Errorf("MTU before creation = %d", mtu)
		}
		if d.BatchSize() != DeferredBatchSize {
			t.Errorf("BatchSize = %d", d.BatchSize())
		}
		if _, err := d.Write([][]byte{[]byte("x")}, 0); !errors.Is(err, ErrNotReady) {
			t.Errorf("Write before creation: %v, want ErrNotReady", err)
		}

		read := make(chan string, 1)
		go func() {
			bufs, sizes := [][]byte{make([]byte, 64)}, []int{0}
			n, err := d.Read(bufs, sizes, 4)
			if err != nil || n != 1 {
				read <- fmt.Sprintf("n=%d err=%v", n, err)
				return
			}
			read <- string(bufs[0][4 : 4+sizes[0]])
		}()
		synctest.Wait()
		select {
		case r := <-read:
			t.Fatalf("Read returned before the device exists: %s", r)
		default:
		}

		time.Sleep(time.Hour)
		mu.Lock()
		want := []time.Duration{time.Second, 3 * time.Second, 7 * time.Second}
		if fmt.Sprint(attempts) != fmt.Sprint(want) {
			t.Errorf("attempts at %v, want %v", attempts, want)
		}
		wantReports := []string{"wintun.dll could not be loaded (attempt 1)", "wintun.dll could not be loaded (attempt 2)", "ok"}
		if fmt.Sprint(reports) != fmt.Sprint(wantReports) {
			t.Errorf("reports %q, want %q", reports, wantReports)
		}
		mu.Unlock()

		real.in <- []byte("packet")
		if r := <-read; r != "packet" {
			t.Errorf("Read after creation: %s", r)
		}
		if _, err := d.Write([][]byte{[]byte("..out")}, 2); err != nil {
			t.Errorf("Write after creation: %v", err)
		}
		real.mu.Lock()
		if len(real.written) != 1 || string(real.written[0]) != "out" {
			t.Errorf("device got %q", real.written)
		}
		real.mu.Unlock()
		if name, _ := d.Name(); name != "real0" {
			t.Errorf("Name after creation = %q", name)
		}
		d.Close()
		d.Close()
		real.mu.Lock()
		if !real.closed {
			t.Error("Close did not close the real device")
		}
		real.mu.Unlock()
	})
}

// TestDeferredBackoffCap: attempts never come further apart than
// RetryMaxDelay; Close stops them and wakes a blocked Read.
func TestDeferredBackoffCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex // guards last, gaps and failures
		var last time.Time
		var gaps []time.Duration
		d := NewDeferred("rayfish", 1280, func() (Device, error) {
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			if !last.IsZero() {
				gaps = append(gaps, now.Sub(last))
			}
			last = now
			return nil, errors.New("no driver")
		})
		failures := 0
		d.Start(func(dev Device, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				t.Error("reported success")
			}
			failures++
		})
		readErr := make(chan error, 1)
		go func() {
			_, err := d.Read([][]byte{make([]byte, 8)}, []int{0}, 0)
			readErr <- err
		}()
		time.Sleep(10 * time.Minute)
		mu.Lock()
		if len(gaps) < 8 {
			t.Errorf("only %d attempts in 10 minutes", failures)
			mu.Unlock()
			d.Close()
			return
		}
		for _, g := range gaps {
			if g > RetryMaxDelay {
				t.Errorf("gap %v > %v", g, RetryMaxDelay)
			}
		}
		if gaps[len(gaps)-1] != RetryMaxDelay {
			t.Errorf("last gap %v, want the cap %v", gaps[len(gaps)-1], RetryMaxDelay)
		}
		mu.Unlock()
		d.Close()
		if err := <-readErr; !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read after Close: %v, want os.ErrClosed", err)
		}
		mu.Lock()
		n := failures
		mu.Unlock()
		time.Sleep(time.Hour)
		mu.Lock()
		if failures != n {
			t.Errorf("%d attempts after Close", failures-n)
		}
		mu.Unlock()
	})
}
