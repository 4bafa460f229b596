package engine

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// logBuf collects log output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// savedNode makes a state dir holding a node key and a state file with
// networks "home" and "work", whose backup holds only "home".
func savedNode(t *testing.T) (dir, self string) {
	t.Helper()
	dir = t.TempDir()
	e, err := New(Config{StateDir: dir, Hostname: "self"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"home", "work"} {
		if _, err := e.CreateNetwork(name, false); err != nil {
			t.Fatal(err)
		}
	}
	self = e.Self().String()
	e.Close()
	return dir, self
}

func networkNames(e *Engine) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var names []string
	for _, n := range e.state.Networks {
		names = append(names, n.Name)
	}
	return strings.Join(names, ",")
}

// TestNewDamagedFiles: a damaged node key or state file never makes New
// mint a new identity or overwrite the file with an empty state. It
// either refuses with an error naming the file, or (a damaged state file
// with a good backup) starts on the backup and says so in the log.
func TestNewDamagedFiles(t *testing.T) {
	tests := []struct {
		name     string
		damage   func(t *testing.T, dir string)
		wantErr  string // in New's error, with the file's name; "" if New must work
		file     string // the file the error names
		wantNets string // networks after a successful New
		wantLog  string // in the log after a successful New
	}{
		{name: "intact", damage: func(*testing.T, string) {}, wantNets: "home,work"},
		{name: "state truncated, backup", damage: truncate("state.json"), wantNets: "home", wantLog: "STATE FILE DAMAGED"},
		{name: "state garbage, backup", damage: overwrite("state.json", "\x00garbage"), wantNets: "home", wantLog: "STATE FILE DAMAGED"},
		{name: "state truncated, no backup", damage: both(remove("state.json.bak"), truncate("state.json")),
			wantErr: "no good backup", file: "state.json"},
		{name: "state empty, no backup", damage: both(remove("state.json.bak"), overwrite("state.json", "")),
			wantErr: "no good backup", file: "state.json"},
		{name: "key truncated", damage: truncate("node.key"), wantErr: "is damaged", file: "node.key"},
		{name: "key empty", damage: overwrite("node.key", ""), wantErr: "is damaged (0 bytes", file: "node.key"},
		{name: "key garbage", damage: overwrite("node.key", "nodekey:!!!!\n"), wantErr: "is damaged", file: "node.key"},
		{name: "key too long", damage: overwrite("node.key", strings.Repeat("k", 4096)), wantErr: "is damaged (4096 bytes", file: "node.key"},
		{name: "key is a directory", damage: both(remove("node.key"), mkdir("node.key")), wantErr: "not a regular file", file: "node.key"},
		{name: "key missing, state has networks", damage: remove("node.key"), wantErr: "is missing but", file: "node.key"},
		{name: "key group readable", damage: chmod("node.key", 0o640), wantNets: "home,work", wantLog: "changed its mode to 0600"},
		{name: "key world readable", damage: chmod("node.key", 0o644), wantNets: "home,work", wantLog: "changed its mode to 0600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && strings.Contains(tt.name, "readable") {
				t.Skip("no Unix modes")
			}
			dir, self := savedNode(t)
			tt.damage(t, dir)
			before := snapshotDir(t, dir)
			var lb logBuf
			e, err := New(Config{StateDir: dir, Hostname: "self", Logger: lb.logger()})
			if tt.wantErr != "" {
				if err == nil {
					e.Close()
					t.Fatal("New accepted the damaged file")
				}
				if msg := err.Error(); !strings.Contains(msg, tt.wantErr) || !strings.Contains(msg, filepath.Join(dir, tt.file)) || strings.Contains(msg, "\n") {
					t.Errorf("err = %q, want one line naming %s and saying %q", msg, tt.file, tt.wantErr)
				}
				if after := snapshotDir(t, dir); after != before {
					t.Errorf("a refused start changed the state dir:\nbefore %s\nafter  %s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer e.Close()
			if got := e.Self().String(); got != self {
				t.Errorf("identity changed: %s, was %s", got, self)
			}
			if got := networkNames(e); got != tt.wantNets {
				t.Errorf("networks %q, want %q", got, tt.wantNets)
			}
			if tt.wantLog != "" && lb.count(tt.wantLog) != 1 {
				t.Errorf("log does not say %q once:\n%s", tt.wantLog, lb.b.String())
			}
			if fi, err := os.Stat(filepath.Join(dir, "node.key")); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Errorf("node.key mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

// TestFileWriterBackup: each write keeps the previous good version in
// the backup; a failed write (here the backup cannot be written) keeps
// the old file and backup, is logged once however often it is retried,
// shows in saveError, and clears once a write works.
func TestFileWriterBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	var lb logBuf
	w := &fileWriter{path: path, backup: true, log: lb.logger()}
	e := &Engine{}
	write := func(s string) error {
		w.stage([]byte(s))
		return w.flush()
	}
	for _, s := range []string{"v1", "v2"} {
		if err := write(s); err != nil {
			t.Fatal(err)
		}
	}
	assertFile(t, path, "v2")
	assertFile(t, path+".bak", "v1")

	// Make the backup unwritable: a non-empty directory in its place.
	os.Remove(path + ".bak")
	if err := os.MkdirAll(filepath.Join(path+".bak", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := write("v3"); err == nil {
			t.Fatal("write succeeded with an unwritable backup")
		}
	}
	assertFile(t, path, "v2")
	if n := lb.count("save failed"); n != 1 {
		t.Errorf("failure logged %d times over 5 retries, want once", n)
	}
	e.stateFile.failure.Store(w.failure.Load())
	if msg := e.saveError(); !strings.Contains(msg, path) {
		t.Errorf("saveError = %q, want it to name %s", msg, path)
	}

	os.RemoveAll(path + ".bak")
	if err := w.flush(); err != nil { // the retry the maintenance routine makes
		t.Fatalf("retry: %v", err)
	}
	assertFile(t, path, "v3")
	assertFile(t, path+".bak", "v2")
	if w.failure.Load() != nil || lb.count("save works again") != 1 {
		t.Errorf("recovery not recorded: failure %v, log:\n%s", w.failure.Load(), lb.b.String())
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("%s holds %q (%v), want %q", filepath.Base(path), got, err, want)
	}
}

// snapshotDir describes every file in dir: name, mode and contents.
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ent := range ents {
		fi, err := ent.Info()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, ent.Name()))
		b.WriteString(ent.Name() + " " + fi.Mode().String() + " " + string(data) + "|")
	}
	return b.String()
}

type damageFunc = func(t *testing.T, dir string)

func truncate(name string) damageFunc {
	return func(t *testing.T, dir string) {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	}
}

func overwrite(name, data string) damageFunc {
	return func(t *testing.T, dir string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func remove(name string) damageFunc {
	return func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdir(name string) damageFunc {
	return func(t *testing.T, dir string) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

func chmod(name string, mode os.FileMode) damageFunc {
	return func(t *testing.T, dir string) {
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func both(a, b damageFunc) damageFunc {
	return func(t *testing.T, dir string) { a(t, dir); b(t, dir) }
}
