package service

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeDaemon counts starts and stops; start blocks until release is closed.
type fakeDaemon struct {
	release  chan struct{}
	startErr error
	stopErr  error
	starts   atomic.Int32
	stops    atomic.Int32
}

func newFake() *fakeDaemon { return &fakeDaemon{release: make(chan struct{})} }

func (f *fakeDaemon) start() (func() error, error) {
	f.starts.Add(1)
	<-f.release
	if f.startErr != nil {
		return nil, f.startErr
	}
	return func() error {
		f.stops.Add(1)
		return f.stopErr
	}, nil
}

func wait(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}

func TestProgramStartDoesNotBlock(t *testing.T) {
	f := newFake()
	p := NewProgram(f.start, ProgramOptions{})
	// start blocks until release: Start must still return.
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Started():
		t.Fatal("Started closed before start returned")
	default:
	}
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop(nil) }()
	// Stop waits for the start in progress...
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned %v while start was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(f.release)
	// ...then stops the daemon it started.
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if f.starts.Load() != 1 || f.stops.Load() != 1 {
		t.Errorf("starts=%d stops=%d, want 1/1", f.starts.Load(), f.stops.Load())
	}
}

func TestProgramStopIdempotent(t *testing.T) {
	f := newFake()
	f.stopErr = errors.New("routes still there")
	close(f.release)
	p := NewProgram(f.start, ProgramOptions{})
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Started())
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	err1 := p.Stop(nil)
	err2 := p.Stop(nil)
	if err1 == nil || !strings.Contains(err1.Error(), "routes still there") {
		t.Errorf("first Stop = %v", err1)
	}
	if err2 != err1 {
		t.Errorf("second Stop = %v, want the first's %v", err2, err1)
	}
	if n := f.stops.Load(); n != 1 {
		t.Errorf("stop ran %d times", n)
	}
	if err := p.Start(nil); err == nil {
		t.Error("Start after Stop succeeded")
	}
}

func TestProgramStartTwice(t *testing.T) {
	f := newFake()
	close(f.release)
	p := NewProgram(f.start, ProgramOptions{})
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(nil); err == nil {
		t.Error("second Start succeeded")
	}
	wait(t, p.Started())
	if err := p.Stop(nil); err != nil {
		t.Fatal(err)
	}
	if f.starts.Load() != 1 {
		t.Errorf("start ran %d times", f.starts.Load())
	}
}

func TestProgramStopWithoutStart(t *testing.T) {
	f := newFake()
	p := NewProgram(f.start, ProgramOptions{})
	if err := p.Stop(nil); err != nil {
		t.Fatal(err)
	}
	if f.starts.Load() != 0 || f.stops.Load() != 0 {
		t.Error("start or stop ran")
	}
}

func TestProgramStartFailure(t *testing.T) {
	f := newFake()
	f.startErr = errors.New("create TUN: permission denied")
	close(f.release)
	failed := make(chan error, 1)
	p := NewProgram(f.start, ProgramOptions{OnStartFailure: func(err error) { failed <- err }})
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-failed:
		if !errors.Is(err, f.startErr) {
			t.Errorf("OnStartFailure got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnStartFailure not called")
	}
	if !errors.Is(p.Err(), f.startErr) {
		t.Errorf("Err() = %v", p.Err())
	}
	// Nothing runs, so Stop has nothing to do.
	if err := p.Stop(nil); err != nil {
		t.Errorf("Stop after failed start = %v", err)
	}
	if f.stops.Load() != 0 {
		t.Error("stop ran after a failed start")
	}
}

// TestProgramFailureDuringStopIsNotFatal runs in a synctest bubble so
// that it can wait for Stop to block rather than poll for it.
func TestProgramFailureDuringStopIsNotFatal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.startErr = errors.New("boom")
		var called atomic.Bool
		p := NewProgram(f.start, ProgramOptions{OnStartFailure: func(error) { called.Store(true) }})
		if err := p.Start(nil); err != nil {
			t.Fatal(err)
		}
		stopped := make(chan error, 1)
		go func() { stopped <- p.Stop(nil) }()
		// Stop marks the program as stopping and waits for the start: once
		// every goroutine of the bubble is blocked, it has done so.
		synctest.Wait()
		if !p.isStopping() {
			t.Fatal("Stop did not mark the program as stopping")
		}
		close(f.release)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if called.Load() {
			t.Error("OnStartFailure called although the service was being stopped")
		}
	})
}

func (p *Program) isStopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

func TestProgramStopTimeout(t *testing.T) {
	f := newFake()
	p := NewProgram(f.start, ProgramOptions{StopTimeout: 20 * time.Millisecond})
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	err := p.Stop(nil)
	if err == nil || !strings.Contains(err.Error(), "still starting") {
		t.Errorf("Stop = %v, want a timeout error", err)
	}
	close(f.release)
	wait(t, p.Started())
}

func TestProgramNilStop(t *testing.T) {
	p := NewProgram(func() (func() error, error) { return nil, nil }, ProgramOptions{})
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Started())
	if p.Err() == nil {
		t.Error("a start without a stop function was accepted")
	}
	if err := p.Stop(nil); err != nil {
		t.Error(err)
	}
}

func TestOpenLogRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "rayfish.log")
	w, err := OpenLog(path, 16)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("first run: 0123456789abcdef\n"))
	w.Close()
	// Over the limit: the next open moves it aside.
	w, err = OpenLog(path, 16)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("second\n"))
	w.Close()
	// Under the limit: the next open appends.
	w, err = OpenLog(path, 16)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("third\n"))
	w.Close()
	got, _ := os.ReadFile(path)
	old, _ := os.ReadFile(path + ".1")
	if string(got) != "second\nthird\n" {
		t.Errorf("log = %q", got)
	}
	if string(old) != "first run: 0123456789abcdef\n" {
		t.Errorf("rotated log = %q", old)
	}
}
