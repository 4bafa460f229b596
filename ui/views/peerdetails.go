//go:build gui

package views

import (
	"net/url"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/state"
)

// peerDetails is the dialog a click on a peer opens: addresses with copy
// buttons, networks, path and why it is relayed, round trip, traffic, the
// firewall rules that apply to the peer, and Ping. It follows the watch
// stream while open; the firewall is fetched once per opening.
type peerDetails struct {
	app fyne.App
	ctl *ui.Controller
	win fyne.Window

	id      string // the peer shown; "" while closed
	peer    apitype.Peer
	title   *widget.Label
	rows    *rowsView
	sparks  *sparksView
	gone    *widget.Label
	rules   *widget.Label
	pingBtn *keyButton
	pingMsg *widget.Label
	port    *tabEntry
	openBtn *keyButton
	openMsg *widget.Label
	dlg     *dialog.CustomDialog

	// openURL opens a URL in the browser (the app's; tests replace it).
	openURL func(*url.URL) error
}

func newPeerDetails(a fyne.App, ctl *ui.Controller, win fyne.Window) *peerDetails {
	d := &peerDetails{app: a, ctl: ctl, win: win, openURL: a.OpenURL}
	d.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	d.rows = newRowsView(a)
	d.sparks = newSparksView()
	d.gone = wrapLabel()
	d.gone.Importance = widget.WarningImportance
	d.gone.Hide()
	d.rules = wrapLabel()
	d.pingMsg = wrapLabel()
	d.pingBtn = newButton("Ping", theme.MediaPlayIcon(), func() { runPing(ctl, d.peer, d.pingMsg) })
	d.port = newEntry()
	d.port.SetPlaceHolder("Port, e.g. 8080")
	d.port.OnSubmitted = func(string) { d.openInBrowser() }
	d.openBtn = newButton("Open in browser…", theme.ComputerIcon(), d.openInBrowser)
	d.openMsg = wrapLabel()
	content := container.NewVScroll(container.NewVBox(
		d.title, d.gone, d.rows.content,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Last 5 minutes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		d.sparks.content,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Firewall rules for this peer", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		d.rules,
		container.NewHBox(d.pingBtn), d.pingMsg,
		container.NewBorder(nil, nil, nil, d.openBtn, d.port), d.openMsg,
	))
	d.dlg = newCustom(win, "Peer details", "Close", content)
	d.dlg.SetOnClosed(func() { d.id = "" })
	return d
}

// open shows p and fetches the firewall for its rules.
func (d *peerDetails) open(p apitype.Peer) {
	d.id = p.ID
	d.pingMsg.SetText("")
	d.openMsg.SetText("")
	d.show(p, true)
	d.rules.SetText("Reading the firewall…")
	d.ctl.Firewall(func(_ apitype.FirewallState, err error) {
		if err != nil {
			d.rules.SetText("Could not read the firewall: " + err.Error())
			return
		}
		d.update(d.ctl.Model())
	})
	// As tall as the window allows, up to everything shown at once.
	c := d.win.Canvas().Size()
	d.dlg.Resize(fyne.NewSize(min(640, c.Width-40), min(920, c.Height-40)))
	d.dlg.Show()
}

// update follows the stream while the dialog is open.
func (d *peerDetails) update(m *state.Model) {
	if d.id == "" {
		return
	}
	p, ok := m.Peer(d.id)
	if !ok {
		d.show(d.peer, false)
		return
	}
	d.show(p, true)
	if fw, ok := m.Firewall(); ok {
		d.rules.SetText(rulesText(state.RulesFor(fw.Rules, p), fw))
	}
}

func (d *peerDetails) show(p apitype.Peer, present bool) {
	d.peer = p
	name := p.Hostname
	if name == "" {
		name = state.ShortID(p.ID)
	}
	badge, _ := state.PeerBadge(p)
	d.title.SetText(name + " — " + badge)
	if present {
		d.gone.Hide()
	} else {
		d.gone.SetText("This peer no longer shares a network with this device.")
		d.gone.Show()
	}
	d.rows.set(state.PeerRows(p))
	d.sparks.set(state.PeerSparks(p))
	setEnabled(d.pingBtn, present && p.Online)
	setEnabled(d.openBtn, present)
}

// openInBrowser opens http://PEER:PORT/ for the port typed in.
func (d *peerDetails) openInBrowser() {
	h, _ := d.ctl.Model().DNS()
	s, err := state.PeerURL(d.peer, d.port.Text, h.State == apitype.DNSOK)
	if err != nil {
		d.openMsg.SetText(err.Error())
		return
	}
	u, err := url.Parse(s)
	if err == nil {
		err = d.openURL(u)
	}
	if err != nil {
		d.openMsg.SetText("Open " + s + ": " + err.Error())
		return
	}
	d.openMsg.SetText("Opened " + s + " (the peer's firewall must allow the port).")
}

// rulesText lists rules one a line, with the defaults that decide the rest.
func rulesText(rules []apitype.FirewallRule, fw apitype.FirewallState) string {
	s := ""
	for _, r := range rules {
		s += state.RuleText(r) + "\n"
	}
	if s == "" {
		s = "No rule names this peer or its networks.\n"
	}
	return s + "Everything else: inbound " + fw.DefaultIn + ", outbound " + fw.DefaultOut + "."
}
