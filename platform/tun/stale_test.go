package tun

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestIsStale(t *testing.T) {
	ours := "rayfish Tunnel"
	tests := []struct {
		a    adapter
		name string
		want bool
	}{
		{adapter{Name: "rayfish", Description: ours}, "rayfish", true},
		{adapter{Name: "RayFish", Description: "RAYFISH tunnel"}, "rayfish", true},
		{adapter{Name: "rayfish 1", Description: ours}, "rayfish", true},
		{adapter{Name: "rayfish 12", Description: ours}, "rayfish", true},
		{adapter{Name: "rayfish 12345", Description: ours}, "rayfish", false}, // Wintun stops at 1000
		{adapter{Name: "rayfish x", Description: ours}, "rayfish", false},
		{adapter{Name: "rayfish ", Description: ours}, "rayfish", false},
		{adapter{Name: "rayfish2", Description: ours}, "rayfish", false},
		{adapter{Name: "rayfis", Description: ours}, "rayfish", false},
		{adapter{Name: "other", Description: ours}, "rayfish", false},
		// Another program's Wintun adapter, even with our name, is left alone.
		{adapter{Name: "rayfish", Description: "WireGuard Tunnel"}, "rayfish", false},
		{adapter{Name: "rayfish 1", Description: "WireGuard Tunnel"}, "rayfish", false},
		{adapter{Name: "", Description: ours}, "", false},
		{adapter{Name: "wg0", Description: ours}, "wg0", true},
	}
	for _, tt := range tests {
		if got := isStale(tt.a, tt.name); got != tt.want {
			t.Errorf("isStale(%+v, %q) = %v, want %v", tt.a, tt.name, got, tt.want)
		}
	}
}

type fakeOps struct {
	list    []adapter
	listErr error
	fail    map[string]error
	removed []string
}

func (f *fakeOps) List() ([]adapter, error) { return f.list, f.listErr }

func (f *fakeOps) Remove(id string) error {
	if err := f.fail[id]; err != nil {
		return err
	}
	f.removed = append(f.removed, id)
	return nil
}

func TestRemoveStale(t *testing.T) {
	ours := TunnelType + " Tunnel"
	ops := &fakeOps{
		list: []adapter{
			{InstanceID: `SWD\Wintun\{A}`, Name: "rayfish", Description: ours, Present: true},
			{InstanceID: `SWD\Wintun\{B}`, Name: "rayfish 1", Description: ours, Present: false},
			{InstanceID: `SWD\Wintun\{C}`, Name: "rayfish", Description: "WireGuard Tunnel", Present: true},
			{InstanceID: `SWD\Wintun\{D}`, Name: "office", Description: ours, Present: true},
			{InstanceID: `SWD\Wintun\{E}`, Name: "rayfish 2", Description: ours, Present: true},
		},
		fail: map[string]error{`SWD\Wintun\{E}`: errors.New("access denied")},
	}
	removed, err := removeStale(ops, "rayfish")
	if want := []string{`SWD\Wintun\{A}`, `SWD\Wintun\{B}`}; !reflect.DeepEqual(ops.removed, want) {
		t.Errorf("removed %q, want %q", ops.removed, want)
	}
	if len(removed) != 2 || !strings.Contains(removed[0], "present") || !strings.Contains(removed[1], "orphaned") {
		t.Errorf("report = %q", removed)
	}
	// The one that failed is reported, and did not stop the others.
	if err == nil || !strings.Contains(err.Error(), "access denied") || !strings.Contains(err.Error(), `"rayfish 2"`) {
		t.Errorf("err = %v", err)
	}
	if slices.Contains(ops.removed, `SWD\Wintun\{C}`) {
		t.Error("removed another program's adapter")
	}
}

func TestRemoveStaleNothing(t *testing.T) {
	removed, err := removeStale(&fakeOps{}, "rayfish")
	if err != nil || len(removed) != 0 {
		t.Errorf("removeStale on no adapters = %q, %v", removed, err)
	}
	_, err = removeStale(&fakeOps{listErr: errors.New("no setupapi")}, "rayfish")
	if err == nil || !strings.Contains(err.Error(), "no setupapi") {
		t.Errorf("list error not reported: %v", err)
	}
}

func TestRemoveStaleOtherOS(t *testing.T) {
	if goos == "windows" {
		t.Skip("Windows removes real adapters")
	}
	removed, err := RemoveStale(DefaultName)
	if err != nil || removed != nil {
		t.Errorf("RemoveStale = %q, %v; want nothing on %s", removed, err, goos)
	}
}
