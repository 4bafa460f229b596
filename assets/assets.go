// Package assets embeds rayfish's icons: the tray icon for each connection
// state in colour, white, black and macOS template variants, and the
// 256 px application icon. The PNGs are drawn by assets/internal/glyph and
// written by `go run ./assets/gen`; TestGenerated keeps them in sync.
package assets

import (
	"embed"
	"fmt"
)

//go:generate go run ./gen -out .

//go:embed icon.png
var appIcon []byte

//go:embed tray/*.png
var trayFS embed.FS

// State is a tray icon state.
type State string

// Tray icon states.
const (
	Connected    State = "connected"
	Connecting   State = "connecting"
	Disconnected State = "disconnected"
	Error        State = "error"
	Attention    State = "attention"
)

// Variant is a tray icon colour scheme.
type Variant string

// Variants: Color for most panels; White and Black are monochrome for dark
// and light panels; Template is for the macOS menu bar (only alpha counts).
const (
	Color    Variant = "color"
	White    Variant = "white"
	Black    Variant = "black"
	Template Variant = "template"
)

// AppIcon returns the 256 px application icon (PNG).
func AppIcon() []byte { return appIcon }

// TrayName returns the embedded file name of a tray icon.
func TrayName(s State, v Variant) string { return fmt.Sprintf("tray/%s_%s.png", s, v) }

// TrayIcon returns the tray icon (PNG, 64 px) for state s in variant v.
// An unknown state or variant yields the disconnected colour icon.
func TrayIcon(s State, v Variant) []byte {
	b, err := trayFS.ReadFile(TrayName(s, v))
	if err != nil {
		b, _ = trayFS.ReadFile(TrayName(Disconnected, Color))
	}
	return b
}
