package engine

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rayfish/rayfish/engine/internal/tmpfs"
)

// TestSaveOnFullDisk runs an engine whose state dir is a 64 KiB tmpfs
// (root only). With the disk full, a change is kept in memory, the save
// error is logged once and shown in Status, and state.json keeps its last
// good version; once there is room the retry saves it, and a restart
// loads it.
func TestSaveOnFullDisk(t *testing.T) {
	dir := tmpfs.Mount(t, 64<<10)
	var lb logBuf
	e, err := New(Config{StateDir: dir, Hostname: "self", Logger: lb.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.CreateNetwork("home", false); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(dir, "state.json")
	good, err := os.ReadFile(statePath)
	if err != nil || !bytes.Contains(good, []byte(`"home"`)) {
		t.Fatalf("state.json after the first save: %q, %v", good, err)
	}

	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			break
		}
	}
	f.Close()

	if _, err := e.CreateNetwork("work", false); err != nil {
		t.Fatalf("CreateNetwork on a full disk: %v", err)
	}
	for range 3 {
		e.flushSaved() // the maintenance routine's retries
	}
	if got := networkNames(e); got != "home,work" {
		t.Errorf("in-memory networks %q, want home,work", got)
	}
	if msg := e.Status().SaveError; !strings.Contains(msg, "no space left") {
		t.Errorf("Status().SaveError = %q, want the full disk", msg)
	}
	if n := lb.count("save failed"); n != 1 {
		t.Errorf("save failure logged %d times, want once", n)
	}
	if got, err := os.ReadFile(statePath); err != nil || !bytes.Equal(got, good) {
		t.Errorf("state.json changed by a failed save: %q, %v", got, err)
	}

	os.Remove(filler)
	e.flushSaved()
	if msg := e.Status().SaveError; msg != "" {
		t.Errorf("SaveError after room came back: %q", msg)
	}
	e.Close()
	e2, err := New(Config{StateDir: dir, Hostname: "self"})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if got := networkNames(e2); got != "home,work" {
		t.Errorf("networks after restart %q, want home,work", got)
	}
	if got, _ := os.ReadFile(statePath + ".bak"); !bytes.Equal(got, good) {
		t.Errorf("state.json.bak is not the last good version before the change")
	}
}
