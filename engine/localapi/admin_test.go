package localapi

import (
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestDiffRemoved: a removal from a network is a watch event of its own,
// so the GUI can say "You were removed from NETWORK".
func TestDiffRemoved(t *testing.T) {
	s1 := &apitype.Status{State: "up"}
	s2 := &apitype.Status{State: "up", Removed: []apitype.RemovedNetwork{{Name: "home", ID: "x"}}}
	evs := Diff(s1, s2)
	if len(evs) != 1 || evs[0].Type != apitype.EventRemoved || len(evs[0].Removed) != 1 || evs[0].Removed[0].Name != "home" {
		t.Fatalf("events %+v", evs)
	}
	if evs := Diff(s2, s1); len(evs) != 1 || evs[0].Type != apitype.EventRemoved || len(evs[0].Removed) != 0 {
		t.Errorf("dismissed removal: %+v", evs)
	}
}
