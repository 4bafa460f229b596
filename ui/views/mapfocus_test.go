//go:build gui

package views

import (
	"fmt"
	"image/color"
	"net/netip"
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

const (
	nasKey   = "peer:k7nas0000000000"
	phoneKey = "peer:k7phone00000000"
	workOff  = "offline:work" // desktop, offline in work
)

// mapFocus returns the focus key of the map node with the focus, or "".
func mapFocus(c fyne.Canvas) string {
	if n, ok := c.Focused().(*mapNode); ok {
		return n.key
	}
	return ""
}

// tabToMap presses Tab until a map node has the focus.
func tabToMap(t *testing.T, c fyne.Canvas) string {
	t.Helper()
	for range 300 {
		c.FocusNext()
		if k := mapFocus(c); k != "" {
			return k
		}
	}
	t.Fatal("Tab never reaches the map")
	return ""
}

// ringShown reports whether n draws its focus ring.
func ringShown(t *testing.T, n *mapNode) bool {
	t.Helper()
	return test.TempWidgetRenderer(t, n).Objects()[0].Visible()
}

// closeDetails waits for the details a key opened, closes them and
// returns whose they were.
func closeDetails(t *testing.T, h *harness) string {
	t.Helper()
	h.fake.WaitCall(t, "Firewall")
	d := h.win.peers.details
	id := d.id
	h.q.RunUntil(t, func() bool { return !h.ctl.Busy() })
	d.dlg.Hide()
	return id
}

// mapHarness starts the app on st with the Map tab open.
func mapHarness(t *testing.T, st *apitype.Status) (*harness, *mapView, fyne.Canvas) {
	t.Helper()
	h := newHarness(t, Options{})
	h.fake.SetFirewall(fwState())
	h.start(st)
	h.win.Show(TabMap)
	return h, h.win.mapv, h.win.win.Canvas()
}

// TestMapKeyboard: Tab reaches the map's nodes in focus order (this device
// and the relay have no action and are skipped), the focused node shows a
// ring, arrows go round the nodes, Return and Space open a peer's details
// and Return on the offline node lists its peers; Tab and Shift+Tab leave
// the map at its ends.
func TestMapKeyboard(t *testing.T) {
	h, v, c := mapHarness(t, status(apitype.StateUp)) // nas relayed, phone direct, desktop offline
	press := func(k fyne.KeyName) { c.Focused().TypedKey(&fyne.KeyEvent{Name: k}) }
	if got := v.layout.FocusKeys(); !slices.Equal(got, []string{nasKey, phoneKey, workOff}) {
		t.Fatalf("focus order %q", got)
	}

	if k := tabToMap(t, c); k != nasKey {
		t.Fatalf("Tab enters the map at %q", k)
	}
	if !ringShown(t, v.nodes[nasKey]) || ringShown(t, v.nodes[phoneKey]) {
		t.Error("the ring is not on the focused node alone")
	}
	c.FocusNext()
	if k := mapFocus(c); k != phoneKey {
		t.Errorf("Tab from nas went to %q", k)
	}
	if ringShown(t, v.nodes[nasKey]) || !ringShown(t, v.nodes[phoneKey]) {
		t.Error("the ring did not follow the focus")
	}

	// Arrows go round and wrap; Home and End.
	for _, step := range []struct {
		key  fyne.KeyName
		want string
	}{
		{fyne.KeyRight, workOff}, {fyne.KeyDown, nasKey}, {fyne.KeyLeft, workOff},
		{fyne.KeyUp, phoneKey}, {fyne.KeyHome, nasKey}, {fyne.KeyEnd, workOff},
	} {
		press(step.key)
		if k := mapFocus(c); k != step.want {
			t.Fatalf("%s: focus on %q, want %q", step.key, k, step.want)
		}
	}

	// Return on a peer opens its details; the focus is back on the
	// node when they close. Space does the same.
	press(fyne.KeyLeft)
	press(fyne.KeyReturn)
	if id := closeDetails(t, h); id != "k7phone00000000" {
		t.Errorf("Return on phone opened %q", id)
	}
	if k := mapFocus(c); k != phoneKey {
		t.Errorf("after the details the focus is on %q", k)
	}
	press(fyne.KeyUp)
	press(fyne.KeySpace)
	if id := closeDetails(t, h); id != "k7nas0000000000" {
		t.Errorf("Space on nas opened %q", id)
	}

	// Return on "1 offline" lists desktop; Return in the list opens it.
	press(fyne.KeyEnd)
	press(fyne.KeyReturn)
	if v.menu == nil || !v.menu.Visible() || c.Focused() != fyne.Focusable(v.menu) {
		t.Fatal("Return on the offline node shows no focused list")
	}
	press(fyne.KeyReturn)
	if id := closeDetails(t, h); id != "k7desk00000000" {
		t.Errorf("the offline list opened %q", id)
	}
	// Escape closes the list without opening anything.
	press(fyne.KeyReturn)
	press(fyne.KeyEscape)
	if v.menu.Visible() || mapFocus(c) != workOff {
		t.Errorf("after Escape: list shown %v, focus on %q", v.menu.Visible(), mapFocus(c))
	}
	h.fake.NoCall(t)

	// A click on the offline node lists its peers too.
	test.Tap(v.nodes[workOff])
	if !v.menu.Visible() {
		t.Error("a click on the offline node lists nothing")
	}
	v.menu.Hide()

	// No trap: Tab from the last node and Shift+Tab from the first
	// leave the map.
	c.FocusNext()
	if k := mapFocus(c); k != "" || c.Focused() == nil {
		t.Errorf("Tab from the last node: focus on map node %q / %v", k, c.Focused())
	}
	c.Focus(v.nodes[nasKey])
	c.FocusPrevious()
	if k := mapFocus(c); k != "" || c.Focused() == nil {
		t.Errorf("Shift+Tab from the first node: focus on map node %q / %v", k, c.Focused())
	}
}

// TestMapFocusFollowsStream: the focused node keeps the focus while the
// stream reorders the peers; when it goes the focus moves to its
// neighbour (a peer that goes offline: its offline node); when every
// node goes the focus is cleared (Tab starts again from the top), and
// nothing panics.
func TestMapFocusFollowsStream(t *testing.T) {
	h, v, c := mapHarness(t, status(apitype.StateUp))
	send := func(ev apitype.WatchEvent, done func() bool) {
		t.Helper()
		h.fake.Send(ev)
		h.q.RunUntil(t, done)
	}
	order := func() []string { return v.layout.FocusKeys() }

	c.Focus(v.nodes[phoneKey])
	phoneNode := v.nodes[phoneKey]

	// nas renamed: it moves after phone; phone keeps the focus.
	nas, _ := h.ctl.Model().Peer("k7nas0000000000")
	nas.Hostname = "zz-nas"
	send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &nas}, func() bool { return order()[0] == phoneKey })
	if c.Focused() != fyne.Focusable(phoneNode) || !ringShown(t, phoneNode) {
		t.Fatalf("after a reorder the focus is on %q", mapFocus(c))
	}
	c.FocusNext()
	if k := mapFocus(c); k != nasKey {
		t.Errorf("Tab after the reorder goes to %q, want nas", k)
	}
	c.Focus(phoneNode)

	// phone removed while the window is in the background (its focus
	// manager still holds phone): the focus goes to the next node, nas.
	phoneNode.FocusLost() // what the driver does when the window loses the focus
	send(apitype.WatchEvent{Type: apitype.EventPeerRemoved, PeerID: "k7phone00000000"},
		func() bool { return v.layout.FocusIndex(phoneKey) < 0 })
	if k := mapFocus(c); k != nasKey || !ringShown(t, v.nodes[nasKey]) {
		t.Errorf("phone went: focus on %q", k)
	}

	// nas goes offline: the focus goes to home's offline node.
	nas.Online, nas.Path = false, apitype.PathNone
	send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &nas}, func() bool { return v.layout.FocusIndex(nasKey) < 0 })
	if k := mapFocus(c); k != "offline:home" {
		t.Errorf("nas went offline: focus on %q", k)
	}

	// Everyone goes: no panic, Tab leaves the vanished node.
	for _, id := range []string{"k7nas0000000000", "k7desk00000000"} {
		send(apitype.WatchEvent{Type: apitype.EventPeerRemoved, PeerID: id}, func() bool { _, ok := h.ctl.Model().Peer(id); return !ok })
	}
	h.q.RunUntil(t, func() bool { return len(order()) == 0 })
	if f := c.Focused(); f != nil {
		t.Errorf("with no node left the focus stays on %v", f)
	}
	c.FocusNext()
	if k := mapFocus(c); k != "" {
		t.Errorf("Tab with no peers left focuses map node %q", k)
	}
}

