//go:build gui

// Package views holds rayfish's windows: the main window with its Peers,
// Networks, Settings and About tabs, the daemon-unavailable banner, and
// desktop notifications. Views read the view model on the UI goroutine and
// act through the ui.Controller; they never call the daemon themselves.
package views

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/assets"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/autostart"
	"github.com/rayfish/rayfish/ui/state"
)

// Tab names a main window tab.
type Tab string

// Tabs.
const (
	TabPeers    Tab = "peers"
	TabMap      Tab = "map"
	TabNetworks Tab = "networks"
	TabJoin     Tab = "join" // the Networks tab, focused on the invite code entry
	TabDiag     Tab = "diagnostics"
	TabFirewall Tab = "firewall"
	TabSettings Tab = "settings"
	TabAbout    Tab = "about"
)

// Options configure the main window.
type Options struct {
	// Autostart manages "start at login"; nil hides the setting.
	Autostart autostart.Manager
	// OnTrayStyle is called when the user picks another tray icon style.
	OnTrayStyle func(assets.Variant)
	// Hint, when set, is shown above the tabs (for example how to enable
	// tray icons on a desktop that shows none).
	Hint string
	// OnVisible, when set, is told on the UI goroutine when the window is
	// about to show (true) and when it was closed to the tray (false): the
	// app lets the UI goroutine sleep while it is hidden (ui.Parker).
	OnVisible func(shown bool)
}

// Main is the main window.
type Main struct {
	app fyne.App
	ctl *ui.Controller
	win fyne.Window

	tabs     *container.AppTabs
	tabItems map[Tab]*container.TabItem

	header      header // what the header shows (updateHeader)
	headerDrawn bool

	// shown: the window is on screen. While it is hidden Update only
	// notes that the model changed (stale), and Show brings it up to date:
	// a hidden window costs no CPU.
	shown, stale bool
	onVisible    func(bool) // Options.OnVisible, never nil
	// staleTabs are tabs whose content missed model changes while another
	// tab was selected: only the selected tab follows the stream, and a
	// tab catches up when it is selected.
	staleTabs map[Tab]bool

	dot           *canvas.Circle
	status        *widget.Label
	connectBtn    *widget.Button
	disconnectBtn *widget.Button
	self          *widget.Label
	copySelf      *widget.Button

	banner *banner
	hint   *fyne.Container
	top    *fyne.Container // header, banner and hint
	root   *fyne.Container

	peers    *peersTab
	networks *networksTab
	mapv     *mapView
	diag     *diagnosticsTab
	firewall *firewallTab
	settings *settingsTab
	about    *aboutTab
}

