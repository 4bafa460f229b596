package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRecordSeqMonotonic is issue 12 L7: endpoint record sequence numbers
// never go backwards, within a run or across restarts, when the clock
// steps back; the wall clock alone (what the sequence was) does.
func TestRecordSeqMonotonic(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	type step struct {
		restart bool
		clock   time.Duration // offset from t0
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"clock steady", []step{{false, 0}, {false, time.Second}, {true, 2 * time.Second}, {false, 3 * time.Second}}},
		{"clock back within a run", []step{{false, 0}, {false, -time.Hour}, {false, -time.Hour}, {false, -2 * time.Hour}}},
		{"clock back across a restart", []step{{false, 0}, {true, -time.Hour}, {false, -time.Hour}}},
		{"clock back a year, restarts", []step{{false, 0}, {true, -365 * 24 * time.Hour}, {true, -365 * 24 * time.Hour}, {false, 0}}},
		{"clock frozen", []step{{false, 0}, {false, 0}, {true, 0}, {false, 0}}},
		{"past the reserve", []step{{false, 0}, {false, 25 * time.Hour}, {true, time.Hour}, {false, 50 * time.Hour}, {true, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "record-seq")
			s, err := loadRecordSeq(path, t0)
			if err != nil {
				t.Fatal(err)
			}
			var prev, prevWall uint64
			back, wallBack := 0, 0
			for i, st := range tc.steps {
				now := t0.Add(st.clock)
				if st.restart {
					if s, err = loadRecordSeq(path, now); err != nil {
						t.Fatal(err)
					}
				}
				n, err := s.next(now)
				if err != nil {
					t.Fatal(err)
				}
				if n <= prev {
					back++
					t.Errorf("step %d: sequence %d after %d", i, n, prev)
				}
				if w := wallSeq(now); w <= prevWall && i > 0 {
					wallBack++
				}
				prev, prevWall = n, wallSeq(now)
			}
			t.Logf("steps not above the previous: stored sequence %d, wall-clock sequence %d, of %d", back, wallBack, len(tc.steps)-1)
		})
	}
}

func TestRecordSeqFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "record-seq")
	now := time.Unix(1_800_000_000, 0)
	s, err := loadRecordSeq(path, now)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file %v, %v; want mode 0600", fi, err)
	}
	n, _ := s.next(now)
	if n != wallSeq(now) {
		t.Errorf("first number %d, want the clock's %d", n, wallSeq(now))
	}

	// A damaged file is reported, and numbers still come from the clock.
	os.WriteFile(path, []byte("garbage"), 0o600)
	s, err = loadRecordSeq(path, now)
	if err == nil {
		t.Error("damaged file not reported")
	}
	if n, _ := s.next(now); n != wallSeq(now) {
		t.Errorf("after a damaged file: %d, want %d", n, wallSeq(now))
	}

	// An unwritable directory is reported by next once the reserve is spent.
	s = &recordSeq{path: filepath.Join(dir, "missing", "record-seq")}
	if _, err := s.next(now); err == nil {
		t.Error("failed write not reported")
	}
}
