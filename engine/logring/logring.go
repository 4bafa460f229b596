// Package logring keeps the daemon's most recent log lines in memory, for
// `ray report` and the local API. A Handler tees every slog record into a
// bounded Ring (formatted as slog's text format, one line per record) and
// forwards it to another handler (the daemon's stderr or log file).
//
// Memory is bounded twice: a Ring holds at most N lines, and each line is
// cut at MaxLine bytes.
package logring

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// MaxLine bounds one stored line in bytes; longer lines are cut and end
// with "…".
const MaxLine = 4096

// DefaultLines is a sensible ring size for the daemon.
const DefaultLines = 2000

// Ring is a bounded, concurrency-safe buffer of the last N lines.
type Ring struct {
	mu    sync.Mutex
	lines []string // circular once full; len(lines) <= cap
	next  int      // index the next line goes to once full
	size  int
}

// NewRing returns a ring that keeps the last n lines (n < 1 means 1).
func NewRing(n int) *Ring {
	n = max(n, 1)
	return &Ring{lines: make([]string, 0, min(n, 256)), size: n}
}

// Add stores one line, dropping the oldest when the ring is full.
// Trailing newlines are removed and the line is cut at MaxLine bytes.
func (r *Ring) Add(line string) {
	line = strings.TrimRight(line, "\r\n")
	if len(line) > MaxLine {
		line = cut(line, MaxLine-len("…")) + "…"
	}
	line = strings.Clone(line) // never keep a caller's larger buffer alive
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) < r.size {
		r.lines = append(r.lines, line)
		return
	}
	r.lines[r.next] = line
	r.next = (r.next + 1) % r.size
}

// Lines returns the stored lines, oldest first.
func (r *Ring) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...)
}

// Len returns the number of stored lines.
func (r *Ring) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lines)
}

// cut returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// ringWriter receives one formatted record per Write from slog's text
// handler (which writes each record with a single call).
type ringWriter struct{ r *Ring }

func (w ringWriter) Write(p []byte) (int, error) {
	w.r.Add(string(p))
	return len(p), nil
}

// Options configure a Handler.
type Options struct {
	// Level is the lowest level stored in the ring (default slog.LevelInfo);
	// it is independent of the level of the handler forwarded to.
	Level slog.Leveler
}

// Handler is an slog.Handler that stores records in a Ring and forwards
// them to another handler.
type Handler struct {
	ring *Ring
	text slog.Handler // formats into the ring
	next slog.Handler // may be nil
}

// NewHandler returns a handler that stores records at opts.Level and
// above in ring and passes every record to next (nil: ring only).
func NewHandler(ring *Ring, next slog.Handler, opts *Options) *Handler {
	var level slog.Leveler = slog.LevelInfo
	if opts != nil && opts.Level != nil {
		level = opts.Level
	}
	return &Handler{
		ring: ring,
		text: slog.NewTextHandler(ringWriter{ring}, &slog.HandlerOptions{Level: level}),
		next: next,
	}
}

// Ring returns the ring the handler stores into.
func (h *Handler) Ring() *Ring { return h.ring }

// Enabled reports whether either the ring or the next handler wants
// records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.text.Enabled(ctx, level) || (h.next != nil && h.next.Enabled(ctx, level))
}

// Handle stores r in the ring if its level qualifies and forwards it to
// the next handler if that one is enabled for it. The ring never fails;
// the next handler's error is returned.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if h.text.Enabled(ctx, r.Level) {
		_ = h.text.Handle(ctx, r) // the ring writer never fails
	}
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.text = h.text.WithAttrs(attrs)
	if h.next != nil {
		c.next = h.next.WithAttrs(attrs)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	c.text = h.text.WithGroup(name)
	if h.next != nil {
		c.next = h.next.WithGroup(name)
	}
	return &c
}
