//go:build !linux

package ui

// TrayHint explains how to get tray icons on desktops that show none.
const TrayHint = "rayfish lives in the system tray; on Windows 11 look in the overflow area (^) next to the clock."

// TrayAvailable reports whether the desktop shows tray icons; on this OS
// it always does.
func TrayAvailable() (bool, error) { return true, nil }
