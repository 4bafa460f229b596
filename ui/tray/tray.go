//go:build gui

// Package tray builds rayfish's system tray menu and icon from the view
// model. It rebuilds the menu only when something visible changed.
package tray

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"

	"github.com/rayfish/rayfish/assets"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui/state"
	"github.com/rayfish/rayfish/ui/views"
)

// maxPeers bounds the Peers submenu; the window lists the rest.
const maxPeers = 25

// Host is where the tray shows: desktop.App's methods, and the tooltip
// setter (fyne.io/systray's SetTooltip). Nil fields are skipped.
type Host struct {
	SetMenu    func(*fyne.Menu)
	SetIcon    func(fyne.Resource)
	SetTooltip func(string)
}

// Actions are what the menu items do. All run on the UI goroutine.
type Actions struct {
	Connect     func()
	Disconnect  func()
	StartDaemon func()
	// Show brings the main window forward on a tab.
	Show func(views.Tab)
	// Copy puts text on the clipboard and tells the user what was copied.
	Copy func(what, text string)
	// UseExitNode sends all traffic through the peer with node id id
	// ("": none).
	UseExitNode func(id string)
	Quit        func()
}

// Tray owns the tray menu and icon. UI goroutine only.
type Tray struct {
	host    Host
	act     Actions
	variant assets.Variant

	lastMenu    string
	lastIcon    state.Icon
	haveIcon    bool
	lastTooltip string
}

// New returns a tray that shows icons in variant v.
func New(host Host, act Actions, v assets.Variant) *Tray {
	return &Tray{host: host, act: act, variant: v}
}

// SetVariant changes the icon style; the next Update shows it.
func (t *Tray) SetVariant(v assets.Variant) {
	if v != t.variant {
		t.variant = v
		t.haveIcon = false
	}
}

// Update brings the tray in line with m.
func (t *Tray) Update(m *state.Model) {
	if ic := m.IconState(); !t.haveIcon || ic != t.lastIcon {
		t.lastIcon, t.haveIcon = ic, true
		if t.host.SetIcon != nil {
			t.host.SetIcon(Icon(ic, t.variant))
		}
	}
	if tip := m.TrayTooltip(); tip != t.lastTooltip {
		t.lastTooltip = tip
		if t.host.SetTooltip != nil {
			t.host.SetTooltip(tip)
		}
	}
	menu := t.Menu(m)
	if key := menuKey(menu); key != t.lastMenu {
		t.lastMenu = key
		if t.host.SetMenu != nil {
			t.host.SetMenu(menu)
		}
	}
}

// Icon returns the tray icon resource for a state.
func Icon(ic state.Icon, v assets.Variant) fyne.Resource {
	name := ic.String()
	return fyne.NewStaticResource("rayfish-"+name+"-"+string(v)+".png", assets.TrayIcon(assets.State(name), v))
}

// Menu builds the tray menu for m.
func (t *Tray) Menu(m *state.Model) *fyne.Menu {
	status := fyne.NewMenuItemWithIcon(m.StatusText(), Icon(m.IconState(), assets.Color), nil)
	status.Disabled = true
	items := []*fyne.MenuItem{status}
	for _, w := range m.Warnings() {
		items = append(items, fyne.NewMenuItem("⚠ "+w, func() { t.act.Show(warningTab(w)) }))
	}

	if m.Conn() == state.DaemonUnavailable {
		items = append(items, fyne.NewMenuItem("Start daemon", t.act.StartDaemon))
	} else {
		connect := fyne.NewMenuItem("Connect", t.act.Connect)
		connect.Disabled = !m.CanConnect()
		disconnect := fyne.NewMenuItem("Disconnect", t.act.Disconnect)
		disconnect.Disabled = !m.CanDisconnect()
		items = append(items, connect, disconnect)
	}
	items = append(items, fyne.NewMenuItemSeparator())

	if label := m.SelfLabel(); label != "" {
		self := m.Self()
		addr := self.IPv4.String()
		item := fyne.NewMenuItem(label, func() { t.act.Copy("This device's address", addr) })
		item.Disabled = !self.IPv4.IsValid()
		items = append(items, item)
	}
	if m.DaemonReachable() {
		items = append(items, t.peersItem(m), t.networksItem(m), t.exitItem(m))
		if n := len(m.Requests()); n > 0 {
			label := "1 join request waiting…"
			if n > 1 {
				label = fmt.Sprintf("%d join requests waiting…", n)
			}
			items = append(items, fyne.NewMenuItem(label, func() { t.act.Show(views.TabNetworks) }))
		}
		items = append(items, fyne.NewMenuItemSeparator())
	}

	about := "About rayfish"
	if m.VersionMismatch() {
		about = "About rayfish (versions differ)"
	}
	quit := fyne.NewMenuItem("Quit", t.act.Quit)
	quit.IsQuit = true
	items = append(items,
		fyne.NewMenuItem("Open rayfish", func() { t.act.Show(views.TabPeers) }),
		fyne.NewMenuItem("Settings…", func() { t.act.Show(views.TabSettings) }),
		fyne.NewMenuItem(about, func() { t.act.Show(views.TabAbout) }),
		fyne.NewMenuItemSeparator(),
		quit,
	)
	return fyne.NewMenu("rayfish", items...)
}

