//go:build gui

package views

import (
	"errors"
	"fmt"
	"image"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// typeKey delivers a key as Fyne's desktop driver does: to the focused
// widget if there is one, else to the canvas's key handler.
func typeKey(c fyne.Canvas, k fyne.KeyName) {
	ev := &fyne.KeyEvent{Name: k}
	if f := c.Focused(); f != nil {
		f.TypedKey(ev)
		return
	}
	c.OnTypedKey()(ev)
}

// focusByTab presses Tab until w has the focus, as a keyboard user would.
func focusByTab(t *testing.T, c fyne.Canvas, w fyne.Focusable) {
	t.Helper()
	for i := 0; c.Focused() != w; i++ {
		if i == 60 {
			t.Fatalf("Tab never reaches %T", w)
		}
		c.FocusNext()
	}
}

// overlays is the number of dialogs (and pop-ups) open on c.
func overlays(c fyne.Canvas) int { return len(c.Overlays().List()) }

// dialogText is the text of the dialog on top: title and message.
func dialogText(c fyne.Canvas) string { return labelText(dialogContent(c)) }

// TestRenameByKeyboard: in the rename dialog's field, Escape cancels,
// Return renames to the typed name, and a name the daemon refuses gives
// the same error dialog as the Rename button.
func TestRenameByKeyboard(t *testing.T) {
	h := networksHarness(t)
	n := h.win.networks
	c := h.win.win.Canvas()
	rename := button(t, n.list.Objects[1], "Rename…")

	test.Tap(rename)
	focusByTab(t, c, n.renameEntry)
	test.Type(n.renameEntry, "x")
	typeKey(c, fyne.KeyEscape)
	if overlays(c) != 0 {
		t.Fatal("Escape in the name field left the rename dialog open")
	}
	h.fake.NoCall(t)

	test.Tap(rename)
	focusByTab(t, c, n.renameEntry)
	n.renameEntry.SetText("work-laptop")
	typeKey(c, fyne.KeyReturn)
	wantCall(t, h, "SetHostname", "work", "work-laptop")
	h.q.RunNext(t)
	if overlays(c) != 0 {
		t.Fatal("Return in the name field left the rename dialog open")
	}

	// A refused name: the same error, by button and by Return.
	refusal := errors.New(`hostname "-bad" is not a DNS label`)
	h.fake.SetErr("SetHostname", refusal)
	viaButton := func() {
		test.Tap(rename)
		n.renameEntry.SetText("-bad")
		test.Tap(button(t, dialogContent(c), "Rename"))
	}
	viaReturn := func() {
		test.Tap(rename)
		focusByTab(t, c, n.renameEntry)
		n.renameEntry.SetText("-bad")
		typeKey(c, fyne.KeyReturn)
	}
	var shown []string
	for _, rename := range []func(){viaButton, viaReturn} {
		rename()
		wantCall(t, h, "SetHostname", "work", "-bad")
		h.q.RunUntil(t, func() bool { return overlays(c) == 1 })
		shown = append(shown, dialogText(c))
		// The error's OK takes Escape too once it has the focus.
		c.FocusNext()
		if _, ok := c.Focused().(*keyButton); !ok {
			t.Fatalf("Tab in the error dialog focuses %T", c.Focused())
		}
		typeKey(c, fyne.KeyEscape)
		if overlays(c) != 0 {
			t.Fatal("Escape on the error's OK left it open")
		}
	}
	if shown[0] != shown[1] || !strings.Contains(shown[0], "Hostname \"-bad\" is not a DNS label\n") || !strings.Contains(shown[0], "Error\n") {
		t.Errorf("error dialog by button %q, by Return %q", shown[0], shown[1])
	}
	h.q.Drain()
}

// TestConfirmByKeyboard: with a confirmation's button focused (Tab),
// Escape answers No whichever has the focus, Return presses the focused
// one.
func TestConfirmByKeyboard(t *testing.T) {
	h := networksHarness(t)
	c := h.win.win.Canvas()
	leave := button(t, h.win.networks.list.Objects[1], "Leave…")
	for _, focus := range []string{"No", "Yes"} {
		test.Tap(leave)
		focusByTab(t, c, focusedButton(t, c, focus))
		typeKey(c, fyne.KeyEscape)
		if overlays(c) != 0 {
			t.Fatalf("Escape with %s focused left the confirmation open", focus)
		}
		h.fake.NoCall(t)
	}
	test.Tap(leave)
	focusByTab(t, c, focusedButton(t, c, "No"))
	typeKey(c, fyne.KeyReturn)
	if overlays(c) != 0 {
		t.Fatal("Return on No left the confirmation open")
	}
	h.fake.NoCall(t)
	test.Tap(leave)
	focusByTab(t, c, focusedButton(t, c, "Yes"))
	typeKey(c, fyne.KeyReturn)
	wantCall(t, h, "Leave", "work")
	h.q.RunNext(t)
	if overlays(c) != 0 {
		t.Error("Return on Yes left the confirmation open")
	}
}

// focusedButton is the top dialog's button labelled label, as the
// focusable widget Tab reaches.
func focusedButton(t *testing.T, c fyne.Canvas, label string) fyne.Focusable {
	t.Helper()
	return keyButtonIn(t, c.Overlays().Top(), label)
}

// keyButtonIn is the first keyButton labelled label under o.
func keyButtonIn(t *testing.T, o fyne.CanvasObject, label string) *keyButton {
	t.Helper()
	for _, o := range test.LaidOutObjects(o) {
		if b, ok := o.(*keyButton); ok && b.Text == label {
			return b
		}
	}
	t.Fatalf("no %q keyButton", label)
	return nil
}

// TestPeerDetailsByKeyboard: in the port field Return opens the browser
// (a bad port gives the button's message), Escape closes the details; so
// does Escape on a focused copy button; Return on Ping pings.
func TestPeerDetailsByKeyboard(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	c := h.win.win.Canvas()
	p := h.win.peers
	d := p.details
	var opened []string
	d.openURL = func(u *url.URL) error { opened = append(opened, u.String()); return nil }
	open := func() {
		p.list.UnselectAll()
		p.list.Select(0) // nas
		h.fake.WaitCall(t, "Firewall")
		h.q.RunUntil(t, func() bool { return !strings.HasPrefix(d.rules.Text, "Reading") })
		if d.id == "" || overlays(c) != 1 {
			t.Fatalf("details of %q, %d overlays", d.id, overlays(c))
		}
	}

	open()
	focusByTab(t, c, d.port)
	test.Type(d.port, "80a")
	typeKey(c, fyne.KeyReturn)
	byReturn := d.openMsg.Text
	test.Tap(d.openBtn)
	if byReturn != `"80a" is not a port (1-65535)` || d.openMsg.Text != byReturn || len(opened) != 0 {
		t.Errorf("bad port: by Return %q, by button %q, opened %v", byReturn, d.openMsg.Text, opened)
	}
	d.port.SetText("8080")
	focusByTab(t, c, d.port) // the click on the button took the focus away
	typeKey(c, fyne.KeyReturn)
	if len(opened) != 1 || opened[0] != "http://100.64.0.3:8080/" || overlays(c) != 1 {
		t.Errorf("Return in the port field opened %v, %d overlays", opened, overlays(c))
	}
	typeKey(c, fyne.KeyEscape)
	if d.id != "" || overlays(c) != 0 {
		t.Fatalf("Escape in the port field: details of %q, %d overlays", d.id, overlays(c))
	}

	open()
	focusByTab(t, c, d.pingBtn)
	h.fake.SetPingReplies([]apitype.PingReply{{Seq: 1, RTTMs: 4, Path: "relay"}})
	typeKey(c, fyne.KeyReturn)
	if req := h.fake.WaitCall(t, "Ping").Args[0].(apitype.PingRequest); req.Peer != "k7nas0000000000" {
		t.Errorf("ping %+v", req)
	}
	h.q.RunUntil(t, func() bool { return strings.HasPrefix(d.pingMsg.Text, "Ping nas:") })
	copyBtn := keyButtonIn(t, d.rows.content, "")
	focusByTab(t, c, copyBtn)
	typeKey(c, fyne.KeyEscape)
	if d.id != "" || overlays(c) != 0 {
		t.Errorf("Escape on a copy button: details of %q, %d overlays", d.id, overlays(c))
	}
	if len(opened) != 1 {
		t.Errorf("opened %v", opened)
	}
	h.q.Drain()
}

// TestInvitesByKeyboard: Escape on a focused Revoke closes the invites
// without revoking; Return on it revokes.
func TestInvitesByKeyboard(t *testing.T) {
	h := networksHarness(t)
	c := h.win.win.Canvas()
	n := h.win.networks
	h.fake.SetInvites([]apitype.InviteInfo{{ID: "inv1", Kind: "single-use", Expires: time.Now().Add(time.Hour)}})
	invites := button(t, n.list.Objects[0], "Invites…")
	for _, k := range []fyne.KeyName{fyne.KeyEscape, fyne.KeyReturn} {
		test.Tap(invites)
		wantCall(t, h, "Invites", "home")
		h.q.RunUntil(t, func() bool { return overlays(c) == 1 })
		focusByTab(t, c, focusedButton(t, c, "Revoke"))
		typeKey(c, k)
	}
	wantCall(t, h, "RevokeInvite", "home", "inv1")
	h.q.RunNext(t)
	if overlays(c) != 1 || !strings.Contains(labelText(n.invites), "Revoked") {
		t.Errorf("after Return on Revoke: %d overlays, %q", overlays(c), labelText(n.invites))
	}
}

// TestMultiLineFieldKeepsReturn: in a dialog's multi-line field Return is
// a new line and leaves the dialog open; Escape still cancels.
func TestMultiLineFieldKeepsReturn(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.win.win.Canvas()
	field := newMultiLineEntry()
	var answers []bool
	showCustomConfirm(h.win.win, "Notes", "Save", "Cancel", container.NewVBox(field), func(ok bool) { answers = append(answers, ok) })
	c.Focus(field)
	test.Type(field, "a")
	typeKey(c, fyne.KeyReturn)
	test.Type(field, "b")
	if field.Text != "a\nb" || overlays(c) != 1 || len(answers) != 0 {
		t.Fatalf("Return in a multi-line field: text %q, %d overlays, answers %v", field.Text, overlays(c), answers)
	}
	typeKey(c, fyne.KeyEscape)
	if overlays(c) != 0 || fmt.Sprint(answers) != "[false]" {
		t.Errorf("Escape: %d overlays, answers %v", overlays(c), answers)
	}
}

// TestDialogWidgetsTakeDialogKeys opens every kind of dialog the window
// shows and checks that each widget in it that can take the focus is one
// of the app's (keyButton, tabEntry), which pass Escape and Return on: a
// plain Fyne widget there would swallow them.
func TestDialogWidgetsTakeDialogKeys(t *testing.T) {
	h := networksHarness(t)
	c := h.win.win.Canvas()
	n := h.win.networks
	h.fake.SetInvites([]apitype.InviteInfo{{ID: "inv1", Kind: "reusable", Expires: time.Now().Add(time.Hour)}})
	h.fake.SetFirewall(fwState())
	opens := map[string]func(){ // by the title of the dialog each opens
		"Leave work?":        func() { test.Tap(button(t, n.list.Objects[1], "Leave…")) },
		"Rename this device": func() { test.Tap(button(t, n.list.Objects[1], "Rename…")) },
		"Delete home?":       func() { test.Tap(button(t, n.list.Objects[0], "Delete…")) },
		"Rekey home?":        func() { test.Tap(button(t, n.list.Objects[0], "Rekey…")) },
		"Error":              func() { h.win.ShowError(errors.New("no such exit node")) },
		"Network rekeyed": func() {
			n.confirmRekey("home")
			c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
			h.fake.WaitCall(t, "Rekey")
		},
		"Outstanding invites of home": func() { test.Tap(button(t, n.list.Objects[0], "Invites…")); h.fake.WaitCall(t, "Invites") },
		"Remove nas from home?": func() {
			h.win.peers.confirmAdmin("Remove nas from home?", "…", "Removed", func(func(apitype.RemoveResponse, error)) {})
		},
		"Peer details": func() {
			h.win.Show(TabPeers)
			h.win.peers.list.UnselectAll()
			h.win.peers.list.Select(0)
			h.fake.WaitCall(t, "Firewall")
		},
	}
	for name, open := range opens {
		open()
		h.q.RunUntil(t, func() bool { return overlays(c) == 1 })
		if text := dialogText(c); !strings.Contains(text, name+"\n") {
			t.Fatalf("opened a dialog saying %q, want %q", text, name)
		}
		var focusable int
		for _, o := range test.LaidOutObjects(c.Overlays().Top()) {
			f, ok := o.(fyne.Focusable)
			if !ok {
				continue
			}
			focusable++
			switch f.(type) {
			case *keyButton, *tabEntry:
			default:
				t.Errorf("%s dialog: a %T takes the focus and keeps Escape", name, f)
			}
		}
		if focusable == 0 {
			t.Errorf("%s dialog: nothing takes the focus", name)
		}
		typeKey(c, fyne.KeyEscape)
		if overlays(c) != 0 {
			t.Fatalf("%s dialog: Escape left it open", name)
		}
		h.win.Show(TabNetworks)
	}
	h.q.Drain()
}

// TestSaveDialogByKeyboard: Escape closes "Save support bundle…" (Fyne's
// file dialog) with its name field focused or nothing focused, saving
// nothing; Return in the name field saves under the typed name.
func TestSaveDialogByKeyboard(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	c := h.win.win.Canvas()
	d := h.win.diag
	bundle := []byte("\x1f\x8b fake bundle")
	h.fake.SetReport(bundle)
	dir := t.TempDir()

	for _, unfocus := range []bool{false, true} {
		d.askSave()
		name, ok := c.Focused().(*tabEntry)
		if !ok || !strings.HasPrefix(name.Text, "rayfish-report-") {
			t.Fatalf("the save dialog's focus is %T, want its name field", c.Focused())
		}
		if unfocus {
			c.Unfocus()
		}
		typeKey(c, fyne.KeyEscape)
		if overlays(c) != 0 {
			t.Fatalf("Escape (name field focused: %v) left the save dialog open", !unfocus)
		}
	}
	h.fake.NoCall(t)

	d.askSave()
	lister, err := storage.ListerForURI(storage.NewFileURI(dir))
	if err != nil {
		t.Fatal(err)
	}
	d.saveDlg.SetLocation(lister)
	name := c.Focused().(*tabEntry)
	name.SetText("")
	test.Type(name, "mine.tar.gz")
	typeKey(c, fyne.KeyReturn)
	h.fake.WaitCall(t, "Report")
	h.q.RunUntil(t, func() bool { return strings.HasPrefix(d.saveMsg.Text, "Saved") })
	path := filepath.Join(dir, "mine.tar.gz")
	if got, err := os.ReadFile(path); err != nil || string(got) != string(bundle) {
		t.Errorf("saved %q, %v; message %q", got, err, d.saveMsg.Text)
	}
	if overlays(c) != 0 {
		t.Errorf("%d overlays after saving", overlays(c))
	}
}

// TestCreateByReturn: Return in the Networks tab's name field creates the
// network as the Create button does, with the same message for a name the
// daemon refuses.
func TestCreateByReturn(t *testing.T) {
	h := networksHarness(t)
	c := h.win.win.Canvas()
	n := h.win.networks
	h.fake.SetErr("Create", errors.New(`network name "a b" is not a DNS label`))
	var shown []string
	for _, byReturn := range []bool{false, true} {
		n.createName.SetText("a b")
		if byReturn {
			focusByTab(t, c, n.createName)
			typeKey(c, fyne.KeyReturn)
		} else {
			test.Tap(n.createBtn)
		}
		if req := h.fake.WaitCall(t, "Create").Args[0].(apitype.CreateRequest); req.Name != "a b" {
			t.Errorf("create request %+v", req)
		}
		h.q.RunUntil(t, func() bool { return !n.createBtn.Disabled() })
		shown = append(shown, n.createMsg.Text)
	}
	if !strings.Contains(shown[0], "not a DNS label") || shown[0] != shown[1] {
		t.Errorf("refused name: by button %q, by Return %q", shown[0], shown[1])
	}
}

// TestKeyedFileNameMirrors: the field put in place of the save dialog's
// name field and Fyne's own stay equal both ways (Fyne reads its own, and
// fills it when a file is picked), and Fyne still sees every change.
func TestKeyedFileNameMirrors(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.win.win.Canvas()
	orig := widget.NewEntry()
	var fyneSaw []string
	orig.OnChanged = func(s string) { fyneSaw = append(fyneSaw, s) }
	orig.SetText("report.tar.gz")
	scroll := container.NewHScroll(orig)
	pop := widget.NewModalPopUp(container.NewBorder(nil, container.NewBorder(nil, nil, nil, widget.NewButton("Save", nil), scroll), nil, nil), c)
	pop.Show()
	c.Focus(orig)
	keyedFileName(c, pop)
	e, ok := c.Focused().(*tabEntry)
	if !ok || scroll.Content != fyne.CanvasObject(e) || e.Text != "report.tar.gz" {
		t.Fatalf("focus %T, scroll holds %T", c.Focused(), scroll.Content)
	}
	orig.SetText("picked.tar.gz") // a file picked in the dialog
	if e.Text != "picked.tar.gz" {
		t.Errorf("picked name not shown: %q", e.Text)
	}
	e.SetText("")
	test.Type(e, "typed")
	if orig.Text != "typed" {
		t.Errorf("typed name not in Fyne's field: %q", orig.Text)
	}
	if want := "[report.tar.gz picked.tar.gz  t ty typ type typed]"; fmt.Sprint(fyneSaw) != want {
		t.Errorf("Fyne saw %v, want %s", fyneSaw, want)
	}
}

// TestTextDialogsLookAsFynes: the app's error and confirm dialogs (ours,
// for the keys) draw pixel for pixel as Fyne's own, for a one-line and a
// wrapped message; a wrapping label measured before it had its width made
// them as tall as the message wrapped word by word.
func TestTextDialogsLookAsFynes(t *testing.T) {
	test.NewTempApp(t)
	render := func(show func(w fyne.Window)) image.Image {
		w := test.NewWindow(widget.NewLabel("behind"))
		defer w.Close()
		w.Resize(fyne.NewSize(700, 450))
		show(w)
		return w.Canvas().Capture()
	}
	for _, msg := range []string{
		"invalid port \"abc\": want a number from 1 to 65535",
		"a longer message that has to wrap over more than one line because it is wider than six hundred pixels at the default text size",
	} {
		err := errors.New(msg)
		ours := render(func(w fyne.Window) { showError(w, err) })
		fynes := render(func(w fyne.Window) { dialog.ShowError(err, w) })
		if !sameImage(ours, fynes) {
			t.Errorf("error dialog for %q differs from Fyne's", msg)
		}
		ours = render(func(w fyne.Window) { showConfirm(w, "Leave home?", msg, func(bool) {}) })
		fynes = render(func(w fyne.Window) { dialog.ShowConfirm("Leave home?", msg, func(bool) {}, w) })
		if !sameImage(ours, fynes) {
			t.Errorf("confirm dialog for %q differs from Fyne's", msg)
		}
	}
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}
