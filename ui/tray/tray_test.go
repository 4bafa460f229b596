//go:build gui

package tray

import (
	"github.com/rayfish/rayfish/ui/views"
	"net/netip"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/rayfish/rayfish/assets"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui/state"
)

type fakeHost struct {
	menus    []*fyne.Menu
	icons    []string
	tooltips []string
}

func (h *fakeHost) host() Host {
	return Host{
		SetMenu:    func(m *fyne.Menu) { h.menus = append(h.menus, m) },
		SetIcon:    func(r fyne.Resource) { h.icons = append(h.icons, r.Name()) },
		SetTooltip: func(s string) { h.tooltips = append(h.tooltips, s) },
	}
}

type recorder struct{ got []string }

func (r *recorder) actions() Actions {
	return Actions{
		Connect:     func() { r.got = append(r.got, "connect") },
		Disconnect:  func() { r.got = append(r.got, "disconnect") },
		StartDaemon: func() { r.got = append(r.got, "start") },
		Show:        func(t views.Tab) { r.got = append(r.got, "show "+string(t)) },
		Copy:        func(what, text string) { r.got = append(r.got, "copy "+what+" "+text) },
		Quit:        func() { r.got = append(r.got, "quit") },
	}
}

func model(st string, reqs ...apitype.JoinRequest) *state.Model {
	m := state.New("1.0.0")
	m.Apply(apitype.WatchEvent{Type: apitype.EventSnapshot, Status: &apitype.Status{
		Version: "1.0.0",
		State:   st,
		Self:    apitype.Self{ID: "selfid", Hostname: "laptop", IPv4: netip.MustParseAddr("100.64.0.1")},
		Networks: []apitype.Network{
			{Name: "home", Admin: true, Members: 3},
			{Name: "work", Open: true, Members: 12},
		},
		Peers: []apitype.Peer{
			{ID: "b", Hostname: "nas", IPv4: netip.MustParseAddr("100.64.0.3"), Online: true, Path: apitype.PathRelay},
			{ID: "a", Hostname: "desktop", IPv4: netip.MustParseAddr("100.64.0.2"), Online: false},
			{ID: "c", Hostname: "phone", IPv4: netip.MustParseAddr("100.64.0.4"), Online: true, Path: apitype.PathDirect},
		},
		Requests: reqs,
	}})
	return m
}

func item(t *testing.T, m *fyne.Menu, label string) *fyne.MenuItem {
	t.Helper()
	for _, it := range m.Items {
		if it.Label == label {
			return it
		}
		if it.ChildMenu != nil {
			for _, c := range it.ChildMenu.Items {
				if c.Label == label {
					return c
				}
			}
		}
	}
	t.Fatalf("no menu item %q in\n%s", label, Dump(m))
	return nil
}

func TestMenuConnected(t *testing.T) {
	test.NewTempApp(t)
	var h fakeHost
	var r recorder
	tr := New(h.host(), r.actions(), assets.Color)
	m := model(apitype.StateUp)
	tr.Update(m)
	if len(h.menus) != 1 {
		t.Fatalf("menus set: %d", len(h.menus))
	}
	want := `[Connected]
[Connect]
Disconnect
---
This device: laptop (100.64.0.1)
Peers (2 of 3 online)
  ● nas (100.64.0.3) — relay
  ● phone (100.64.0.4) — direct
  ○ desktop (100.64.0.2) — offline
Networks (2)
  home (admin, 3 members)
  work (open, 12 members)
  ---
  Join a network…
  Create a network…
Exit node
  ✓ None
---
Open rayfish
Settings…
About rayfish
---
Quit
`
	if got := Dump(h.menus[0]); got != want {
		t.Errorf("menu:\n%s\nwant:\n%s", got, want)
	}
	if len(h.icons) != 1 || h.icons[0] != "rayfish-connected-color.png" {
		t.Errorf("icons = %v", h.icons)
	}
	if len(h.tooltips) != 1 || !strings.Contains(h.tooltips[0], "2 of 3 peers online") {
		t.Errorf("tooltips = %v", h.tooltips)
	}

	menu := h.menus[0]
	item(t, menu, "Disconnect").Action()
	item(t, menu, "This device: laptop (100.64.0.1)").Action()
	item(t, menu, "● nas (100.64.0.3) — relay").Action()
	item(t, menu, "Settings…").Action()
	item(t, menu, "Quit").Action()
	wantActs := []string{"disconnect", "copy This device's address 100.64.0.1", "copy nas's address 100.64.0.3", "show settings", "quit"}
	if strings.Join(r.got, ",") != strings.Join(wantActs, ",") {
		t.Errorf("actions = %q, want %q", r.got, wantActs)
	}
	if !menu.Items[len(menu.Items)-1].IsQuit {
		t.Error("Quit is not the quit item")
	}

	// Nothing visible changed: the menu is not rebuilt.
	tr.Update(m)
	if len(h.menus) != 1 || len(h.icons) != 1 {
		t.Errorf("rebuilt without change: menus=%d icons=%d", len(h.menus), len(h.icons))
	}
}

