package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestPrintStatusSaveError: `ray status` says when the daemon cannot save
// its state (a full disk), and says nothing once saves work.
func TestPrintStatusSaveError(t *testing.T) {
	for _, tt := range []struct {
		saveErr, want string
	}{
		{"write /var/lib/rayfish/state.json: no space left on device",
			"cannot save state (running on memory, retrying): write /var/lib/rayfish/state.json: no space left on device\n"},
		{"", ""},
	} {
		var b strings.Builder
		printStatus(&b, &apitype.Status{State: apitype.StateUp, SaveError: tt.saveErr})
		if got := strings.Contains(b.String(), "cannot save state"); got != (tt.want != "") || !strings.Contains(b.String(), tt.want) {
			t.Errorf("SaveError %q: status output is\n%s\nwant it to hold %q", tt.saveErr, b.String(), tt.want)
		}
	}
}

// TestWarnUnsaved: a change made while the daemon cannot save its state
// (here its backup is a directory, as a full disk would fail it) works and
// says on stderr that it is kept in memory; reads say nothing, and neither
// does a change once saves work again.
func TestWarnUnsaved(t *testing.T) {
	n := startTestNode(t, "alpha")
	n.must(t, "create", "home")
	bak := filepath.Join(filepath.Dir(n.socket), "state", "state.json.bak")
	if err := os.MkdirAll(filepath.Join(bak, "child"), 0o700); err != nil {
		t.Fatal(err)
	}
	const warning = "ray: warning: rayfish cannot save its state, changes are kept in memory until it can (retrying): back up "

	out, errw, code := n.ray(t, "create", "work")
	if code != 0 || !strings.Contains(out, `network "work"`) || !strings.HasPrefix(errw, warning) || strings.Count(errw, "\n") != 1 {
		t.Errorf("create on a failing disk: exit %d, stdout %q, stderr %q; want success and one line starting %q", code, out, errw, warning)
	}
	if _, errw, code := n.ray(t, "status"); code != 0 || errw != "" {
		t.Errorf("status on a failing disk: exit %d, stderr %q; want it only in stdout", code, errw)
	}

	if err := os.RemoveAll(bak); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "the save retried", func() bool { return n.e.Status().SaveError == "" })
	if _, errw, code := n.ray(t, "create", "later"); code != 0 || errw != "" {
		t.Errorf("create once saves work: exit %d, stderr %q", code, errw)
	}
}
