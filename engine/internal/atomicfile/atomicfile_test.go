package atomicfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name    string
		prev    []byte // existing contents, nil for none
		data    []byte
		perm    os.FileMode
		wantErr bool
	}{
		{name: "new file", data: []byte("hello"), perm: 0o600},
		{name: "replace", prev: []byte("old contents, longer"), data: []byte("new"), perm: 0o600},
		{name: "empty", prev: []byte("x"), data: nil, perm: 0o600},
		{name: "public mode", data: []byte("{}"), perm: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if tt.prev != nil {
				if err := os.WriteFile(path, tt.prev, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(path, tt.data, tt.perm); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Errorf("contents = %q, want %q", got, tt.data)
			}
			if runtime.GOOS != "windows" {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != tt.perm {
					t.Errorf("mode = %v, want %v", fi.Mode().Perm(), tt.perm)
				}
			}
			assertOnlyFile(t, dir, "state.json")
		})
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "state.json")
	if err := WriteFile(path, []byte("x"), 0o600); err == nil {
		t.Fatal("WriteFile into a missing directory succeeded")
	}
}

func TestWriteFileOverDirectoryLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	// The target is a non-empty directory, so the rename must fail and
	// the temporary file must be cleaned up.
	target := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(target, "child"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(target, []byte("x"), 0o600); err == nil {
		t.Fatal("WriteFile over a non-empty directory succeeded")
	}
	assertOnlyFile(t, dir, "target")
}

func TestWriteFileRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := WriteFile("rel.json", []byte("x"), 0o600); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "rel.json"))
	if err != nil || string(got) != "x" {
		t.Fatalf("read back %q, %v", got, err)
	}
}

func assertOnlyFile(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != name {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q, want only %q", names, name)
	}
}

// fullDiskFile is a temporary file on a disk that fills up after room
// bytes: writes beyond it fail with ENOSPC, as os.File's do.
type fullDiskFile struct {
	*os.File
	room int
	fail string // which step fails: "write", "sync" or "close"
}

func (f *fullDiskFile) Write(p []byte) (int, error) {
	if f.fail == "write" && len(p) > f.room {
		n, _ := f.File.Write(p[:f.room])
		return n, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

func (f *fullDiskFile) Sync() error {
	if f.fail == "sync" {
		return &fs.PathError{Op: "sync", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Sync()
}

func (f *fullDiskFile) Close() error {
	err := f.File.Close()
	if f.fail == "close" && err == nil {
		err = &fs.PathError{Op: "close", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return err
}

// TestWriteFileFullDisk: a write that fails part way (a full disk) must
// return the error, keep the old file byte for byte and leave no
// temporary file behind.
func TestWriteFileFullDisk(t *testing.T) {
	old := []byte(`{"version":1,"networks":["good"]}` + "\n")
	for _, fail := range []string{"write", "sync", "close"} {
		t.Run(fail, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if err := os.WriteFile(path, old, 0o600); err != nil {
				t.Fatal(err)
			}
			orig := createTemp
			t.Cleanup(func() { createTemp = orig })
			createTemp = func(dir, pattern string) (tempFile, error) {
				f, err := os.CreateTemp(dir, pattern)
				if err != nil {
					return nil, err
				}
				return &fullDiskFile{File: f, room: 7, fail: fail}, nil
			}
			err := WriteFile(path, bytes.Repeat([]byte("new "), 1000), 0o600)
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("WriteFile on a full disk = %v, want ENOSPC", err)
			}
			if want := "atomicfile: " + fail + " " + path + ": no space left on device"; err.Error() != want {
				t.Errorf("error %q, want %q (the file asked for, not the temporary one)", err, want)
			}
			got, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(got, old) {
				t.Errorf("after the failed write the file holds %q (%v), want the old %q", got, rerr, old)
			}
			assertOnlyFile(t, dir, "state.json")
		})
	}
}