func TestMenuStates(t *testing.T) {
	test.NewTempApp(t)
	tests := []struct {
		name  string
		model func() *state.Model
		icon  string
		has   []string
		lacks []string
	}{
		{
			name:  "disconnected",
			model: func() *state.Model { return model(apitype.StateDown) },
			icon:  "rayfish-disconnected-color.png",
			has:   []string{"[Disconnected]", "\nConnect\n", "[Disconnect]"},
		},
		{
			name: "daemon not running",
			model: func() *state.Model {
				m := model(apitype.StateUp)
				m.DaemonGone(nil)
				return m
			},
			icon:  "rayfish-disconnected-color.png",
			has:   []string{"[rayfish daemon is not running]", "\nStart daemon\n"},
			lacks: []string{"Connect", "Peers", "This device"},
		},
		{
			name:  "connecting",
			model: func() *state.Model { return state.New("1.0.0") },
			icon:  "rayfish-connecting-color.png",
			has:   []string{"[Connecting to the rayfish daemon…]", "[Connect]", "[Disconnect]"},
		},
		{
			name: "pending request",
			model: func() *state.Model {
				return model(apitype.StateUp, apitype.JoinRequest{Network: "home", ID: "x", Hostname: "tablet"})
			},
			icon: "rayfish-attention-color.png",
			has:  []string{"[Connected — 1 join request waiting]", "\n1 join request waiting…\n"},
		},
		{
			name: "version mismatch",
			model: func() *state.Model {
				m := model(apitype.StateUp)
				m.SetDaemonVersion(apitype.Version{Version: "2.0.0", APIVersion: apitype.APIVersion})
				return m
			},
			icon: "rayfish-connected-color.png",
			has:  []string{"About rayfish (versions differ)"},
		},
		{
			name: "error",
			model: func() *state.Model {
				m := model(apitype.StateUp)
				m.Fail(errTest("access denied"))
				return m
			},
			icon: "rayfish-error-color.png",
			has:  []string{"[Error: access denied]", "[Connect]", "[Disconnect]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h fakeHost
			var r recorder
			tr := New(h.host(), r.actions(), assets.Color)
			tr.Update(tt.model())
			dump := Dump(h.menus[0])
			for _, s := range tt.has {
				if !strings.Contains(dump, s) {
					t.Errorf("menu lacks %q:\n%s", s, dump)
				}
			}
			for _, s := range tt.lacks {
				if strings.Contains(dump, s) {
					t.Errorf("menu has %q:\n%s", s, dump)
				}
			}
			if h.icons[0] != tt.icon {
				t.Errorf("icon = %s, want %s", h.icons[0], tt.icon)
			}
		})
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestTapConnectAndStart(t *testing.T) {
	test.NewTempApp(t)
	var h fakeHost
	var r recorder
	tr := New(h.host(), r.actions(), assets.Template)
	tr.Update(model(apitype.StateDown))
	item(t, h.menus[0], "Connect").Action()
	m := model(apitype.StateDown)
	m.DaemonGone(nil)
	tr.Update(m)
	item(t, h.menus[1], "Start daemon").Action()
	if strings.Join(r.got, ",") != "connect,start" {
		t.Errorf("actions = %q", r.got)
	}
	if h.icons[0] != "rayfish-disconnected-template.png" {
		t.Errorf("icon = %s", h.icons[0])
	}
	tr.SetVariant(assets.White)
	tr.Update(m)
	if h.icons[len(h.icons)-1] != "rayfish-disconnected-white.png" {
		t.Errorf("icons = %v", h.icons)
	}
}

// TestTrayWarnings: the menu shows the online count and each warning
// (relay only, DNS not applied, update needed) as an item that opens the
// tab explaining it; the tooltip carries them too.
func TestTrayWarnings(t *testing.T) {
	m := model(apitype.StateUp)
	h, r := &fakeHost{}, &recorder{}
	tr := New(h.host(), r.actions(), assets.Color)
	tr.Update(m)
	if d := Dump(h.menus[len(h.menus)-1]); strings.Contains(d, "⚠") || !strings.Contains(d, "Peers (2 of 3 online)") {
		t.Fatalf("healthy menu:\n%s", d)
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventPeerRemoved, PeerID: "c"}) // only nas, relayed, is online
	m.Apply(apitype.WatchEvent{Type: apitype.EventDNS, DNS: &apitype.DNSHealth{State: apitype.DNSNotApplied}})
	m.SetDaemonVersion(apitype.Version{Version: "1.1.0", APIVersion: apitype.APIVersion})
	tr.Update(m)
	menu := h.menus[len(h.menus)-1]
	d := Dump(menu)
	for _, want := range []string{
		"⚠ relay only: 1 peer reached only through a relay (slower); see Diagnostics",
		"⚠ DNS not applied: .ray names do not resolve; see Diagnostics",
		"⚠ update needed: app and daemon versions differ (daemon 1.1.0, app 1.0.0)",
		"Peers (1 of 2 online)",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("menu lacks %q:\n%s", want, d)
		}
	}
	item(t, menu, "⚠ DNS not applied: .ray names do not resolve; see Diagnostics").Action()
	item(t, menu, "⚠ update needed: app and daemon versions differ (daemon 1.1.0, app 1.0.0)").Action()
	if got := strings.Join(r.got, ","); got != "show diagnostics,show about" {
		t.Errorf("warning items did %q", got)
	}
	tip := h.tooltips[len(h.tooltips)-1]
	if !strings.Contains(tip, "1 of 2 peers online") || !strings.Contains(tip, "⚠ DNS not applied") || !strings.Contains(tip, "⚠ update needed") {
		t.Errorf("tooltip %q", tip)
	}
}

// Dump renders a menu as indented text: disabled items in brackets,
// checked ones after "✓ ", separators as "---".
func Dump(m *fyne.Menu) string {
	var b strings.Builder
	var walk func(*fyne.Menu, string)
	walk = func(m *fyne.Menu, indent string) {
		for _, it := range m.Items {
			switch {
			case it.IsSeparator:
				b.WriteString(indent + "---\n")
			case it.Disabled:
				b.WriteString(indent + "[" + it.Label + "]\n")
			case it.Checked:
				b.WriteString(indent + "✓ " + it.Label + "\n")
			default:
				b.WriteString(indent + it.Label + "\n")
			}
			if it.ChildMenu != nil {
				walk(it.ChildMenu, indent+"  ")
			}
		}
	}
	walk(m, "")
	return b.String()
}
