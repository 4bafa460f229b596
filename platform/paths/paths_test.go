package paths

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestFor(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	has := func(dirs ...string) func(string) bool {
		return func(p string) bool {
			for _, d := range dirs {
				if d == p {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name   string
		goos   string
		getenv func(string) string
		isDir  func(string) bool
		want   Defaults
	}{
		{"linux", "linux", env(nil), has("/run"), Defaults{
			State: "/var/lib/rayfish", Socket: "/run/rayfish/rayfish.sock", Log: "/var/log/rayfish"}},
		{"linux without /run", "linux", env(nil), has(), Defaults{
			State: "/var/lib/rayfish", Socket: "/var/run/rayfish/rayfish.sock", Log: "/var/log/rayfish"}},
		{"darwin", "darwin", env(nil), has("/run"), Defaults{
			State: "/Library/Application Support/rayfish", Socket: "/var/run/rayfish.sock", Log: "/Library/Logs/rayfish"}},
		{"windows", "windows", env(map[string]string{"ProgramData": `D:\Data`}), has(), Defaults{
			State: `D:\Data\rayfish`, Socket: `\\.\pipe\rayfish`, Log: `D:\Data\rayfish\logs`}},
		{"windows trailing backslash", "windows", env(map[string]string{"ProgramData": `D:\Data\`}), has(), Defaults{
			State: `D:\Data\rayfish`, Socket: `\\.\pipe\rayfish`, Log: `D:\Data\rayfish\logs`}},
		{"windows no env", "windows", env(nil), has(), Defaults{
			State: `C:\ProgramData\rayfish`, Socket: `\\.\pipe\rayfish`, Log: `C:\ProgramData\rayfish\logs`}},
		{"windows relative env ignored", "windows", env(map[string]string{"ProgramData": `..\x`}), has(), Defaults{
			State: `C:\ProgramData\rayfish`, Socket: `\\.\pipe\rayfish`, Log: `C:\ProgramData\rayfish\logs`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := For(tt.goos, tt.getenv, tt.isDir); got != tt.want {
				t.Errorf("For(%q) = %+v, want %+v", tt.goos, got, tt.want)
			}
		})
	}
}

func TestCurrent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("checks the Linux layout")
	}
	if got := StateDir(); got != "/var/lib/rayfish" {
		t.Errorf("StateDir() = %q", got)
	}
	if got := LogDir(); got != "/var/log/rayfish" {
		t.Errorf("LogDir() = %q", got)
	}
	if got := SocketPath(); got != "/run/rayfish/rayfish.sock" && got != "/var/run/rayfish/rayfish.sock" {
		t.Errorf("SocketPath() = %q", got)
	}
}

func TestEnsureStateDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes are ACLs on Windows")
	}
	base := t.TempDir()

	t.Run("creates", func(t *testing.T) {
		dir := filepath.Join(base, "a", "b")
		if err := EnsureStateDir(dir); err != nil {
			t.Fatal(err)
		}
		checkMode(t, dir, 0o700)
	})
	t.Run("tightens", func(t *testing.T) {
		dir := filepath.Join(base, "loose")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := EnsureStateDir(dir); err != nil {
			t.Fatal(err)
		}
		checkMode(t, dir, 0o700)
	})
	t.Run("idempotent", func(t *testing.T) {
		dir := filepath.Join(base, "twice")
		for range 2 {
			if err := EnsureStateDir(dir); err != nil {
				t.Fatal(err)
			}
		}
		checkMode(t, dir, 0o700)
	})
	t.Run("file in the way", func(t *testing.T) {
		f := filepath.Join(base, "file")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := EnsureStateDir(f); err == nil {
			t.Fatal("EnsureStateDir on a file succeeded")
		}
		checkMode(t, f, 0o644)
	})
	t.Run("empty", func(t *testing.T) {
		if err := EnsureStateDir(""); err == nil {
			t.Fatal("EnsureStateDir(\"\") succeeded")
		}
	})
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

func TestStateDirSDDL(t *testing.T) {
	// Protected DACL, full control for SYSTEM and Administrators, inherited
	// by children, and nobody else.
	if !strings.HasPrefix(stateDirSDDL, "D:P(") {
		t.Errorf("DACL not protected: %s", stateDirSDDL)
	}
	aces := strings.Split(strings.TrimSuffix(strings.TrimPrefix(stateDirSDDL, "D:P("), ")"), ")(")
	want := []string{"A;OICI;FA;;;SY", "A;OICI;FA;;;BA"}
	if strings.Join(aces, "|") != strings.Join(want, "|") {
		t.Errorf("ACEs = %q, want %q", aces, want)
	}
}