// warningTab is the tab that explains a warning: About for an update,
// Diagnostics for the rest.
func warningTab(w string) views.Tab {
	if strings.HasPrefix(w, "update needed") {
		return views.TabAbout
	}
	return views.TabDiag
}

func (t *Tray) peersItem(m *state.Model) *fyne.MenuItem {
	peers := m.Peers()
	var sub []*fyne.MenuItem
	for i, p := range peers {
		if i == maxPeers {
			sub = append(sub, fyne.NewMenuItem(fmt.Sprintf("%d more in the window…", len(peers)-i), func() { t.act.Show(views.TabPeers) }))
			break
		}
		sub = append(sub, t.peerItem(p))
	}
	if len(sub) == 0 {
		none := fyne.NewMenuItem("No peers yet", nil)
		none.Disabled = true
		sub = append(sub, none)
	}
	item := fyne.NewMenuItem(fmt.Sprintf("Peers (%d of %d online)", m.OnlinePeers(), len(peers)), nil)
	item.ChildMenu = fyne.NewMenu("Peers", sub...)
	return item
}

func (t *Tray) peerItem(p apitype.Peer) *fyne.MenuItem {
	dot := "○"
	if p.Online {
		dot = "●"
	}
	name := p.Hostname
	if name == "" {
		name = state.ShortID(p.ID)
	}
	badge, _ := state.PeerBadge(p)
	label := fmt.Sprintf("%s %s", dot, name)
	if p.IPv4.IsValid() {
		label += " (" + p.IPv4.String() + ")"
	}
	label += " — " + badge
	addr := p.IPv4.String()
	item := fyne.NewMenuItem(label, func() { t.act.Copy(name+"'s address", addr) })
	item.Disabled = !p.IPv4.IsValid()
	return item
}

func (t *Tray) networksItem(m *state.Model) *fyne.MenuItem {
	var sub []*fyne.MenuItem
	for _, n := range m.Networks() {
		var tags []string
		if n.Admin {
			tags = append(tags, "admin")
		}
		if n.Open {
			tags = append(tags, "open")
		}
		if n.Members == 1 {
			tags = append(tags, "1 member")
		} else {
			tags = append(tags, fmt.Sprintf("%d members", n.Members))
		}
		sub = append(sub, fyne.NewMenuItem(n.Name+" ("+strings.Join(tags, ", ")+")", func() { t.act.Show(views.TabNetworks) }))
	}
	if len(sub) > 0 {
		sub = append(sub, fyne.NewMenuItemSeparator())
	}
	sub = append(sub,
		fyne.NewMenuItem("Join a network…", func() { t.act.Show(views.TabJoin) }),
		fyne.NewMenuItem("Create a network…", func() { t.act.Show(views.TabNetworks) }),
	)
	item := fyne.NewMenuItem(fmt.Sprintf("Networks (%d)", len(m.Networks())), nil)
	item.ChildMenu = fyne.NewMenu("Networks", sub...)
	return item
}

// exitItem is "Exit node ▸": None, then the approved exit nodes with
// their online state; the one in use is checked.
func (t *Tray) exitItem(m *state.Model) *fyne.MenuItem {
	use := func(id string) func() {
		return func() {
			if t.act.UseExitNode != nil {
				t.act.UseExitNode(id)
			}
		}
	}
	none := fyne.NewMenuItem("None", use(""))
	none.Checked = m.ExitNode() == nil
	sub := []*fyne.MenuItem{none}
	choices := m.ExitChoices()
	if len(choices) > 0 {
		sub = append(sub, fyne.NewMenuItemSeparator())
	}
	for _, c := range choices {
		label := c.Hostname + " (offline)"
		if c.Online {
			label = c.Hostname + " (online)"
		}
		it := fyne.NewMenuItem(label, use(c.ID))
		it.Checked = c.Selected
		sub = append(sub, it)
	}
	label := "Exit node"
	if x := m.ExitNode(); x != nil {
		label = "Exit node: " + x.Hostname
		if x.State != apitype.ExitStateOnline {
			label += " (" + x.State + ", traffic blocked)"
		}
	}
	item := fyne.NewMenuItem(label, nil)
	item.ChildMenu = fyne.NewMenu("Exit node", sub...)
	return item
}

// menuKey renders what the user sees of a menu, to detect changes.
func menuKey(m *fyne.Menu) string {
	var b strings.Builder
	var walk func(*fyne.Menu, int)
	walk = func(m *fyne.Menu, depth int) {
		for _, it := range m.Items {
			fmt.Fprintf(&b, "%d|%s|%v|%v|%v|", depth, it.Label, it.Disabled, it.IsSeparator, it.Checked)
			if it.Icon != nil {
				b.WriteString(it.Icon.Name())
			}
			b.WriteByte('\n')
			if it.ChildMenu != nil {
				walk(it.ChildMenu, depth+1)
			}
		}
	}
	walk(m, 0)
	return b.String()
}
