package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func readEvents(t *testing.T, path string) []Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWritesJSONLines(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	l, err := Open(Config{Dir: dir, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	stamped := t0.Add(-time.Hour)
	l.Log(Event{Event: PeerConnected, Peer: "aaaa", Hostname: "laptop", Network: "home", Detail: "direct 198.18.0.2:1"})
	l.Log(Event{Time: stamped, Event: PeerDisconnected, Peer: "aaaa", Hostname: "evil\nhost\"}"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	got := readEvents(t, filepath.Join(dir, DefaultFileName))
	want := []Event{
		{Time: t0, Event: PeerConnected, Peer: "aaaa", Hostname: "laptop", Network: "home", Detail: "direct 198.18.0.2:1"},
		{Time: stamped, Event: PeerDisconnected, Peer: "aaaa", Hostname: "evil\nhost\"}"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("event %d time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time, want[i].Time = time.Time{}, time.Time{}
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, p := range []string{dir, filepath.Join(dir, DefaultFileName)} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group/other access", p, perm)
		}
	}
}

func TestAppendsToExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultFileName)
	if err := os.WriteFile(path, []byte(`{"event":"old"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	l.Log(Event{Event: "new"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	evs := readEvents(t, path)
	if len(evs) != 2 || evs[0].Event != "old" || evs[1].Event != "new" {
		t.Errorf("events = %+v, want old then new", evs)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 after reopening", st.Mode().Perm())
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	const keep, maxSize, n = 2, 400, 60
	l, err := Open(Config{Dir: dir, MaxSize: maxSize, Keep: keep, Queue: n, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		l.Log(Event{Event: PeerConnected, Detail: fmt.Sprintf("n%03d", i)})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.Dropped() != 0 || l.WriteErrors() != 0 {
		t.Fatalf("dropped %d, write errors %d", l.Dropped(), l.WriteErrors())
	}

	base := filepath.Join(dir, DefaultFileName)
	files := []string{rotated(base, 2), rotated(base, 1), base} // oldest first
	var all []Event
	for _, p := range files {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("missing %s: %v", p, err)
		}
		if st.Size() > maxSize {
			t.Errorf("%s is %d bytes, more than MaxSize %d", p, st.Size(), maxSize)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", p, st.Mode().Perm())
		}
		all = append(all, readEvents(t, p)...)
	}
	if _, err := os.Stat(rotated(base, keep+1)); !os.IsNotExist(err) {
		t.Errorf("%s exists beyond Keep=%d", rotated(base, keep+1), keep)
	}
	// The kept files hold the newest events, in order, ending with the last.
	if len(all) == 0 || len(all) >= n {
		t.Fatalf("kept %d events; want some but not all of %d", len(all), n)
	}
	first := n - len(all)
	for i, e := range all {
		if want := fmt.Sprintf("n%03d", first+i); e.Detail != want {
			t.Fatalf("kept event %d is %q, want %q", i, e.Detail, want)
		}
	}
}

func TestDropsWhenQueueFull(t *testing.T) {
	dir := t.TempDir()
	l, err := open(Config{Dir: dir, Queue: 2}) // writer not started yet
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		l.Log(Event{Event: fmt.Sprint(i)})
	}
	if got := l.Dropped(); got != 3 {
		t.Errorf("Dropped() = %d, want 3", got)
	}
	go l.run()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	evs := readEvents(t, filepath.Join(dir, DefaultFileName))
	if len(evs) != 2 || evs[0].Event != "0" || evs[1].Event != "1" {
		t.Errorf("events = %+v, want the first two", evs)
	}
}

func TestCloseIdempotentAndLogAfterClose(t *testing.T) {
	l, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	l.Log(Event{Event: "late"}) // must not panic
	if l.Dropped() != 1 {
		t.Errorf("Dropped() = %d after logging to a closed log, want 1", l.Dropped())
	}

	var nilLog *Log
	nilLog.Log(Event{Event: "x"})
	if nilLog.Close() != nil || nilLog.Dropped() != 0 {
		t.Error("nil *Log is not a no-op")
	}
}

func TestConcurrentLog(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir, Queue: 64})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 8, 300
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				l.Log(Event{Event: PeerConnected, Peer: fmt.Sprintf("g%d", g), Detail: fmt.Sprint(i)})
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	written := len(readEvents(t, filepath.Join(dir, DefaultFileName)))
	if uint64(written)+l.Dropped() != goroutines*each {
		t.Errorf("written %d + dropped %d != %d logged", written, l.Dropped(), goroutines*each)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Config{}); err == nil {
		t.Error("Open with no directory succeeded")
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Dir: filepath.Join(file, "sub")}); err == nil {
		t.Error("Open under a regular file succeeded")
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		l.Log(Event{Event: fmt.Sprint(i)})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines, err := Tail(l.Path(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || !strings.Contains(lines[0], `"event":"7"`) || !strings.Contains(lines[2], `"event":"9"`) {
		t.Errorf("Tail = %q, want events 7..9", lines)
	}
	lines, err = Tail(filepath.Join(dir, "missing"), 3)
	if err != nil || lines != nil {
		t.Errorf("Tail(missing) = %q, %v; want nothing", lines, err)
	}
}

func BenchmarkLog(b *testing.B) {
	l, err := Open(Config{Dir: b.TempDir(), Queue: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	e := Event{Time: t0, Event: PeerConnected, Peer: "aaaa", Hostname: "laptop"}
	for b.Loop() {
		l.Log(e)
	}
}
