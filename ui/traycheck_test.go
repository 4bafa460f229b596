package ui

import (
	"errors"
	"fmt"
	"testing"
)

func TestTrayUsable(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
		err  error
		want bool
	}{
		{"a watcher owns its name", true, nil, true},
		{"no watcher (stock GNOME)", false, nil, false},
		{"the check failed on the bus", false, errors.New("look for a tray watcher: timeout"), true},
		{"no session bus", false, fmt.Errorf("%w: connect: no address", ErrNoSessionBus), false},
	} {
		if got := TrayUsable(tc.ok, tc.err); got != tc.want {
			t.Errorf("%s: TrayUsable(%v, %v) = %v, want %v", tc.name, tc.ok, tc.err, got, tc.want)
		}
	}
}
