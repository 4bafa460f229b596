package paths

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestLockStateDir(t *testing.T) {
	dir := t.TempDir()
	first, err := LockStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A second daemon on the same directory is refused and told who
	// holds it.
	_, err = LockStateDir(dir)
	if !errors.Is(err, ErrStateDirInUse) {
		t.Fatalf("second lock: err = %v, want ErrStateDirInUse", err)
	}
	if want := fmt.Sprintf("state dir %s in use by pid %d", dir, os.Getpid()); err.Error() != want {
		t.Fatalf("second lock: %q, want %q", err, want)
	}
	if pid, inUse := StateDirInUse(dir); !inUse || pid != os.Getpid() {
		t.Errorf("StateDirInUse = %d, %v; want our pid, true", pid, inUse)
	}
	// Released, it can be taken again.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, inUse := StateDirInUse(dir); inUse {
		t.Error("StateDirInUse after Close")
	}
	if _, inUse := StateDirInUse(t.TempDir()); inUse {
		t.Error("StateDirInUse of a directory without a lock file")
	}
	again, err := LockStateDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.Close()
	var nilLock *StateLock
	if err := nilLock.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLockStateDirStalePID(t *testing.T) {
	// A lock file left by a crashed daemon (its pid inside, no lock held)
	// does not block the next start.
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/"+LockFile, []byte("999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := LockStateDir(dir)
	if err != nil {
		t.Fatalf("stale lock file: %v", err)
	}
	defer l.Close()
	b, _ := os.ReadFile(dir + "/" + LockFile)
	if got, want := strings.TrimSpace(string(b)), fmt.Sprint(os.Getpid()); got != want {
		t.Fatalf("lock file says %q, want our pid %s", got, want)
	}
}
