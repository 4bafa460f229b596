package engine

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/rayfish/rayfish/engine/internal/atomicfile"
	"github.com/rayfish/rayfish/engine/netmap"
)

// fileWriter persists one file from snapshots: the owner of the data
// stages an encoded snapshot while it holds the data's lock (cheap, in
// memory), and flush writes the newest staged snapshot to disk after that
// lock is released. Writes are serialized and never go backwards: a flush
// that finds its snapshot already written (or superseded by a newer one
// that was written) does nothing.
//
// A failed write (a full disk) leaves the file on disk as it was; the
// engine keeps running on its in-memory state, and every flush (the
// maintenance routine's included) tries again. The failure is logged
// once, not on every retry, and shown in Status until a write succeeds.
type fileWriter struct {
	path string
	log  *slog.Logger // nil: no logging (tests)
	// backup keeps the previous good version as path.bak before each
	// write (the state file, which netmap.LoadOrRestore falls back on).
	backup bool

	stageMu sync.Mutex // leaf lock; guards seq and data
	seq     uint64     // sequence number of data
	data    []byte     // newest staged snapshot

	writeMu sync.Mutex // held while writing; taken before stageMu
	written uint64     // sequence number on disk
	good    []byte     // contents on disk, known good (for the backup)

	failure atomic.Pointer[string] // why the last write failed; nil once one succeeds
}

// stage records data as the newest snapshot. The caller must hold the
// lock that guards the data it encoded, so that later stages carry newer
// data.
func (w *fileWriter) stage(data []byte) {
	w.stageMu.Lock()
	w.seq++
	w.data = data
	w.stageMu.Unlock()
}

// stageFunc encodes and stages a snapshot under the writer's own lock,
// for data guarded by a lock of its own (the firewall): encoding and
// numbering together keep concurrent stagers in order.
func (w *fileWriter) stageFunc(encode func() ([]byte, error)) error {
	w.stageMu.Lock()
	defer w.stageMu.Unlock()
	data, err := encode()
	if err != nil {
		return err
	}
	w.seq++
	w.data = data
	return nil
}

// flush writes the newest staged snapshot if it is not on disk yet. It
// must not be called with e.mu held.
func (w *fileWriter) flush() error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.stageMu.Lock()
	seq, data := w.seq, w.data
	w.stageMu.Unlock()
	if seq == w.written {
		return nil
	}
	err := w.write(data)
	w.noteResult(err)
	if err != nil {
		return err
	}
	w.written, w.good = seq, data
	return nil
}

// write backs up the last good contents (if the writer keeps a backup)
// and replaces the file with data. Called with writeMu held.
func (w *fileWriter) write(data []byte) error {
	if w.backup && w.good != nil {
		if err := atomicfile.WriteFile(netmap.BackupPath(w.path), w.good, 0o600); err != nil {
			return fmt.Errorf("back up %s: %w", w.path, err)
		}
	}
	if err := atomicfile.WriteFile(w.path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	return nil
}

// noteResult records the outcome of a write and logs when it changes:
// the first failure and the recovery. (Retries fail with messages that
// differ only in the temporary file's name, so they are not compared.)
func (w *fileWriter) noteResult(err error) {
	if err == nil {
		if old := w.failure.Swap(nil); old != nil && w.log != nil {
			w.log.Info("save works again", "file", w.path)
		}
		return
	}
	msg := err.Error()
	if old := w.failure.Swap(&msg); old == nil && w.log != nil {
		w.log.Error("save failed; running on the state in memory and retrying", "file", w.path, "err", err)
	}
}

// saveError says why saving a file fails, or "" if every save works.
func (e *Engine) saveError() string {
	for _, w := range []*fileWriter{&e.stateFile, &e.prefsFile, &e.fwFile} {
		if msg := w.failure.Load(); msg != nil {
			return *msg
		}
	}
	return ""
}

// flushSaved writes every snapshot staged under e.mu (membership state,
// preferences, firewall policy). Callers run it after releasing e.mu; the
// maintenance routine and Close run it too, so a missed call only delays
// a write.
func (e *Engine) flushSaved() {
	for _, w := range []*fileWriter{&e.stateFile, &e.prefsFile, &e.fwFile} {
		w.flush() // logs its own failures, once
	}
}
