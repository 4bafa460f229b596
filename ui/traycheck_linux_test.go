package ui

import (
	"errors"
	"testing"
)

// TestTrayAvailableNoBus: with no session bus address, no bus socket in
// XDG_RUNTIME_DIR and no dbus-launch to start one, the check says so
// with ErrNoSessionBus (and the app then starts no tray; see TrayUsable).
func TestTrayAvailableNoBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	ok, err := TrayAvailable()
	if ok || !errors.Is(err, ErrNoSessionBus) {
		t.Fatalf("TrayAvailable() = %v, %v; want false and ErrNoSessionBus", ok, err)
	}
}
