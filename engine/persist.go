package engine

import (
	"fmt"
	"sync"

	"github.com/rayfish/rayfish/engine/internal/atomicfile"
)

// fileWriter persists one file from snapshots: the owner of the data
// stages an encoded snapshot while it holds the data's lock (cheap, in
// memory), and flush writes the newest staged snapshot to disk after that
// lock is released. Writes are serialized and never go backwards: a flush
// that finds its snapshot already written (or superseded by a newer one
// that was written) does nothing.
type fileWriter struct {
	path string

	stageMu sync.Mutex // leaf lock; guards seq and data
	seq     uint64     // sequence number of data
	data    []byte     // newest staged snapshot

	writeMu sync.Mutex // held while writing; taken before stageMu
	written uint64     // sequence number on disk
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
	if err := atomicfile.WriteFile(w.path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	w.written = seq
	return nil
}

// flushSaved writes every snapshot staged under e.mu (membership state,
// preferences, firewall policy). Callers run it after releasing e.mu; the
// maintenance routine and Close run it too, so a missed call only delays
// a write.
func (e *Engine) flushSaved() {
	for _, w := range []*fileWriter{&e.stateFile, &e.prefsFile, &e.fwFile} {
		if err := w.flush(); err != nil {
			e.log.Error("save", "err", err)
		}
	}
}