// mapStatus has n peers in two networks: every 5th offline, every 4th
// relayed.
func mapStatus(n int) *apitype.Status {
	st := status(apitype.StateUp)
	st.Peers = nil
	for i := range n {
		p := apitype.Peer{ID: fmt.Sprintf("k7peer%04d", i), Hostname: fmt.Sprintf("host-%02d", i),
			IPv4: netip.AddrFrom4([4]byte{100, 64, 1, byte(i)}), Online: i%5 != 0, Path: apitype.PathDirect,
			Networks: []string{[]string{"home", "work"}[i%2]}}
		if i%4 == 1 {
			p.Path = apitype.PathRelay
		}
		st.Peers = append(st.Peers, p)
	}
	return st
}

// TestMapKeyboardSizes: with 0, 1, 5 and 50 peers Tab visits every node
// once, in focus order, in one run, and leaves; the arrows go round all of
// them and back.
func TestMapKeyboardSizes(t *testing.T) {
	for _, n := range []int{0, 1, 5, 50} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			_, v, c := mapHarness(t, mapStatus(n))
			v.Resize(fyne.NewSize(800, 480))
			want := v.layout.FocusKeys()
			if n > 0 && len(want) == 0 {
				t.Fatal("no node takes the focus")
			}
			// Tab round the window twice: the map's nodes come as one
			// run, in order.
			var runs [][]string
			in := false
			for range 2 * (len(want) + 60) {
				c.FocusNext()
				k := mapFocus(c)
				switch {
				case k != "" && !in:
					runs = append(runs, []string{k})
				case k != "":
					runs[len(runs)-1] = append(runs[len(runs)-1], k)
				}
				in = k != ""
			}
			if len(want) == 0 {
				if len(runs) != 0 {
					t.Errorf("an empty map takes the focus: %q", runs)
				}
				return
			}
			if len(runs) < 2 || !slices.Equal(runs[0], want) || !slices.Equal(runs[1], want) {
				t.Fatalf("Tab visits %d runs of map nodes, first %q, want %q", len(runs), runs[0], want)
			}
			c.Focus(v.nodes[want[0]])
			for i := range want {
				if k := mapFocus(c); k != want[i] {
					t.Fatalf("Right %d times: %q, want %q", i, k, want[i])
				}
				c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyRight})
			}
			if k := mapFocus(c); k != want[0] {
				t.Errorf("Right round the map ends on %q", k)
			}
			c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyLeft})
			if k := mapFocus(c); k != want[len(want)-1] {
				t.Errorf("Left from the first node goes to %q", k)
			}
		})
	}
}

