package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"

	"github.com/rayfish/rayfish/engine/internal/atomicfile"
	"github.com/rayfish/rayfish/engine/key"
)

// maxNodeKeyFile bounds the node key file: a key is one short line.
const maxNodeKeyFile = 1 << 10

// loadOrCreateNodeKey returns the node's identity from path. Only a
// missing file on a node that is in no network is a first start, which
// creates a key. A key file that is damaged (empty, too long, not a key),
// unreadable or not a regular file is an error: the node never mints a
// new identity over it. A key readable by other users is narrowed to
// 0600 with a warning (or refused if that fails). stateNetworks is how
// many networks statePath holds: with any, a missing key means the
// identity those networks know was lost, and New refuses too.
func loadOrCreateNodeKey(path, statePath string, stateNetworks int, log *slog.Logger) (key.NodePrivate, error) {
	var k key.NodePrivate
	const never = "rayfish will not create a new key over it"
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if stateNetworks > 0 {
			return k, fmt.Errorf("engine: node key %s is missing but %s holds %d network(s) joined with it: restore the key from a backup, or move %s aside to start as a new node", path, statePath, stateNetworks, statePath)
		}
		return createNodeKey(path)
	case err != nil:
		return k, fmt.Errorf("engine: node key %s: %w (fix its permissions; %s)", path, err, never)
	case !fi.Mode().IsRegular():
		return k, fmt.Errorf("engine: node key %s is not a regular file (%v): restore it; %s", path, fi.Mode().Type(), never)
	}
	b, err := readBounded(path, maxNodeKeyFile)
	if err != nil {
		return k, fmt.Errorf("engine: node key %s: %w (fix its permissions; %s)", path, err, never)
	}
	if err := k.UnmarshalText(b); err != nil {
		// fi.Size, not len(b): b stops one byte past the bound.
		return k, fmt.Errorf("engine: node key %s is damaged (%d bytes, %v): restore it from a backup, or delete it to start as a new node; %s", path, fi.Size(), err, never)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return k, fmt.Errorf("engine: node key %s is readable by other users (mode %v) and could not be fixed: %w; run chmod 600 on it", path, perm, err)
		}
		log.Warn("node key was readable by other users; changed its mode to 0600", "file", path, "was", perm.String())
	}
	return k, nil
}

func createNodeKey(path string) (key.NodePrivate, error) {
	k := key.NewNode()
	txt, err := k.MarshalText()
	if err != nil {
		return k, err
	}
	if err := atomicfile.WriteFile(path, append(txt, '\n'), 0o600); err != nil {
		return k, fmt.Errorf("engine: write node key: %w", err)
	}
	return k, nil
}

// readBounded reads at most limit+1 bytes of path, so that a caller can
// tell a file that is too long without reading all of it.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}
