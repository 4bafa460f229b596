//go:build gui

package views

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/assets"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/state"
)

// aboutTab shows the app's and the daemon's versions side by side; a
// mismatch is shown, not fatal.
type aboutTab struct {
	ctl      *ui.Controller
	daemon   *widget.Label
	mismatch *widget.Label
	drops    *widget.Label
	content  fyne.CanvasObject
}

func newAboutTab(ctl *ui.Controller) *aboutTab {
	t := &aboutTab{ctl: ctl}
	icon := canvas.NewImageFromResource(fyne.NewStaticResource("rayfish.png", assets.AppIcon()))
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSize(96, 96))
	t.daemon = widget.NewLabel("")
	t.mismatch = widget.NewLabel("")
	t.mismatch.Importance = widget.WarningImportance
	t.mismatch.Wrapping = fyne.TextWrapWord
	t.drops = widget.NewLabel("")
	t.drops.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("App", widget.NewLabel(versionText(ctl.AppVersion())+fmt.Sprintf(" (API %d)", apitype.APIVersion))),
		widget.NewFormItem("Daemon", t.daemon),
		widget.NewFormItem("Socket", widget.NewLabel(ctl.Socket())),
		widget.NewFormItem("Dropped packets", t.drops),
	)
	title := widget.NewLabelWithStyle("rayfish", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	sub := widget.NewLabelWithStyle("Peer-to-peer mesh VPN", fyne.TextAlignCenter, fyne.TextStyle{})
	t.content = container.NewVScroll(container.NewVBox(container.NewCenter(icon), title, sub, form, t.mismatch))
	return t
}

func versionText(v string) string {
	if v == "" {
		return "unknown"
	}
	return v
}

func (t *aboutTab) update(m *state.Model) {
	v, ok := m.DaemonVersion()
	switch {
	case !m.DaemonReachable():
		t.daemon.SetText("not running")
	case !ok:
		t.daemon.SetText("unknown")
	default:
		text := versionText(v.Version)
		if v.Commit != "" {
			text += " (" + v.Commit + ")"
		}
		if v.APIVersion != 0 {
			text += fmt.Sprintf(" (API %d)", v.APIVersion)
		}
		t.daemon.SetText(text)
	}
	if m.VersionMismatch() {
		t.mismatch.SetText("The app and the daemon are different versions. Things may not work as expected: update both to the same release.")
		t.mismatch.Show()
	} else {
		t.mismatch.SetText("")
		t.mismatch.Hide()
	}
	t.drops.SetText(dropsText(m.Drops()))
}

func dropsText(d map[string]uint64) string {
	if len(d) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(k, "_", " "), d[k]))
	}
	return strings.Join(parts, ", ")
}
