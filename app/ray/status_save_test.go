package main

import (
	"strings"
	"testing"

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
