package engine

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rayfish/rayfish/engine/internal/atomicfile"
)

// seqReserve is how far ahead of the sequence numbers handed out the
// stored high-water mark runs: the file is written about once per this
// much wall time, and a restart skips at most this much.
const seqReserve = uint64(24 * time.Hour)

// recordSeq hands out endpoint record sequence numbers that never go
// backwards, across restarts too, whatever the clock does: each is above
// the last one handed out, and at least the wall clock in nanoseconds (so
// a node that lost its state still outranks its old records). A stored
// high-water mark, written before any number beyond it is handed out,
// carries the order across restarts.
type recordSeq struct {
	path string

	mu       sync.Mutex // guards the fields below
	last     uint64     // the last number handed out
	reserved uint64     // stored: no number above it has been handed out
}

// loadRecordSeq reads the high-water mark at path (none yet is fine) and
// reserves the next numbers. A damaged or unwritable file is reported,
// and the returned recordSeq still works from the clock on.
func loadRecordSeq(path string, now time.Time) (*recordSeq, error) {
	s := &recordSeq{path: path}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		v, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil {
			err = fmt.Errorf("endpoint sequence file %s is damaged: %w", path, perr)
			break
		}
		s.last, s.reserved = v, v // numbers up to v may have been used
	case os.IsNotExist(err):
		err = nil
	default:
		err = fmt.Errorf("endpoint sequence: %w", err)
	}
	if rerr := s.reserve(max(s.last, wallSeq(now))); err == nil {
		err = rerr
	}
	return s, err
}

// next returns a new sequence number, above every earlier one. It writes
// the file only when the reserve runs out (about once a day), and reports
// an error if that write fails; the number is usable all the same.
func (s *recordSeq) next(now time.Time) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := max(s.last+1, wallSeq(now))
	s.last = n
	if n <= s.reserved {
		return n, nil
	}
	return n, s.reserve(n)
}

// reserve stores a high-water mark seqReserve above n. It is called
// with s.mu held, or before s is shared.
func (s *recordSeq) reserve(n uint64) error {
	r := n + seqReserve
	if err := atomicfile.WriteFile(s.path, []byte(strconv.FormatUint(r, 10)+"\n"), 0o600); err != nil {
		return fmt.Errorf("endpoint sequence: %w", err)
	}
	s.reserved = r
	return nil
}

// nextRecordSeq returns the sequence number of a new endpoint record.
func (e *Engine) nextRecordSeq() uint64 {
	n, err := e.recordSeq.next(time.Now())
	if err != nil {
		e.log.Warn("endpoint record sequence", "err", err)
	}
	return n
}

// wallSeq is the wall clock as a sequence number: nanoseconds since
// 1970, which is what sequence numbers were before they were stored.
func wallSeq(now time.Time) uint64 {
	if ns := now.UnixNano(); ns > 0 {
		return uint64(ns)
	}
	return 0
}
