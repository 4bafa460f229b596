package atomicfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/rayfish/rayfish/engine/internal/tmpfs"
)

// TestWriteFileFullTmpfs fills a real 64 KiB tmpfs (root only) and checks
// that the old file survives a write that does not fit.
func TestWriteFileFullTmpfs(t *testing.T) {
	dir := tmpfs.Mount(t, 64<<10)
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
