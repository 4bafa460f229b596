package dns

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/platform/paths"
)

// sidecar is where the copy of e.path's original is kept.
func (e resolvConfEnv) sidecar() string {
	return filepath.Join(filepath.Dir(e.path), "resolv.pre-rayfish.conf")
}

// restoreOK restores m and checks that e.path holds the user's original.
func (e resolvConfEnv) restoreOK(t *testing.T, m Manager) {
	t.Helper()
	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, e.path); got != userResolvConf {
		t.Errorf("after Restore resolv.conf =\n%s\nwant the user's original", got)
	}
}

var userUpstreams = []netip.AddrPort{netip.MustParseAddrPort("198.18.0.53:53"), netip.MustParseAddrPort("[2001:db8::53]:53")}

func TestResolvConfSidecarBackup(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, userResolvConf, 0o644)
	m := e.manager(t)
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, e.sidecar()); got != userResolvConf {
		t.Fatalf("backup beside the file =\n%s\nwant the original", got)
	}
	e.restoreOK(t, m)
	if exists(e.sidecar()) {
		t.Error("backup beside the file left after Restore")
	}
}

// A daemon killed and its state directory wiped: the next daemon finds
// the original beside the file, for its upstreams and to put back.
func TestResolvConfCrashWithWipedStateDir(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, userResolvConf, 0o644)
	if err := e.manager(t).Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	// Killed; then the state directory is wiped.
	if err := os.RemoveAll(e.stateDir); err != nil {
		t.Fatal(err)
	}
	m := e.manager(t)
	ups, err := m.Upstreams(magic...)
	if err != nil || !slices.Equal(ups, userUpstreams) {
		t.Fatalf("Upstreams after a wiped state dir = %v, %v; want %v", ups, err, userUpstreams)
	}
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	e.restoreOK(t, m)
	if exists(e.sidecar()) {
		t.Error("backup beside the file left after Restore")
	}
}

func TestResolvConfNeverOverwritesBackup(t *testing.T) {
	e := newEnv(t)
	const older = "# an older backup someone keeps\nnameserver 198.18.0.7\n"
	writeFile(t, e.sidecar(), older, 0o600)
	writeFile(t, e.path, userResolvConf, 0o644)
	m := e.manager(t)
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, e.sidecar()); got != older {
		t.Errorf("existing backup overwritten:\n%s", got)
	}
	e.restoreOK(t, m)
	if got := readFile(t, e.sidecar()); got != older {
		t.Errorf("existing backup changed by Restore:\n%s", got)
	}
}

// Two daemons (namespaces sharing /etc): the second leaves the first
// one's file alone while the first runs, and takes it over cleanly once
// the first is gone.
func TestResolvConfOtherDaemonsFile(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, userResolvConf, 0o644)
	first := filepath.Join(filepath.Dir(e.stateDir), "first")
	if err := os.MkdirAll(first, 0o700); err != nil {
		t.Fatal(err)
	}
	lock, err := paths.LockStateDir(first)
	if err != nil {
		t.Fatal(err)
	}
	if err := newResolvConf(e.path, first, testLog(t)).Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	managed := readFile(t, e.path)

	second := e.manager(t)
	err = second.Apply(applyCfg)
	if err == nil || !strings.Contains(err.Error(), "another rayfish daemon") || !strings.Contains(err.Error(), "in use by pid") {
		t.Fatalf("second daemon's Apply = %v, want a refusal naming the other daemon", err)
	}
	if got := readFile(t, e.path); got != managed {
		t.Errorf("second daemon changed the first one's file:\n%s", got)
	}
	if got := readFile(t, e.sidecar()); got != userResolvConf {
		t.Errorf("first daemon's backup =\n%s", got)
	}
	if exists(statePath(e.stateDir)) {
		t.Error("second daemon recorded rayfish's file as its backup")
	}

	// The first daemon is killed (lock released, no Restore).
	lock.Close()
	if err := second.Apply(applyCfg); err != nil {
		t.Fatalf("Apply over a dead daemon's file: %v", err)
	}
	e.restoreOK(t, second)
}

// Restore writes only into the very file rayfish wrote: a copy of it
// put in its place (another file, same content) is left alone.
func TestResolvConfRestoreOnlyIntoWrittenFile(t *testing.T) {
	for _, tt := range []struct {
		name    string
		replace func(t *testing.T, path string)
	}{
		{"same content, other file", func(t *testing.T, path string) {
			b := readFile(t, path)
			// Kept under another name so that its inode is not reused.
			if err := os.Rename(path, path+".old"); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, b, 0o644)
		}},
		{"same file, other content", func(t *testing.T, path string) {
			b := readFile(t, path)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("nameserver 198.18.0.66\n")
			f.Close()
			if b == readFile(t, path) {
				t.Fatal("content unchanged")
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			writeFile(t, e.path, userResolvConf, 0o644)
			m := e.manager(t)
			if err := m.Apply(applyCfg); err != nil {
				t.Fatal(err)
			}
			tt.replace(t, e.path)
			want := readFile(t, e.path)
			if err := m.Restore(); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, e.path); got != want {
				t.Errorf("Restore wrote into a file it did not write:\n%s", got)
			}
		})
	}
}

func TestResolvConfSearchDomains(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, userResolvConf, 0o644)
	m := e.manager(t)
	cfg := applyCfg
	cfg.Search = []string{"ray", "home.ray"}
	if err := m.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, e.path); !strings.Contains(got, "\nsearch ray home.ray corp.example lab.example\n") {
		t.Errorf("managed resolv.conf lacks the search domains:\n%s", got)
	}
	e.restoreOK(t, m)
}

// A daemon killed while rewriting the file (after recording the new
// version, before writing it) still gets the original back at the next
// start: the version on disk is one it recorded too.
func TestResolvConfKilledWhileRewriting(t *testing.T) {
	e := newEnv(t)
	writeFile(t, e.path, userResolvConf, 0o644)
	m := newResolvConf(e.path, e.stateDir, testLog(t))
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	// The search domains change; the daemon dies before the write.
	m.write = func(_ string, _ []byte, _ os.FileMode, before func(fileID) error) error {
		if err := before(fileID{Sum: "not yet written"}); err != nil {
			t.Fatal(err)
		}
		return nil
	}
	cfg := applyCfg
	cfg.Search = []string{"ray", "home.ray"}
	if err := m.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if err := RecoverAfterCrash(e.stateDir, testLog(t)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, e.path); got != userResolvConf {
		t.Errorf("after recovery:\n%s\nwant the original", got)
	}
}
