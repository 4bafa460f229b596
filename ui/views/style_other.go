//go:build gui && !darwin

package views

import "github.com/rayfish/rayfish/assets"

// DefaultTrayStyle is the tray icon style used until the user picks one.
const DefaultTrayStyle = assets.Color
