package dns

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stateFile is the backup's name in the state directory.
const stateFile = "dns-backup.json"

// stateVersion is bumped when state changes incompatibly.
const stateVersion = 1

// state is the backup of what rayfish changed: enough to undo it after a
// crash.
type state struct {
	Version int    `json:"version"`
	Mode    string `json:"mode"`
	// Files are the files replaced (resolv.conf and resolver modes).
	Files []fileBackup `json:"files,omitempty"`
	// Interface and Index name the link configured (resolved modes).
	Interface string `json:"interface,omitempty"`
	Index     int    `json:"index,omitempty"`
	// Keys are the registry keys written (nrpt mode).
	Keys []string `json:"keys,omitempty"`
	// SuffixKey is the interface key whose DNS suffix was set (nrpt
	// mode).
	SuffixKey string `json:"suffix_key,omitempty"`
}

// fileBackup is one file as it was before rayfish replaced it.
type fileBackup struct {
	Path    string `json:"path"`
	Existed bool   `json:"existed"`
	// Symlink is the link's target when the file was a symbolic link;
	// Content is then what the link pointed to (for Upstreams).
	Symlink string      `json:"symlink,omitempty"`
	Perm    fs.FileMode `json:"perm,omitempty"`
	Content []byte      `json:"content,omitempty"`
	// Sidecar is the copy of Content rayfish made beside the file
	// (resolv.pre-rayfish.conf), which survives a lost state directory.
	// Empty when rayfish made none (one was there already, or there is
	// no place for it).
	Sidecar string `json:"sidecar,omitempty"`
	// Written identifies the versions of the file rayfish wrote, the
	// newest last (at most maxWritten): Restore puts Content back only
	// into one of them, never into a file someone else put at Path.
	Written []fileID `json:"written,omitempty"`
}

// fileID identifies one version of a file: the file (device and inode,
// zero where the OS has none) and its content (SHA-256, hex).
type fileID struct {
	Dev uint64 `json:"dev,omitempty"`
	Ino uint64 `json:"ino,omitempty"`
	Sum string `json:"sum"`
}

// maxWritten bounds fileBackup.Written: the current version and the one
// before (a crash between writing a file and recording it leaves the
// previous one in place).
const maxWritten = 2

func statePath(dir string) string { return filepath.Join(dir, stateFile) }

// loadState returns the backup in dir, or nil if there is none.
func loadState(dir string) (*state, error) {
	if dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(statePath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dns: read backup: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("dns: backup %s is damaged (move it away to start over): %w", statePath(dir), err)
	}
	if st.Version > stateVersion {
		return nil, fmt.Errorf("dns: backup %s is from a newer rayfish", statePath(dir))
	}
	return &st, nil
}

// saveState writes st to dir atomically and durably.
func saveState(dir string, st *state) error {
	if dir == "" {
		return errors.New("dns: no state directory for the backup")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dns: create state directory: %w", err)
	}
	st.Version = stateVersion
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("dns: encode backup: %w", err)
	}
	if err := writeAtomic(statePath(dir), b, 0o600, nil); err != nil {
		return fmt.Errorf("dns: write backup: %w", err)
	}
	return nil
}

// removeState deletes the backup (durably).
func removeState(dir string) error {
	err := os.Remove(statePath(dir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dns: remove backup: %w", err)
	}
	syncDir(dir)
	return nil
}
