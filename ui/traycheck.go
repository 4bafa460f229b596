package ui

import "errors"

// ErrNoSessionBus is wrapped by TrayAvailable's error when the session
// bus cannot be reached at all.
var ErrNoSessionBus = errors.New("no session bus")

// TrayUsable decides from TrayAvailable's answer whether the app starts
// its tray icon. A failed check counts as a tray (the common case; the
// window is one click away) unless the session bus itself is missing:
// then no tray can show, and Fyne's systray, which keeps no connection
// when it cannot reach the bus, panics when the app quits.
func TrayUsable(ok bool, err error) bool {
	if err != nil {
		return !errors.Is(err, ErrNoSessionBus)
	}
	return ok
}
