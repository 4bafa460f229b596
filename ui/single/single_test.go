package single

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSecondLaunchShowsFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.sock")
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

func TestStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.sock")
	// A crashed instance left its socket file behind.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := Listen(path, nil)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	in.Close()
	// After Close the next launch becomes primary again.
	in, err = Listen(path, nil)
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	in.Close()
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if p, err := DefaultPath(); err != nil || p != "/run/user/1000/rayfish-app.sock" {
		t.Errorf("DefaultPath = %q, %v", p, err)
	}
}
