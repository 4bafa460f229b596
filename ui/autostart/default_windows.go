package autostart

import (
	"os"
	"path/filepath"
)

// defaultManager: the MSI's HKLM Run key starts the app at every user's
// login; this user's choice is the opt-out marker in their config dir.
func defaultManager(string, []string) Manager {
	dir, err := os.UserConfigDir()
	if err != nil {
		return unsupported{}
	}
	return OptOut{Marker: filepath.Join(dir, "rayfish", "no-autostart")}
}
