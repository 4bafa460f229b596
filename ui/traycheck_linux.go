package ui

import (
	"fmt"

	"github.com/godbus/dbus/v5"
)

// TrayHint explains how to get tray icons on desktops that show none.
const TrayHint = "Your desktop does not show tray icons, so rayfish lives in this window. " +
	"On GNOME, install the \"AppIndicator and KStatusNotifierItem Support\" extension to get the rayfish icon in the top bar. " +
	"Until then, closing this window quits rayfish."

// TrayAvailable reports whether the desktop shows StatusNotifierItem tray
// icons: something must own org.kde.StatusNotifierWatcher on the session
// bus (stock GNOME has no such watcher). When the session bus cannot be
// reached, the error wraps ErrNoSessionBus.
func TrayAvailable() (bool, error) {
	conn, err := dbus.SessionBusPrivate()
	if err != nil {
		return false, fmt.Errorf("%w: connect: %w", ErrNoSessionBus, err)
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return false, fmt.Errorf("%w: auth: %w", ErrNoSessionBus, err)
	}
	if err := conn.Hello(); err != nil {
		return false, fmt.Errorf("%w: hello: %w", ErrNoSessionBus, err)
	}
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	if err != nil {
		return false, fmt.Errorf("look for a tray watcher: %w", err)
	}
	return has, nil
}
