//go:build gui

package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/state"
)

// banner tells the user, in plain words, that the daemon is not running
// (with a button to start it), that it refused us (with Retry), or that it
// runs without its tunnel device (and why).
type banner struct {
	ctl     *ui.Controller
	title   *widget.Label
	detail  *widget.Label
	start   *widget.Button
	retry   *widget.Button
	msg     *widget.Label
	content *fyne.Container
}

func newBanner(ctl *ui.Controller) *banner {
	b := &banner{ctl: ctl}
	b.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	b.title.Importance = widget.DangerImportance
	b.detail = widget.NewLabel("")
	b.detail.Wrapping = fyne.TextWrapWord
	b.msg = widget.NewLabel("")
	b.msg.Wrapping = fyne.TextWrapWord
	b.start = widget.NewButtonWithIcon("Start daemon", theme.MediaPlayIcon(), b.startDaemon)
	b.start.Importance = widget.HighImportance
	b.retry = widget.NewButtonWithIcon("Retry", theme.ViewRefreshIcon(), ctl.Reconnect)
	b.content = container.NewVBox(b.title, b.detail, container.NewHBox(b.start, b.retry), b.msg)
	b.content.Hide()
	return b
}

func (b *banner) startDaemon() {
	b.start.Disable()
	b.msg.SetText("Starting the rayfish daemon…")
	b.ctl.StartDaemon(func(err error) {
		b.start.Enable()
		if err != nil {
			b.msg.SetText(err.Error())
			return
		}
		b.msg.SetText("")
	})
}

func (b *banner) update(m *state.Model) {
	switch m.Conn() {
	case state.DaemonUnavailable:
		b.title.SetText("rayfish daemon is not running")
		b.detail.SetText("The VPN is off. Start the daemon to connect; the app reconnects by itself once it runs.\n" + m.LastError())
		b.start.Show()
		b.retry.Show()
		b.content.Show()
	case state.Error:
		b.title.SetText("rayfish daemon refused the connection")
		b.detail.SetText(m.LastError())
		b.start.Hide()
		b.retry.Show()
		b.content.Show()
	default:
		if why := m.TUNError(); why != "" {
			// The daemon runs but has no network adapter (a Wintun driver
			// that will not load, say): nothing flows until it has one.
			b.title.SetText("rayfish has no network adapter yet")
			b.detail.SetText("The daemon runs but could not create its tunnel device, so no traffic flows; it keeps trying.\n" + why)
			b.start.Hide()
			b.retry.Hide()
			b.content.Show()
			return
		}
		b.msg.SetText("")
		b.content.Hide()
	}
}

// key is what update shows from m: update need not run while it is the
// same.
func (b *banner) key(m *state.Model) string {
	return m.Conn().String() + "\x00" + m.LastError() + "\x00" + m.TUNError()
}
