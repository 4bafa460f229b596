// Package atomicfile writes files so that a reader (or a crash) sees either
// the old contents or the new ones, never a mix or a truncated file.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// tempFile is the part of *os.File that WriteFile uses; tests replace
// createTemp to make writes fail as on a full disk.
type tempFile interface {
	io.Writer
	Name() string
	Chmod(fs.FileMode) error
	Sync() error
	Close() error
}

var createTemp = func(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }

// WriteFile writes data to path atomically: it writes a temporary file in
// the same directory, syncs it, sets perm on it, renames it over path and
// syncs the directory. The temporary file is created with mode 0600, so
// secrets are never readable by others even for a moment, and is removed
// if anything fails: a failed write (a full disk) leaves the old file as
// it was.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := createTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("atomicfile: create temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if err != nil && !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return stepError("write", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return stepError("chmod", path, err)
	}
	if err := f.Sync(); err != nil {
		return stepError("sync", path, err)
	}
	if err := f.Close(); err != nil {
		return stepError("close", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: rename into place: %w", err)
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		// The file is in place; only its durability across a power
		// loss is uncertain. Report it without removing anything.
		return fmt.Errorf("atomicfile: sync directory of %s: %w", path, err)
	}
	return nil
}

// stepError reports that step op on the temporary file for path failed.
// The temporary file is gone by then, so the error names path, the file
// the caller asked for, and drops the temporary name an *fs.PathError
// repeats: "atomicfile: write /x/state.json: no space left on device".
func stepError(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("atomicfile: %s %s: %w", op, path, err)
}
