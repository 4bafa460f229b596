//go:build netns

package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/test/osuser"
)

// stateFiles are the files that hold a node's identity and networks.
var stateFiles = []string{"node.key", "state.json", "state.json.bak"}

// TestCorruptStateRealDaemon starts the real daemon on a state dir damaged
// in each way a crash, a bad disk or a careless chmod leaves it: it either
// refuses with one exact line on stderr and exit status 1, leaving every
// file as it was, or starts with the same identity and says in its log
// what it repaired. Then the state dir (a small tmpfs) fills up: a change
// made by a local user is kept in memory, `ray status` shows the save
// error, state.json keeps its last good bytes, the daemon stays up, and
// once there is room the change is saved and loads after a restart.
func TestCorruptStateRealDaemon(t *testing.T) {
	l := newLab(t, "rfC", 171, "n")
	n := l.nodes["n"]
	mountTmpfs(t, l, n.stateDir, 1<<20)
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }

	l.start("n")
	l.ray("n", "create", "home")
	l.ray("n", "create", "work")
	self := l.status("n").Self.ID
	l.stop("n")
	good := readStateFiles(t, n.stateDir)
	// Each save keeps the previous good version as the backup: the state
	// before "work" was created.
	if !bytes.Contains(good["state.json"], []byte(`"work"`)) || bytes.Contains(good["state.json.bak"], []byte(`"work"`)) ||
		!bytes.Contains(good["state.json.bak"], []byte(`"home"`)) {
		t.Fatalf("saved state:\nstate.json %s\nstate.json.bak %s", good["state.json"], good["state.json.bak"])
	}
	path := func(name string) string { return filepath.Join(n.stateDir, name) }
	never := "rayfish will not create a new key over it"
	keyText := bytes.TrimSpace(good["node.key"])

	type damage struct {
		name   string
		damage func(t *testing.T)
		// wantErr is the daemon's whole stderr line when it must refuse.
		wantErr string
		// Otherwise it starts: wantLog is in its log, wantNets its networks.
		wantLog  string
		wantNets []string
		// corrupt is the damaged state.json kept aside on a restore.
		corrupt []byte
	}
	truncated := good["state.json"][:len(good["state.json"])/2]
	garbage := []byte("\x00garbage\n")
	tests := []damage{
		{name: "state truncated, good backup", damage: writeFile(path("state.json"), truncated),
			wantLog: "STATE FILE DAMAGED: running on the previous good version", wantNets: []string{"home"}, corrupt: truncated},
		{name: "state garbage, good backup", damage: writeFile(path("state.json"), garbage),
			wantLog: "STATE FILE DAMAGED: running on the previous good version", wantNets: []string{"home"}, corrupt: garbage},
		{name: "state and backup damaged", damage: func(t *testing.T) {
			writeFile(path("state.json"), truncated)(t)
			writeFile(path("state.json.bak"), garbage)(t)
		}, wantErr: fmt.Sprintf("ray: engine: state file %s: corrupt: unexpected end of JSON input; no good backup in %s (corrupt: invalid character '\\x00' looking for beginning of value): restore the file, or move it aside to start with no networks",
			path("state.json"), path("state.json.bak"))},
		{name: "key truncated", damage: writeFile(path("node.key"), keyText[:len(keyText)-10]),
			wantErr: fmt.Sprintf("ray: engine: node key %s is damaged (%d bytes, %s): restore it from a backup, or delete it to start as a new node; %s",
				path("node.key"), len(keyText)-10, "key: malformed private key", never)},
		{name: "key too long", damage: writeFile(path("node.key"), bytes.Repeat([]byte("k"), 4096)),
			wantErr: fmt.Sprintf("ray: engine: node key %s is damaged (4096 bytes, %s): restore it from a backup, or delete it to start as a new node; %s",
				path("node.key"), `key: private key must start with "nodekey:"`, never)},
		{name: "key mode 0644", damage: chmodFile(path("node.key"), 0o644),
			wantLog: "node key was readable by other users; changed its mode to 0600", wantNets: []string{"home", "work"}},
		{name: "key missing, state present", damage: removeFile(path("node.key")),
			wantErr: fmt.Sprintf("ray: engine: node key %s is missing but %s holds 2 network(s) joined with it: restore the key from a backup, or move %s aside to start as a new node",
				path("node.key"), path("state.json"), path("state.json"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restoreStateFiles(t, n.stateDir, good)
			tt.damage(t)
			before := readStateFiles(t, n.stateDir)
			if tt.wantErr != "" {
				stderr, code := runDaemonOnce(t, l, n)
				if got := lastLine(stderr); got != tt.wantErr || code != 1 {
					t.Errorf("daemon exit %d, last stderr line:\n%s\nwant exit 1 and\n%s", code, got, tt.wantErr)
				}
				if strings.Contains(stderr, "panic") {
					t.Errorf("daemon panicked:\n%s", stderr)
				}
				after := readStateFiles(t, n.stateDir)
				for _, f := range stateFiles {
					if !bytes.Equal(before[f], after[f]) {
						t.Errorf("refused start changed %s: %q -> %q", f, before[f], after[f])
					}
				}
				if m, _ := filepath.Glob(path("state.json.corrupt-*")); len(m) != 0 {
					t.Errorf("refused start wrote %v", m)
				}
				if !t.Failed() {
					summary("%s: refused, exit %d: %s; files untouched", tt.name, code, lastLine(stderr))
				}
				return
			}
			logStart := logSize(t, n.logPath)
			l.start("n")
			st := l.status("n")
			l.stop("n")
			if st.Self.ID != self {
				t.Errorf("identity changed: %s, was %s", st.Self.ID, self)
			}
			var nets []string
			for _, nw := range st.Networks {
				nets = append(nets, nw.Name)
			}
			slices.Sort(nets)
			if !slices.Equal(nets, tt.wantNets) {
				t.Errorf("networks %v, want %v", nets, tt.wantNets)
			}
			log := logSince(t, n.logPath, logStart)
			if c := strings.Count(log, tt.wantLog); c != 1 {
				t.Errorf("log says %q %d times, want once:\n%s", tt.wantLog, c, log)
			}
			after := readStateFiles(t, n.stateDir)
			if !bytes.Equal(after["node.key"], good["node.key"]) {
				t.Errorf("node.key changed: %q -> %q", good["node.key"], after["node.key"])
			}
			if fi, err := os.Stat(path("node.key")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("node.key after the start: %v, %v; want mode 0600", fi.Mode(), err)
			}
			m, _ := filepath.Glob(path("state.json.corrupt-*"))
			if tt.corrupt == nil && len(m) != 0 {
				t.Errorf("intact state kept aside as %v", m)
			}
			if tt.corrupt != nil {
				if len(m) != 1 {
					t.Fatalf("damaged state kept as %v, want one file", m)
				}
				if kept, _ := os.ReadFile(m[0]); !bytes.Equal(kept, tt.corrupt) {
					t.Errorf("%s holds %q, want the damaged bytes %q", m[0], kept, tt.corrupt)
				}
			}
			summary("%s: started as %s with networks %v; log: %s", tt.name, st.Self.ID[:12], nets, tt.wantLog)
		})
	}

	t.Run("full disk", func(t *testing.T) {
		restoreStateFiles(t, n.stateDir, good)
		// alice, in the group rayfish, may change rayfish; she runs a copy
		// of ray in the lab directory, which she reaches.
		alice := osuser.Ensure(t, "alice", "rayfish")
		bin := filepath.Join(l.dir, "ray")
		run(t, "cp", l.bin, bin)
		run(t, "chmod", "0755", bin)
		asAlice := func(args ...string) (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := alice.Command(ctx, bin, append([]string{"--socket", n.socket}, args...)...).CombinedOutput()
			return string(out), err
		}
		logStart := logSize(t, n.logPath)
		l.start("n")
		lastGood, err := os.ReadFile(path("state.json"))
		if err != nil {
			t.Fatal(err)
		}
		free := fillDisk(t, n.stateDir)

		// The backup of the last good version is written first; the
		// temporary file is named nowhere.
		wantSave := fmt.Sprintf("back up %s: atomicfile: write %s: no space left on device", path("state.json"), path("state.json.bak"))
		out, err := asAlice("create", "full")
		if err != nil || !strings.Contains(out, `network "full"`) {
			t.Fatalf("ray create full as alice on a full disk: %v\n%s", err, out)
		}
		warning := "ray: warning: rayfish cannot save its state, changes are kept in memory until it can (retrying): " + wantSave
		if lastLine(out) != warning {
			t.Errorf("ray create full as alice on a full disk ends with\n%s\nwant\n%s", lastLine(out), warning)
		}
		time.Sleep(1500 * time.Millisecond) // three retries of the maintenance routine
		st := l.status("n")
		if st.SaveError != wantSave {
			t.Errorf("status save_error = %q, want %q", st.SaveError, wantSave)
		}
		if !slices.ContainsFunc(st.Networks, func(nw apitype.Network) bool { return nw.Name == "full" }) {
			t.Errorf("the change is not kept in memory: networks %+v", st.Networks)
		}
		want := "cannot save state (running on memory, retrying): " + st.SaveError
		if out, err := asAlice("status"); err != nil || !strings.Contains(out, want) {
			t.Errorf("ray status as alice: %v\n%s\nwant a line %q", err, out, want)
		}
		if got, err := os.ReadFile(path("state.json")); err != nil || !bytes.Equal(got, lastGood) {
			t.Errorf("state.json changed by a failed save (%v): %q, want %q", err, got, lastGood)
		}
		if c := strings.Count(logSince(t, n.logPath, logStart), "save failed; running on the state in memory and retrying"); c != 1 {
			t.Errorf("save failure logged %d times, want once", c)
		}
		if n.cmd.ProcessState != nil {
			t.Fatalf("daemon exited on a full disk: %v", n.cmd.ProcessState)
		}
		summary("full disk: `ray create full` as alice answered %q, then %q; status: %s; state.json kept its %d good bytes; daemon up",
			strings.SplitN(out, "\n", 2)[0], lastLine(out), want, len(lastGood))

		free()
		waitUntil(t, 5*time.Second, "save error cleared", func() bool { return l.status("n").SaveError == "" })
		if got, _ := os.ReadFile(path("state.json")); !bytes.Contains(got, []byte(`"full"`)) {
			t.Errorf("state.json after room came back lacks the change: %s", got)
		}
		l.stop("n")
		l.start("n")
		st = l.status("n")
		l.stop("n")
		if st.Self.ID != self || !slices.ContainsFunc(st.Networks, func(nw apitype.Network) bool { return nw.Name == "full" }) {
			t.Errorf("after the restart: self %s (was %s), networks %+v", st.Self.ID, self, st.Networks)
		}
		if log := logSince(t, n.logPath, logStart); !strings.Contains(log, "save works again") {
			t.Errorf("log does not say the save works again:\n%s", log)
		}
		summary("full disk freed: saved within 5 s, the change loads after a restart, same identity")
	})
}

