package main

import (
	"testing"

	"github.com/godbus/dbus/v5"
)

// node builds a dbusmenu layout node as godbus decodes one.
func node(id int32, props map[string]any, children ...any) []any {
	p := map[string]dbus.Variant{}
	for k, v := range props {
		p[k] = dbus.MakeVariant(v)
	}
	var cs []dbus.Variant
	for _, c := range children {
		cs = append(cs, dbus.MakeVariant(c))
	}
	return []any{id, p, cs}
}

func TestMenuItemID(t *testing.T) {
	layout := node(0, map[string]any{"children-display": "submenu"},
		node(1, map[string]any{"label": "Connect", "enabled": false}),
		node(2, map[string]any{"label": "Disconnect"}),
		node(3, map[string]any{"label": "Networks"},
			node(4, map[string]any{"label": "Join a network…"}),
			node(5, map[string]any{"label": "Hidden", "visible": false})),
		node(6, map[string]any{"label": "Quit", "enabled": true}),
	)
	tests := []struct {
		label string
		id    int32
		ok    bool
	}{
		{"Disconnect", 2, true},
		{"Connect", 0, false}, // disabled
		{"Join a network…", 4, true},
		{"Hidden", 0, false},
		{"Quit", 6, true},
		{"Nope", 0, false},
	}
	for _, tt := range tests {
		id, ok := menuItemID(layout, tt.label)
		if id != tt.id || ok != tt.ok {
			t.Errorf("menuItemID(%q) = %d, %v; want %d, %v", tt.label, id, ok, tt.id, tt.ok)
		}
	}
}
