package dns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// maxFile bounds the size of a file rayfish backs up and replaces.
const maxFile = 1 << 20

// isOurs reports whether content is a file rayfish wrote.
func isOurs(content []byte) bool { return bytes.Contains(content, []byte(marker)) }

// snapshotFile records path as it is now.
func snapshotFile(path string) (fileBackup, error) {
	b := fileBackup{Path: path}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return b, nil
	}
	if err != nil {
		return b, err
	}
	b.Existed = true
	b.Perm = fi.Mode().Perm()
	if fi.Mode()&fs.ModeSymlink != 0 {
		if b.Symlink, err = os.Readlink(path); err != nil {
			return b, err
		}
		b.Perm = 0o644
	} else if !fi.Mode().IsRegular() {
		return b, fmt.Errorf("%s is not a regular file or a symbolic link", path)
	}
	// Through the link, if any; a dangling link has no content.
	content, err := readSmall(path)
	if err != nil && !(b.Symlink != "" && errors.Is(err, fs.ErrNotExist)) {
		return b, err
	}
	b.Content = content
	return b, nil
}

// readSmall reads a file of at most maxFile bytes.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFile)
	}
	return b, nil
}

// replaceFile makes path a regular file holding content with perm. A
// symbolic link at path is replaced, not followed. Files that are mount
// points (a namespace's bind-mounted resolv.conf) are rewritten in place,
// since nothing can be renamed over them.
func replaceFile(path string, content []byte, perm fs.FileMode) error {
	return replaceFileTracked(path, content, perm, nil)
}

// replaceFileTracked is replaceFile that calls before, if set, with the
// identity the file will have, before that file appears at path; if
// before fails, path is left as it was.
func replaceFileTracked(path string, content []byte, perm fs.FileMode, before func(fileID) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if isMountPoint(path) {
		return writeInPlace(path, content, before)
	}
	err := writeAtomic(path, content, perm, before)
	if errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.EXDEV) {
		return writeInPlace(path, content, before)
	}
	return err
}

// willBe returns the identity fi will have once it holds content.
func willBe(fi fs.FileInfo, content []byte) fileID {
	id := contentID(content)
	id.Dev, id.Ino = devIno(fi)
	return id
}

// writeInPlace truncates and rewrites an existing regular file.
func writeInPlace(path string, content []byte, before func(fileID) error) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: cannot rewrite in place: not a regular file", path)
	}
	if before != nil {
		if err := before(willBe(fi, content)); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeAtomic writes content to a temporary file beside path, syncs it
// and renames it over path, then syncs the directory.
func writeAtomic(path string, content []byte, perm fs.FileMode, before func(fileID) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".rayfish-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(content); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if before != nil {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if err := before(willBe(fi, content)); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	syncDir(dir)
	return nil
}

// symlinkAtomic makes path a symbolic link to target, replacing whatever
// is there in one rename.
func symlinkAtomic(target, path string) error {
	if isMountPoint(path) {
		return fmt.Errorf("%s is a mount point; cannot make it a symbolic link again", path)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".rayfish-link")
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a rename or removal in dir durable (best effort: not
// every OS can sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// restoreFiles puts each backed-up file back, unless someone else has
// replaced rayfish's version since (then theirs stays). It tries every
// file and returns the errors joined.
func restoreFiles(files []fileBackup, log *slog.Logger) error {
	var errs []error
	for _, b := range files {
		if err := restoreFile(b, log); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b.Path, err))
		}
	}
	return errors.Join(errs...)
}

// restoreFile puts b's original back, but only into the very file
// rayfish wrote (same device, inode and content) or where the file is
// gone; whatever else is at b.Path by now (another program's file, a
// different file after a bind mount went away) stays.
func restoreFile(b fileBackup, log *slog.Logger) error {
	if err := putBack(b, log); err != nil {
		return err // the sidecar stays: it may be the only copy left
	}
	return removeSidecar(b.Sidecar)
}

func putBack(b fileBackup, log *slog.Logger) error {
	ours, err := isWritten(b)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Gone (or a dangling link): put the original back.
	case err != nil:
		// Unreadable or not a regular file: someone else's.
		log.Warn("dns: file was replaced by another program; leaving it", "path", b.Path, "err", err)
		return nil
	case !ours:
		log.Warn("dns: file is not the one rayfish wrote (rewritten or replaced while rayfish managed it); leaving it", "path", b.Path)
		return nil
	}
	switch {
	case !b.Existed:
		err := os.Remove(b.Path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		syncDir(filepath.Dir(b.Path))
		return nil
	case b.Symlink != "":
		return symlinkAtomic(b.Symlink, b.Path)
	default:
		perm := b.Perm
		if perm == 0 {
			perm = 0o644
		}
		return replaceFile(b.Path, b.Content, perm)
	}
}

// removeSidecar deletes a sidecar copy rayfish made ("" for none).
func removeSidecar(path string) error {
	if path == "" {
		return nil
	}
	err := os.Remove(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dns: remove %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}