// NewMain builds the main window (hidden). Closing it hides it; the app
// keeps running in the tray.
func NewMain(a fyne.App, ctl *ui.Controller, opts Options) *Main {
	w := &Main{app: a, ctl: ctl, win: a.NewWindow("rayfish"), onVisible: opts.OnVisible}
	if w.onVisible == nil {
		w.onVisible = func(bool) {}
	}
	w.win.SetIcon(fyne.NewStaticResource("rayfish.png", assets.AppIcon()))
	w.win.SetCloseIntercept(w.closeToTray)

	w.dot = canvas.NewCircle(color.Transparent)
	w.status = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.connectBtn = widget.NewButtonWithIcon("Connect", theme.MediaPlayIcon(), func() { ctl.Up(nil) })
	w.connectBtn.Importance = widget.HighImportance
	w.disconnectBtn = widget.NewButtonWithIcon("Disconnect", theme.MediaStopIcon(), func() { ctl.Down(nil) })
	w.self = widget.NewLabel("")
	w.copySelf = widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() {
		if ip := ctl.Model().Self().IPv4; ip.IsValid() {
			Copy(a, "This device's address", ip.String())
		}
	})

	w.banner = newBanner(ctl)
	w.hint = container.NewVBox()
	if opts.Hint != "" {
		l := widget.NewLabel(opts.Hint)
		l.Wrapping = fyne.TextWrapWord
		w.hint.Add(widget.NewCard("", "", l))
	}

	w.peers = newPeersTab(a, ctl, w.win, w.Invite)
	w.networks = newNetworksTab(a, ctl, w.win)
	w.mapv = newMapView(func(id string) {
		if p, ok := ctl.Model().Peer(id); ok {
			w.peers.details.open(p)
		}
	})
	legend := widget.NewLabel("Solid green: direct path · dashed orange: through the relay · grey: offline. Click a peer for its details (or Tab to it, arrows to move, Return).")
	legend.Wrapping = fyne.TextWrapWord
	w.diag = newDiagnosticsTab(a, ctl, w.win)
	w.firewall = newFirewallTab(ctl)
	w.settings = newSettingsTab(a, ctl, opts)
	w.about = newAboutTab(ctl)
	w.tabItems = map[Tab]*container.TabItem{
		TabPeers:    container.NewTabItemWithIcon("Peers", theme.ComputerIcon(), w.peers.content),
		TabMap:      container.NewTabItemWithIcon("Map", theme.GridIcon(), container.NewBorder(nil, legend, nil, nil, w.mapv)),
		TabNetworks: container.NewTabItemWithIcon("Networks", theme.StorageIcon(), w.networks.content),
		TabDiag:     container.NewTabItemWithIcon("Diagnostics", theme.SearchIcon(), w.diag.content),
		TabFirewall: container.NewTabItemWithIcon("Firewall", theme.VisibilityOffIcon(), w.firewall.content),
		TabSettings: container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), w.settings.content),
		TabAbout:    container.NewTabItemWithIcon("About", theme.InfoIcon(), w.about.content),
	}
	w.tabs = container.NewAppTabs()
	for _, tab := range tabOrder {
		w.tabs.Append(w.tabItems[tab])
	}
	w.staleTabs = map[Tab]bool{}
	w.tabs.OnSelected = func(it *container.TabItem) {
		for name, ti := range w.tabItems {
			if ti == it {
				a.Preferences().SetString(PrefWindowTab, string(name))
				if w.shown && w.staleTabs[name] {
					w.updateTab(name, ctl.Model())
					it.Content.Refresh()
				}
			}
		}
		switch it {
		case w.tabItems[TabSettings]:
			w.settings.reload()
		case w.tabItems[TabDiag]:
			w.diag.shown()
		case w.tabItems[TabFirewall]:
			w.firewall.reload()
		}
	}

	dotBox := container.NewGridWrap(fyne.NewSize(12, 12), w.dot)
	header := container.NewVBox(
		container.NewHBox(container.NewCenter(dotBox), w.status, layout.NewSpacer(), w.connectBtn, w.disconnectBtn),
		container.NewHBox(w.self, w.copySelf),
	)
	w.top = container.NewVBox(header, w.banner.content, w.hint, widget.NewSeparator())
	w.root = container.NewBorder(w.top, nil, nil, nil, w.tabs)
	w.win.SetContent(w.root)
	w.addShortcuts()
	w.win.Canvas().SetOnTypedKey(w.typedKey)
	w.restoreLayout()
	w.Update(ctl.Model())
	return w
}

// tabOrder is the tabs left to right; Alt+1… selects them.
var tabOrder = []Tab{TabPeers, TabMap, TabNetworks, TabFirewall, TabDiag, TabSettings, TabAbout}

// addShortcuts makes every tab reachable from the keyboard: Alt+1 to
// Alt+7 select the tabs, left to right.
func (w *Main) addShortcuts() {
	keys := []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3, fyne.Key4, fyne.Key5, fyne.Key6, fyne.Key7, fyne.Key8, fyne.Key9}
	for i, tab := range tabOrder[:min(len(tabOrder), len(keys))] {
		w.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: keys[i], Modifier: fyne.KeyModifierAlt}, func(fyne.Shortcut) {
			w.tabs.Select(w.tabItems[tab])
		})
	}
}

// Window layout preferences (fyne.Preferences).
const (
	PrefWindowTab    = "window_tab"    // Tab last selected
	PrefWindowWidth  = "window_width"  // float, last window width
	PrefWindowHeight = "window_height" // float, last window height
)

// defaultSize is the window's size until the user changes it.
var defaultSize = fyne.NewSize(820, 600)

// restoreLayout gives the window the size and tab it had last time.
func (w *Main) restoreLayout() {
	p := w.app.Preferences()
	size := fyne.NewSize(float32(p.FloatWithFallback(PrefWindowWidth, float64(defaultSize.Width))),
		float32(p.FloatWithFallback(PrefWindowHeight, float64(defaultSize.Height))))
	if size.Width < 400 || size.Height < 300 || size.Width > 10000 || size.Height > 10000 {
		size = defaultSize // nonsense in the preferences file
	}
	w.win.Resize(size)
	if it, ok := w.tabItems[Tab(p.String(PrefWindowTab))]; ok {
		w.tabs.Select(it)
	}
}

// SaveLayout remembers the window's size (the tab is remembered when it
// changes). The window hides and the app quits through it.
func (w *Main) SaveLayout() {
	size := w.win.Canvas().Size()
	if size.Width <= 0 || size.Height <= 0 {
		return
	}
	p := w.app.Preferences()
	p.SetFloat(PrefWindowWidth, float64(size.Width))
	p.SetFloat(PrefWindowHeight, float64(size.Height))
}

// Window returns the fyne window.
func (w *Main) Window() fyne.Window { return w.win }

