package single

import (
	"errors"
	"testing"
	"time"
)

// TestSecondLaunchShowsFirst runs on every OS; `make test-installers`
// also runs it cross-compiled under Wine, on a named pipe.
func TestSecondLaunchShowsFirst(t *testing.T) {
	path := testPath(t)
	shown := make(chan struct{}, 4)
	first, err := Listen(path, func() { shown <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()

	for range 2 {
		second, err := Listen(path, func() { t.Error("second instance shown") })
		if !errors.Is(err, ErrRunning) {
			if second != nil {
				second.Close()
			}
			t.Fatalf("second Listen: %v, want ErrRunning", err)
		}
		select {
		case <-shown:
		case <-time.After(5 * time.Second):
			t.Fatal("first instance not asked to show")
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	first.Close() // idempotent
}

func TestPipePath(t *testing.T) {
	for sid, want := range map[string]string{
		"S-1-5-21-1004336348-1177238915-682003330-1001": `\\.\PIPE\rayfish-app-S-1-5-21-1004336348-1177238915-682003330-1001`,
		`odd\name/x`: `\\.\PIPE\rayfish-app-odd_name_x`,
	} {
		if got := PipePath(sid); got != want {
			t.Errorf("PipePath(%q) = %q, want %q", sid, got, want)
		}
	}
}

// TestRelaunchAfterClose: after the first instance closes, the next
// launch becomes primary on the same path.
func TestRelaunchAfterClose(t *testing.T) {
	path := testPath(t)
	for range 2 {
		in, err := Listen(path, nil)
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		in.Close()
	}
}
