//go:build gui

package views

import "github.com/rayfish/rayfish/assets"

// DefaultTrayStyle is the tray icon style used until the user picks one:
// the template icon, which macOS tints for the menu bar.
const DefaultTrayStyle = assets.Template