// Show brings the window forward on tab (or the current tab if "").
func (w *Main) Show(tab Tab) {
	focus := fyne.Focusable(nil)
	if tab == TabJoin {
		tab, focus = TabNetworks, w.networks.joinCode
	}
	if !w.shown {
		w.shown = true
		w.onVisible(true)
		if w.stale {
			w.Update(w.ctl.Model())
		}
	}
	if it, ok := w.tabItems[tab]; ok {
		w.tabs.Select(it)
	}
	w.win.Show()
	w.win.RequestFocus()
	if focus != nil {
		w.win.Canvas().Focus(focus)
	}
}

// closeToTray hides the window; the app keeps running in the tray.
func (w *Main) closeToTray() {
	w.SaveLayout()
	w.shown = false
	w.win.Hide()
	w.onVisible(false)
}

// Invite brings the window forward on the Networks tab and asks the daemon
// for an invite code for network, as its Invite… button does.
func (w *Main) Invite(network string) {
	w.Show(TabNetworks)
	w.networks.invite.start(network)
}

// StartDaemon starts the daemon as the banner's button does, reporting
// progress in the banner.
func (w *Main) StartDaemon() { w.banner.startDaemon() }

// Update refreshes every part of the window from m; while the window is
// hidden it only notes the change for Show. UI goroutine only.
func (w *Main) Update(m *state.Model) {
	if !w.shown {
		w.stale = true
		return
	}
	w.stale = false
	w.updateHeader(m)
	sel := w.selectedTab()
	// Cheap updates (they compare before they draw) run whatever the tab;
	// the peer list, the map, the firewall and About only while shown.
	w.peers.update(m, sel == TabPeers)
	w.networks.update(m)
	w.diag.update(m)
	w.settings.update(m)
	for tab := range w.tabItems {
		if tab != sel {
			w.staleTabs[tab] = true
		}
	}
	w.updateTab(sel, m)
	// The daemon (re)appeared while one of these tabs is open.
	switch sel {
	case TabFirewall:
		if m.DaemonReachable() && !w.firewall.fetched {
			w.firewall.reload()
		}
	case TabDiag:
		w.diag.shown()
	}
}

// selectedTab names the selected tab.
func (w *Main) selectedTab() Tab {
	sel := w.tabs.Selected()
	for name, it := range w.tabItems {
		if it == sel {
			return name
		}
	}
	return ""
}

// updateTab brings tab up to date with m. UI goroutine only.
func (w *Main) updateTab(tab Tab, m *state.Model) {
	delete(w.staleTabs, tab)
	switch tab {
	case TabPeers:
		w.peers.refilter()
	case TabMap:
		w.mapv.set(m.Map())
	case TabFirewall:
		w.firewall.update(m)
	case TabAbout:
		w.about.update(m)
	}
}

// updateHeader shows the state, the buttons, this device and the banner;
// it lays the header out again only when something in it changed.
func (w *Main) updateHeader(m *state.Model) {
	h := header{conn: m.Conn(), status: m.StatusText(), canUp: m.CanConnect(), canDown: m.CanDisconnect(), self: m.SelfLabel(), banner: w.banner.key(m)}
	if w.headerDrawn && h == w.header {
		return
	}
	w.header, w.headerDrawn = h, true
	topSize := w.top.MinSize()
	w.dot.FillColor = stateColor(h.conn)
	w.dot.Refresh()
	w.status.SetText(h.status)
	setEnabled(w.connectBtn, h.canUp)
	setEnabled(w.disconnectBtn, h.canDown)
	if h.self != "" {
		w.self.SetText(h.self)
		w.self.Show()
		w.copySelf.Show()
	} else {
		w.self.Hide()
		w.copySelf.Hide()
	}
	w.banner.update(m)
	// Texts and visibility changed: lay the header out again, and the
	// whole window when the header's height changed.
	if w.top.MinSize() != topSize {
		w.root.Refresh()
	} else {
		w.top.Refresh()
	}
}

// header is what the window's header shows.
type header struct {
	conn           state.Conn
	status, self   string
	canUp, canDown bool
	banner         string
}

func stateColor(c state.Conn) color.Color {
	switch c {
	case state.Connected:
		return color.NRGBA{0x2e, 0xa0, 0x43, 0xff}
	case state.Connecting:
		return color.NRGBA{0xd2, 0x99, 0x22, 0xff}
	case state.Error:
		return color.NRGBA{0xda, 0x36, 0x33, 0xff}
	case state.NeedsAttention:
		return color.NRGBA{0xfb, 0x85, 0x00, 0xff}
	default:
		return color.NRGBA{0x8b, 0x94, 0x9e, 0xff}
	}
}

func setEnabled(w fyne.Disableable, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}

// Copy puts text on the clipboard and confirms it with a notification.
func Copy(a fyne.App, what, text string) {
	a.Clipboard().SetContent(text)
	a.SendNotification(fyne.NewNotification("Copied", what+" "+text+" is on the clipboard."))
}

// setText sets a label's text only when it differs (SetText redraws).
func setText(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
	}
}