// runDaemonOnce starts n's daemon expecting it to refuse, and returns its
// stderr and exit status; a daemon still running after 15 s is killed and
// fails t.
func runDaemonOnce(t *testing.T, l *lab, n *node) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", n.ns, l.bin, "daemon", "--state-dir", n.stateDir,
		"--socket", n.socket, "--hostname", n.name, "--no-dns", "--no-dht")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("daemon did not refuse to start:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return stderr.String(), cmd.ProcessState.ExitCode()
}

// mountTmpfs mounts a tmpfs of size bytes (mode 0700) on dir; the cleanup
// stops the lab's daemons, which keep files open there, then unmounts it.
func mountTmpfs(t *testing.T, l *lab, dir string, size int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		for name := range l.nodes {
			l.stop(name)
		}
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
}

// fillDisk fills the file system holding dir and returns the function
// that frees the space again.
func fillDisk(t *testing.T, dir string) (free func()) {
	t.Helper()
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			break
		}
	}
	return func() {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	}
}

// readStateFiles returns the contents of stateFiles in dir (nil for a
// missing one).
func readStateFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, f := range stateFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		m[f] = b
	}
	return m
}

// restoreStateFiles puts files back in dir, mode 0600, and removes the
// damaged copies an earlier start kept aside.
func restoreStateFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(dir, "state.json.corrupt-*"))
	for _, f := range old {
		os.Remove(f)
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		writeFile(p, b)(t)
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(path string, b []byte) func(*testing.T) {
	return func(t *testing.T) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func chmodFile(path string, mode os.FileMode) func(*testing.T) {
	return func(t *testing.T) {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
}

func removeFile(path string) func(*testing.T) {
	return func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// logSize is the length of the daemon log at path (0 if there is none).
func logSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// logSince returns the daemon log at path from offset on.
func logSince(t *testing.T, path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[offset:])
}
