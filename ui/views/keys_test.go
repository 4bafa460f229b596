//go:build gui

package views

import (
	"reflect"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestDialogKeys: Escape dismisses the dialog on top, Return presses its
// highlighted button; with no dialog open the keys do nothing.
func TestDialogKeys(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	c := h.win.win.Canvas()
	press := func(k fyne.KeyName) { c.OnTypedKey()(&fyne.KeyEvent{Name: k}) }
	open := func() int { return len(c.Overlays().List()) }

	press(fyne.KeyEscape)
	press(fyne.KeyReturn)
	h.fake.NoCall(t)

	// Leave…: Escape answers No, Return answers Yes.
	h.win.Show(TabNetworks)
	leave := button(t, h.win.networks.list.Objects[1], "Leave…")
	test.Tap(leave)
	if open() != 1 {
		t.Fatal("no confirmation dialog")
	}
	press(fyne.KeyEscape)
	if open() != 0 {
		t.Fatal("Escape left the confirmation open")
	}
	h.fake.NoCall(t)
	test.Tap(leave)
	press(fyne.KeyReturn)
	if call := h.fake.WaitCall(t, "Leave"); !reflect.DeepEqual(call.Args, []any{"work"}) {
		t.Errorf("leave args %v", call.Args)
	}
	h.q.RunNext(t)
	if open() != 0 {
		t.Error("Return left the confirmation open")
	}

	// Peer details (one Close button): Escape closes them and they stop
	// following the peer.
	h.win.Show(TabPeers)
	h.win.peers.list.Select(0)
	h.fake.WaitCall(t, "Firewall")
	d := h.win.peers.details
	if d.id == "" || open() != 1 {
		t.Fatalf("details of %q, %d overlays", d.id, open())
	}
	press(fyne.KeyEscape)
	if d.id != "" || open() != 0 {
		t.Errorf("after Escape: details of %q, %d overlays", d.id, open())
	}
	h.q.Drain()
}

// TestFirstStepsByKeyboard: Tab reaches the join field and button and the
// create field and button; Space on the focused Join button joins.
func TestFirstStepsByKeyboard(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.Networks, st.Peers = nil, nil
	h.start(st)
	s := h.win.peers.steps
	c := h.win.win.Canvas()
	reached := map[fyne.Focusable]bool{}
	for range 60 {
		c.FocusNext()
		if f := c.Focused(); f != nil {
			reached[f] = true
		}
	}
	for name, w := range map[string]fyne.Focusable{"join code": s.joinCode, "Join": s.joinBtn, "network name": s.createName, "Create": s.createBtn} {
		if !reached[w] {
			t.Errorf("Tab never reaches %s", name)
		}
	}
	c.Focus(s.joinCode)
	test.Type(s.joinCode, "rf1-code")
	for i := 0; c.Focused() != fyne.Focusable(s.joinBtn); i++ {
		if i == 60 {
			t.Fatal("Tab from the join code never reaches Join")
		}
		c.FocusNext()
	}
	c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if req := h.fake.WaitCall(t, "Join").Args[0].(apitype.JoinRequestBody); req.Code != "rf1-code" {
		t.Errorf("join request %+v", req)
	}
	h.q.RunUntil(t, func() bool { return !s.joinBtn.Disabled() })
}

// TestTabShortcutsWhileTyping: Alt+1… select tabs even while a text
// field has the focus; other shortcuts (paste) stay the field's.
func TestTabShortcutsWhileTyping(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	c := h.win.win.Canvas()
	search := h.win.peers.search
	c.Focus(search)
	test.Type(search, "na")
	c.Focused().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.Key2, Modifier: fyne.KeyModifierAlt})
	if h.win.tabs.Selected() != h.win.tabItems[TabMap] {
		t.Errorf("Alt+2 in the search field selects %q, want Map", h.win.tabs.Selected().Text)
	}
	h.win.Show(TabPeers)
	h.app.Clipboard().SetContent("s")
	c.Focus(search)
	c.Focused().(fyne.Shortcutable).TypedShortcut(&fyne.ShortcutPaste{Clipboard: h.app.Clipboard()})
	if search.Text != "nas" {
		t.Errorf("paste into the search field gave %q", search.Text)
	}
	h.q.Drain()
}
