//go:build !windows

package single

import (
	"os"
	"path/filepath"
	"testing"
)

func testPath(t *testing.T) string { return filepath.Join(t.TempDir(), "app.sock") }

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
