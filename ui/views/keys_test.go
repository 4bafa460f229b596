//go:build gui

package views

import (
	"reflect"
	"testing"

	"fyne.io/fyne/v2"
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
