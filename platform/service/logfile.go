package service

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MaxLogSize is the size past which OpenLog rotates the log file.
const MaxLogSize = 10 << 20

// OpenLog opens path for appending, creating its directory. A file larger
// than maxSize is first renamed to path+".1" (replacing an older one), so
// the log takes at most about twice maxSize on disk. It is used on Windows,
// where a service's standard error goes nowhere.
func OpenLog(path string, maxSize int64) (io.WriteCloser, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("service: log directory: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxSize {
		if err := os.Rename(path, path+".1"); err != nil {
			return nil, fmt.Errorf("service: rotate log: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("service: open log: %w", err)
	}
	return f, nil
}
