package logring

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestRingKeepsLastN(t *testing.T) {
	tests := []struct {
		size, add int
		want      []string
	}{
		{size: 3, add: 0, want: []string{}},
		{size: 3, add: 2, want: []string{"l0", "l1"}},
		{size: 3, add: 3, want: []string{"l0", "l1", "l2"}},
		{size: 3, add: 4, want: []string{"l1", "l2", "l3"}},
		{size: 3, add: 7, want: []string{"l4", "l5", "l6"}},
		{size: 1, add: 5, want: []string{"l4"}},
		{size: 0, add: 2, want: []string{"l1"}}, // size < 1 means 1
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("size%d_add%d", tt.size, tt.add), func(t *testing.T) {
			r := NewRing(tt.size)
			for i := range tt.add {
				r.Add(fmt.Sprintf("l%d\n", i))
			}
			if got := r.Lines(); !slices.Equal(got, tt.want) {
				t.Errorf("Lines() = %q, want %q", got, tt.want)
			}
			if r.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", r.Len(), len(tt.want))
			}
		})
	}
}

func TestRingCutsLongLines(t *testing.T) {
	r := NewRing(2)
	long := strings.Repeat("é", MaxLine) // 2 bytes per rune
	r.Add(long)
	got := r.Lines()[0]
	if len(got) > MaxLine {
		t.Errorf("stored %d bytes, want at most %d", len(got), MaxLine)
	}
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("cut line is not valid UTF-8 ending in an ellipsis: %q", got[len(got)-8:])
	}
}

func TestHandlerTeesAndFormats(t *testing.T) {
	var next bytes.Buffer
	ring := NewRing(10)
	h := NewHandler(ring, slog.NewTextHandler(&next, &slog.HandlerOptions{Level: slog.LevelWarn}), nil)
	log := slog.New(h).With("component", "engine").WithGroup("peer")

	log.Debug("not stored anywhere")
	log.Info("connected", "id", "abcd")
	log.Warn("path lost", "reason", "line1\nline2")

	lines := ring.Lines()
	if len(lines) != 2 {
		t.Fatalf("ring has %d lines, want 2: %q", len(lines), lines)
	}
	for _, want := range []string{"level=INFO", "msg=connected", "component=engine", "peer.id=abcd"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("ring line %q lacks %q", lines[0], want)
		}
	}
	if strings.Contains(lines[1], "\n") || !strings.Contains(lines[1], `peer.reason="line1\nline2"`) {
		t.Errorf("multi-line value not kept on one quoted line: %q", lines[1])
	}
	// The next handler has its own level: only the warning.
	fwd := next.String()
	if strings.Contains(fwd, "connected") || !strings.Contains(fwd, "path lost") {
		t.Errorf("next handler got %q, want only the warning", fwd)
	}
}

func TestHandlerLevels(t *testing.T) {
	ring := NewRing(10)
	h := NewHandler(ring, nil, &Options{Level: slog.LevelDebug})
	if !h.Enabled(t.Context(), slog.LevelDebug) {
		t.Error("debug not enabled with ring level debug")
	}
	slog.New(h).Debug("dbg")
	if got := ring.Lines(); len(got) != 1 || !strings.Contains(got[0], "msg=dbg") {
		t.Errorf("ring = %q, want the debug record", got)
	}

	h2 := NewHandler(NewRing(1), slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelDebug}), nil)
	if !h2.Enabled(t.Context(), slog.LevelDebug) {
		t.Error("debug not enabled although next handler wants it")
	}
	h3 := NewHandler(NewRing(1), nil, nil)
	if h3.Enabled(t.Context(), slog.LevelDebug) {
		t.Error("debug enabled with ring level info and no next handler")
	}
}

func TestConcurrentUse(t *testing.T) {
	ring := NewRing(100)
	log := slog.New(NewHandler(ring, nil, nil))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				log.Info("msg", "g", g, "i", i)
				_ = ring.Lines()
			}
		})
	}
	wg.Wait()
	lines := ring.Lines()
	if len(lines) != 100 {
		t.Fatalf("ring has %d lines, want 100", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "time=") || !strings.Contains(l, "msg=msg") {
			t.Fatalf("torn line %q", l)
		}
	}
}

func BenchmarkHandle(b *testing.B) {
	log := slog.New(NewHandler(NewRing(DefaultLines), nil, nil))
	for b.Loop() {
		log.Info("peer connected", "id", "abcdefgh", "path", "direct")
	}
}
