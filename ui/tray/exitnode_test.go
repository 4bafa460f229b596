//go:build gui

package tray

import (
	"net/netip"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/rayfish/rayfish/assets"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui/state"
)

func exitModel(exit *apitype.ExitNode) *state.Model {
	m := state.New("1.0.0")
	m.Apply(apitype.WatchEvent{Type: apitype.EventSnapshot, Status: &apitype.Status{
		Version: "1.0.0",
		State:   apitype.StateUp,
		Self:    apitype.Self{ID: "selfid", Hostname: "laptop", IPv4: netip.MustParseAddr("100.64.0.1")},
		Peers: []apitype.Peer{
			{ID: "b", Hostname: "home-gw", IPv4: netip.MustParseAddr("100.64.0.3"), Online: true, ExitNodeOffer: true, ExitNodeApproved: true},
			{ID: "c", Hostname: "office", IPv4: netip.MustParseAddr("100.64.0.4"), Online: false, ExitNodeOffer: true, ExitNodeApproved: true},
			{ID: "d", Hostname: "nas", IPv4: netip.MustParseAddr("100.64.0.5"), Online: true, ExitNodeOffer: true, Routes: []string{"192.168.1.0/24"}},
		},
		ExitNode: exit,
	}})
	return m
}

// exitSection returns the Exit node lines of the menu dump.
func exitSection(dump string) string {
	i := strings.Index(dump, "Exit node")
	if i < 0 {
		return ""
	}
	rest := dump[i:]
	if j := strings.Index(rest, "\n---\n"); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

func TestExitNodeMenu(t *testing.T) {
	test.NewTempApp(t)
	var h fakeHost
	var r recorder
	acts := r.actions()
	acts.UseExitNode = func(id string) { r.got = append(r.got, "exit "+id) }
	tr := New(h.host(), acts, assets.Color)

	m := exitModel(nil)
	tr.Update(m)
	want := `Exit node
  ✓ None
  ---
  home-gw (online)
  office (offline)
`
	if got := exitSection(Dump(h.menus[0])); got != want {
		t.Errorf("no exit node:\n%s\nwant:\n%s", got, want)
	}
	item(t, h.menus[0], "home-gw (online)").Action()
	item(t, h.menus[0], "None").Action()
	if strings.Join(r.got, ",") != "exit b,exit " {
		t.Errorf("actions %q", r.got)
	}

	// The daemon reports the choice: it is checked, and the menu is rebuilt.
	m.Apply(apitype.WatchEvent{Type: apitype.EventRouting, ExitNode: &apitype.ExitNode{ID: "b", Hostname: "home-gw", State: apitype.ExitStateOnline}})
	tr.Update(m)
	want = `Exit node: home-gw
  None
  ---
  ✓ home-gw (online)
  office (offline)
`
	if len(h.menus) != 2 {
		t.Fatalf("menu not rebuilt: %d menus", len(h.menus))
	}
	if got := exitSection(Dump(h.menus[1])); got != want {
		t.Errorf("home-gw in use:\n%s\nwant:\n%s", got, want)
	}

	// The exit node went away: the state says traffic is blocked.
	m.Apply(apitype.WatchEvent{Type: apitype.EventRouting, ExitNode: &apitype.ExitNode{ID: "c", Hostname: "office", State: apitype.ExitStateOffline}})
	tr.Update(m)
	if got := exitSection(Dump(h.menus[2])); !strings.HasPrefix(got, "Exit node: office (offline, traffic blocked)\n") || !strings.Contains(got, "✓ office (offline)") {
		t.Errorf("office offline:\n%s", got)
	}
}
