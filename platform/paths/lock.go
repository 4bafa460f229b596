package paths

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// LockFile is the name of the file in the state directory that a running
// daemon holds locked.
const LockFile = "daemon.lock"

// ErrStateDirInUse is returned (wrapped) by LockStateDir when another
// process holds the state directory.
var ErrStateDirInUse = errors.New("state dir in use")

// inUseError says who holds a state directory; it is ErrStateDirInUse.
type inUseError struct {
	dir string
	pid int
}

func (e *inUseError) Error() string {
	if e.pid > 0 {
		return fmt.Sprintf("state dir %s in use by pid %d", e.dir, e.pid)
	}
	return fmt.Sprintf("state dir %s in use by another process", e.dir)
}

func (e *inUseError) Is(target error) bool { return target == ErrStateDirInUse }

// StateLock is a held lock on a state directory. Two daemons on one state
// directory would run with the same node key and undo each other's DNS
// and network configuration, so a daemon takes it before touching
// anything. The OS releases it when the process dies, so a crash never
// leaves a stale lock behind.
type StateLock struct {
	f *os.File
}

// LockStateDir locks dir for this process, without waiting. If another
// process holds it, the error names that process: "state dir DIR in use
// by pid N".
func LockStateDir(dir string) (*StateLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock state dir %s: %w", dir, err)
	}
	if !held {
		pid := readPID(f)
		f.Close()
		return nil, &inUseError{dir: dir, pid: pid}
	}
	// Record who holds it, for the next one's error message.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &StateLock{f: f}, nil
}

// StateDirInUse reports whether a running process holds dir's lock, and
// its pid if the lock file names one. It changes nothing in dir.
func StateDirInUse(dir string) (pid int, inUse bool) {
	f, err := os.Open(filepath.Join(dir, LockFile))
	if err != nil {
		return 0, false // no lock file: no daemon of this version runs there
	}
	defer f.Close()
	held, err := tryLock(f)
	if err != nil {
		return 0, false
	}
	if held {
		unlock(f)
		return 0, false
	}
	return readPID(f), true
}

// Close releases the lock. It is idempotent and nil-safe.
func (l *StateLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	unlock(f)
	return f.Close()
}

// readPID returns the pid written in a lock file, or 0.
func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
