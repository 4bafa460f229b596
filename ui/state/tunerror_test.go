package state

import (
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func TestTUNError(t *testing.T) {
	const why = `create TUN "rayfish": Error loading wintun.dll DLL: Unable to load library`
	m := New("1.0")
	steps := []struct {
		name string
		ev   apitype.WatchEvent
		want string
	}{
		{"snapshot with an error", apitype.WatchEvent{Type: apitype.EventSnapshot, Status: &apitype.Status{State: "up", TUNError: why}}, why},
		{"other events keep it", apitype.WatchEvent{Type: apitype.EventState, State: "down"}, why},
		{"cleared", apitype.WatchEvent{Type: apitype.EventTUN}, ""},
		{"back", apitype.WatchEvent{Type: apitype.EventTUN, TUNError: "again"}, "again"},
		{"daemon stopped", apitype.WatchEvent{Type: apitype.EventStopping}, ""},
	}
	for _, s := range steps {
		m.Apply(s.ev)
		if got := m.TUNError(); got != s.want {
			t.Errorf("%s: TUNError = %q, want %q", s.name, got, s.want)
		}
	}
}
