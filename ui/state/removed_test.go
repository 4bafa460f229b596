package state

import (
	"slices"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func TestRemovedFromSnapshotAndEvents(t *testing.T) {
	home := apitype.RemovedNetwork{Name: "home", ID: "nethome"}
	lab := apitype.RemovedNetwork{Name: "lab", ID: "netlab", Deleted: true}
	tests := []struct {
		name   string
		events []apitype.WatchEvent
		want   []string
	}{
		{"none", []apitype.WatchEvent{{Type: apitype.EventSnapshot, Status: &apitype.Status{}}}, nil},
		{"snapshot", []apitype.WatchEvent{{Type: apitype.EventSnapshot, Status: &apitype.Status{Removed: []apitype.RemovedNetwork{home}}}}, []string{"home"}},
		{"event adds", []apitype.WatchEvent{
			{Type: apitype.EventSnapshot, Status: &apitype.Status{}},
			{Type: apitype.EventRemoved, Removed: []apitype.RemovedNetwork{home, lab}},
		}, []string{"home", "lab"}},
		{"event clears", []apitype.WatchEvent{
			{Type: apitype.EventSnapshot, Status: &apitype.Status{Removed: []apitype.RemovedNetwork{home}}},
			{Type: apitype.EventRemoved},
		}, nil},
		{"daemon stops", []apitype.WatchEvent{
			{Type: apitype.EventSnapshot, Status: &apitype.Status{Removed: []apitype.RemovedNetwork{home}}},
			{Type: apitype.EventStopping},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New("1.0.0")
			for _, ev := range tt.events {
				m.Apply(ev)
			}
			var got []string
			for _, r := range m.Removed() {
				got = append(got, r.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Removed() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRemovedText(t *testing.T) {
	at := time.Date(2026, 12, 4, 18, 30, 0, 0, time.Local)
	tests := []struct {
		r    apitype.RemovedNetwork
		want string
	}{
		{apitype.RemovedNetwork{Name: "home"}, "You were removed from home by an admin"},
		{apitype.RemovedNetwork{Name: "home", Time: at}, "You were removed from home by an admin (" + at.Format("Jan 2 15:04 MST") + ")"},
		{apitype.RemovedNetwork{Name: "lab", Deleted: true}, "lab was deleted by an admin"},
	}
	for _, tt := range tests {
		if got := RemovedText(tt.r); got != tt.want {
			t.Errorf("RemovedText(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}
