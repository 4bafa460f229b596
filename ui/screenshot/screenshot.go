//go:build gui

// Package screenshot renders rayfish's main window to PNG files without a
// display, using Fyne's software test driver. It talks to whatever
// ui.Client it is given: a real daemon (ui/cmd/rayfish-screenshot, used by
// the netns screenshot scripts) or a fake in tests.
package screenshot

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/state"
	"github.com/rayfish/rayfish/ui/views"
)

// Options configure Capture.
type Options struct {
	Client     ui.Client
	Socket     string // shown in About
	AppVersion string
	// Dir receives the PNGs.
	Dir string
	// Size is the window size (default 820×600).
	Size fyne.Size
	// Dark selects the dark theme (default light).
	Dark bool
}

// Tabs are captured in this order, one file each: <tab>.png.
var Tabs = []views.Tab{views.TabPeers, views.TabMap, views.TabNetworks, views.TabFirewall, views.TabDiag, views.TabSettings, views.TabAbout}

// Capture waits until the daemon answered (or is known to be away), then
// renders each tab of the main window into opts.Dir and returns the file
// names. It must not run alongside another Fyne app in the same process.
func Capture(ctx context.Context, opts Options) ([]string, error) {
	if opts.Size.IsZero() {
		opts.Size = fyne.NewSize(820, 600)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create screenshot dir: %w", err)
	}
	a := test.NewApp()
	defer a.Quit()
	variant := theme.VariantLight
	if opts.Dark {
		variant = theme.VariantDark
	}
	a.Settings().SetTheme(variantTheme{theme.DefaultTheme(), variant})

	queue := make(chan func(), 1024)
	ctl := ui.New(ui.Config{
		Client:     opts.Client,
		Socket:     opts.Socket,
		AppVersion: opts.AppVersion,
		Dispatch:   func(fn func()) { queue <- fn },
		StartDaemon: func(context.Context) error {
			return errors.New("not started from a screenshot")
		},
	})
	defer ctl.Close()
	win := views.NewMain(a, ctl, views.Options{})
	ctl.OnChange(win.Update)
	win.Window().Resize(opts.Size)
	win.Show(views.TabPeers)
	ctl.Start()

	// Run UI callbacks until the first snapshot (or failure).
	for !settled(ctl.Model()) {
		select {
		case fn := <-queue:
			fn()
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the daemon: %w", ctx.Err())
		}
	}

	var files []string
	for _, tab := range Tabs {
		win.Show(tab)
		if err := settle(ctx, ctl, queue); err != nil {
			return files, fmt.Errorf("tab %s: %w", tab, err)
		}
		name := filepath.Join(opts.Dir, string(tab)+".png")
		if err := writePNG(name, win.Window()); err != nil {
			return files, err
		}
		files = append(files, name)
	}
	return files, nil
}

func settled(m *state.Model) bool {
	c := m.Conn()
	return m.DaemonReachable() || c == state.DaemonUnavailable || c == state.Error
}

// settle runs queued UI callbacks until no API call is in flight and the
// queue is empty, so answers to calls a tab made on showing (Prefs) land.
func settle(ctx context.Context, ctl *ui.Controller, queue chan func()) error {
	for {
		if !ctl.Busy() && len(queue) == 0 {
			return nil
		}
		select {
		case fn := <-queue:
			fn()
		case <-ctx.Done():
			return fmt.Errorf("wait for the window to settle: %w", ctx.Err())
		}
	}
}

func writePNG(name string, w fyne.Window) error {
	img := w.Canvas().Capture()
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("create screenshot: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// variantTheme is the default theme in one variant, whatever the
// system prefers, so that a screenshot shows what it was asked to.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}
