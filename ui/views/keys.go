//go:build gui

package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// typedKey handles the keys no focused widget took, and those the app's
// own widgets pass on (forwardKey): Escape dismisses the dialog on top
// (Cancel, No, Close), Return or Enter presses its default button (the
// highlighted one, or its only button); Escape also closes the support
// bundle's save dialog. Tab and Shift+Tab move the focus, Space presses
// the focused button (Fyne's own).
func (w *Main) typedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && w.diag.dismissSave(w.win.Canvas().Overlays().Top()) {
		return
	}
	row := dialogButtons(w.win.Canvas())
	if len(row) == 0 {
		return
	}
	var b *widget.Button
	switch ev.Name {
	case fyne.KeyEscape:
		b = row[0] // Fyne puts the dismiss button first
	case fyne.KeyReturn, fyne.KeyEnter:
		if len(row) == 1 {
			b = row[0]
		}
		for _, x := range row {
			if x.Importance == widget.HighImportance {
				b = x
			}
		}
	}
	if b != nil && !b.Disabled() && b.OnTapped != nil {
		b.OnTapped()
	}
}

// dialogButtons returns the button row of the dialog on top of c: the
// last container among the dialog's parts that holds only buttons (Fyne's
// dialogs lay out icon, background, content, buttons, title). It returns
// nil when no dialog is open.
func dialogButtons(c fyne.Canvas) []*widget.Button {
	pop, ok := c.Overlays().Top().(*widget.PopUp)
	if !ok || !pop.Visible() {
		return nil
	}
	parts, ok := pop.Content.(*fyne.Container)
	if !ok {
		return nil
	}
	for i := len(parts.Objects) - 1; i >= 0; i-- {
		if row := onlyButtons(parts.Objects[i]); row != nil {
			return row
		}
	}
	return nil
}

// onlyButtons returns o's buttons if o is a container of buttons only
// (Fyne's or the app's keyButtons).
func onlyButtons(o fyne.CanvasObject) []*widget.Button {
	box, ok := o.(*fyne.Container)
	if !ok || len(box.Objects) == 0 {
		return nil
	}
	var row []*widget.Button
	for _, x := range box.Objects {
		var b *widget.Button
		switch x := x.(type) {
		case *widget.Button:
			b = x
		case *keyButton:
			b = &x.Button
		default:
			return nil
		}
		if b.Visible() {
			row = append(row, b)
		}
	}
	return row
}

// forwardKey hands ev to the key handler of o's window (typedKey), as if
// no widget had the focus. Fyne gives a key only to the focused widget, so
// the app's widgets pass on the keys that act on the dialog they are in.
func forwardKey(o fyne.CanvasObject, ev *fyne.KeyEvent) {
	c := fyne.CurrentApp().Driver().CanvasForObject(o)
	if c == nil {
		return
	}
	if h := c.OnTypedKey(); h != nil {
		h(ev)
	}
}

// keyButton is a widget.Button that, while it has the focus, dismisses
// the dialog it is in on Escape and is pressed by Return or Enter as by
// Space (a plain Button takes only Space and drops the rest).
type keyButton struct {
	widget.Button
}

func newButton(label string, icon fyne.Resource, tapped func()) *keyButton {
	b := &keyButton{widget.Button{Text: label, Icon: icon, OnTapped: tapped}}
	b.ExtendBaseWidget(b)
	return b
}

// TypedKey presses the button on Return, Enter or Space, and passes
// Escape to the window.
func (b *keyButton) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		forwardKey(b, ev)
	case fyne.KeyReturn, fyne.KeyEnter:
		b.Button.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	default:
		b.Button.TypedKey(ev)
	}
}

// tabEntry is a widget.Entry that hands Alt shortcuts (Alt+1… select the
// tabs) to the window; a plain Entry keeps every shortcut while it has
// the focus, so the tab keys would not work while typing in one. It also
// passes Escape to the window (it dismisses the dialog the field is in),
// and Return when single-line with no OnSubmitted of its own (it presses
// the dialog's default button, as Rename in the rename dialog).
type tabEntry struct {
	widget.Entry
}

func newEntry() *tabEntry {
	e := &tabEntry{}
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip) // as widget.NewEntry
	e.ExtendBaseWidget(e)
	return e
}

func newMultiLineEntry() *tabEntry {
	e := newEntry()
	e.MultiLine = true
	return e
}

// TypedShortcut passes Alt shortcuts to the window's canvas.
func (e *tabEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && cs.Modifier == fyne.KeyModifierAlt {
		if c, ok := fyne.CurrentApp().Driver().CanvasForObject(e).(fyne.Shortcutable); ok {
			c.TypedShortcut(s)
			return
		}
	}
	e.Entry.TypedShortcut(s)
}

// TypedKey passes Escape, and Return in a single-line field that does
// not submit itself, to the window; the rest is the Entry's.
func (e *tabEntry) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		forwardKey(e, ev)
		return
	case fyne.KeyReturn, fyne.KeyEnter:
		if !e.MultiLine && e.OnSubmitted == nil {
			forwardKey(e, ev)
			return
		}
	}
	e.Entry.TypedKey(ev)
}
