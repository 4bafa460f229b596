package main

import "testing"

func TestMenuItemID(t *testing.T) {
	layout := menuNode(0, map[string]any{"children-display": "submenu"},
		menuNode(1, map[string]any{"label": "Connect", "enabled": false}),
		menuNode(2, map[string]any{"label": "Disconnect"}),
		menuNode(3, map[string]any{"label": "Networks"},
			menuNode(4, map[string]any{"label": "Join a network…"}),
			menuNode(5, map[string]any{"label": "Hidden", "visible": false})),
		menuNode(6, map[string]any{"label": "Quit", "enabled": true}),
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
