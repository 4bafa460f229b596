package netmap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/rayfish/rayfish/engine/internal/atomicfile"
)

// BackupPath is where the previous good version of the state file at
// path is kept (the engine writes it before each save).
func BackupPath(path string) string { return path + ".bak" }

// Loaded is what LoadOrRestore read.
type Loaded struct {
	State *State
	// Data is the file's contents as parsed (nil for a missing file):
	// the last good version, for the next save's backup.
	Data []byte
	// Restored is non-nil when the state file was damaged and the backup
	// was loaded instead; it says what was wrong and where the damaged
	// file was moved. The caller must report it loudly.
	Restored error
}

// LoadOrRestore is Load, except that when the file at path exists but is
// damaged (truncated, garbage, rosters that do not verify) and the
// backup at BackupPath parses, it keeps a copy of the damaged file as
// path.corrupt-<time>, puts the backup in its place and loads that. A
// file that cannot be read (permissions, I/O) or that a newer rayfish
// wrote is an error and is left alone, as is a damaged file without a
// good backup: the caller must refuse to start rather than overwrite it
// with an empty state.
func LoadOrRestore(path string, now time.Time) (Loaded, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s, err := Load(path)
		return Loaded{State: s}, err
	}
	if err != nil {
		return Loaded{}, fmt.Errorf("read state file %s: %w (fix its permissions or restore it; rayfish will not start without it)", path, err)
	}
	s, perr := parseState(data)
	if perr == nil {
		return Loaded{State: s, Data: data}, nil
	}
	damaged := fmt.Errorf("state file %s: %w", path, perr)
	if errors.Is(perr, errStateNewer) {
		return Loaded{}, fmt.Errorf("%w; upgrade rayfish", damaged)
	}
	bak := BackupPath(path)
	bdata, berr := os.ReadFile(bak)
	var bs *State
	if berr == nil {
		bs, berr = parseState(bdata)
	}
	if berr != nil {
		return Loaded{}, fmt.Errorf("%w; no good backup in %s (%v): restore the file, or move it aside to start with no networks", damaged, bak, berr)
	}
	kept := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	if err := atomicfile.WriteFile(kept, data, 0o600); err != nil {
		return Loaded{}, fmt.Errorf("%w; keep a copy before restoring %s: %w", damaged, bak, err)
	}
	if err := atomicfile.WriteFile(path, bdata, 0o600); err != nil {
		return Loaded{}, fmt.Errorf("%w; restore %s: %w", damaged, bak, err)
	}
	return Loaded{State: bs, Data: bdata,
		Restored: fmt.Errorf("%w; loaded the previous good version from %s, the damaged file is kept as %s", damaged, bak, kept)}, nil
}
