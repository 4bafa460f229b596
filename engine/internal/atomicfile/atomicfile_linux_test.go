package atomicfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteFileFullTmpfs fills a real 64 KiB tmpfs (root only) and checks
// that the old file survives a write that does not fit.
func TestWriteFileFullTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root on Linux to mount a tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	path := filepath.Join(dir, "state.json")
	old := bytes.Repeat([]byte("good"), 4096) // 16 KiB
	if err := WriteFile(path, old, 0o600); err != nil {
		t.Fatalf("first write: %v", err)
	}
	err := WriteFile(path, bytes.Repeat([]byte("big!"), 32<<10), 0o600) // 128 KiB
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write larger than the tmpfs = %v, want ENOSPC", err)
	}
	got, rerr := os.ReadFile(path)
	if rerr != nil || !bytes.Equal(got, old) {
		t.Errorf("after the failed write the file holds %d bytes (%v), want the old %d", len(got), rerr, len(old))
	}
	assertOnlyFile(t, dir, "state.json")
	// Once there is room again, writes work.
	if err := WriteFile(path, []byte("small"), 0o600); err != nil {
		t.Errorf("write after the failure: %v", err)
	}
}