// TestMapFocusRingColours: the ring is drawn in the theme's primary and
// focus colours, light and dark, and stands out from the background.
func TestMapFocusRingColours(t *testing.T) {
	h, v, c := mapHarness(t, status(apitype.StateUp))
	n := v.nodes[nasKey]
	c.Focus(n)
	for _, variant := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		h.app.Settings().SetTheme(variantTheme{theme.DefaultTheme(), variant})
		n.Refresh()
		ring := test.TempWidgetRenderer(t, n).Objects()[0].(*canvas.Circle)
		th := h.app.Settings().Theme()
		if ring.StrokeColor != th.Color(theme.ColorNamePrimary, variant) || ring.FillColor != th.Color(theme.ColorNameFocus, variant) {
			t.Errorf("variant %d: ring %v/%v, not the theme's colours", variant, ring.StrokeColor, ring.FillColor)
		}
		if !ring.Visible() || ring.StrokeWidth < 2 || sameColour(ring.StrokeColor, th.Color(theme.ColorNameBackground, variant)) {
			t.Errorf("variant %d: ring visible %v width %v colour %v", variant, ring.Visible(), ring.StrokeWidth, ring.StrokeColor)
		}
	}
}

// variantTheme is a theme forced to one variant.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

func sameColour(a, b color.Color) bool {
	ar, ag, ab, _ := a.RGBA()
	br, bg, bb, _ := b.RGBA()
	return ar == br && ag == bg && ab == bb
}

// TestPeerListByKeyboard: Tab reaches the peers list, Down moves to the
// next row, Return (or Space) opens that peer's details.
func TestPeerListByKeyboard(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.SetFirewall(fwState())
	h.start(status(apitype.StateUp)) // nas, phone, desktop
	c := h.win.win.Canvas()
	list := fyne.Focusable(h.win.peers.list)
	for i := 0; c.Focused() != list; i++ {
		if i == 300 {
			t.Fatal("Tab never reaches the peers list")
		}
		c.FocusNext()
	}
	for _, tt := range []struct {
		keys []fyne.KeyName
		want string
	}{
		{[]fyne.KeyName{fyne.KeyDown, fyne.KeyReturn}, "k7phone00000000"},
		{[]fyne.KeyName{fyne.KeyDown, fyne.KeyEnter}, "k7desk00000000"},
		{[]fyne.KeyName{fyne.KeyUp, fyne.KeyUp, fyne.KeySpace}, "k7nas0000000000"},
	} {
		for _, k := range tt.keys {
			c.Focused().TypedKey(&fyne.KeyEvent{Name: k})
		}
		if id := closeDetails(t, h); id != tt.want {
			t.Errorf("%v opened %q, want %q", tt.keys, id, tt.want)
		}
		if c.Focused() != list {
			t.Fatalf("after the details the focus is on %v", c.Focused())
		}
	}
}
