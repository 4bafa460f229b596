package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/platform/paths"
)

// A second daemon on a state directory in use stops before it touches
// DNS, the TUN or the key: it would run as the same node and undo the
// first one's configuration.
func TestDaemonRefusesLockedStateDir(t *testing.T) {
	dir := t.TempDir()
	held, err := paths.LockStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	// A DNS backup the first daemon owns must survive the second's start.
	backup := filepath.Join(dir, "dns-backup.json")
	if err := os.WriteFile(backup, []byte(`{"version":1,"mode":"resolv.conf"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Were the lock missing, the TUN name (too long for Linux) still keeps
	// the test from creating a device in the host's namespace, and
	// --no-portmap from asking the host's gateway for a mapping.
	f, err := parseDaemonFlags([]string{"--state-dir", dir, "--no-dns", "--no-portmap", "--tun", "rfE-name-too-long-for-a-tun"}, filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(f, slog.New(slog.DiscardHandler))
	if err == nil {
		d.Close()
		t.Fatal("second daemon started on a locked state dir")
	}
	if !errors.Is(err, paths.ErrStateDirInUse) || !strings.Contains(err.Error(), fmt.Sprintf("in use by pid %d", os.Getpid())) {
		t.Fatalf("err = %v, want state dir in use by pid %d", err, os.Getpid())
	}
	if _, err := os.Stat(backup); err != nil {
		t.Fatalf("first daemon's DNS backup: %v", err)
	}
}
