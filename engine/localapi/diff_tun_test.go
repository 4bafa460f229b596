package localapi

import (
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestDiffTUNError: a TUN error appearing or clearing is one "tun" event.
func TestDiffTUNError(t *testing.T) {
	ok := &apitype.Status{State: "up"}
	broken := &apitype.Status{State: "up", TUNError: "wintun.dll could not be loaded"}
	for _, tt := range []struct {
		prev, cur *apitype.Status
		want      string
	}{
		{ok, broken, "wintun.dll could not be loaded"},
		{broken, ok, ""},
	} {
		evs := Diff(tt.prev, tt.cur)
		if len(evs) != 1 || evs[0].Type != apitype.EventTUN || evs[0].TUNError != tt.want {
			t.Errorf("Diff(%q -> %q) = %+v", tt.prev.TUNError, tt.cur.TUNError, evs)
		}
	}
	if evs := Diff(broken, broken); len(evs) != 0 {
		t.Errorf("unchanged TUN error gave %+v", evs)
	}
}
