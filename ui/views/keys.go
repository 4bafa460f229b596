//go:build gui

package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// typedKey handles the keys no focused widget took: Escape dismisses the
// dialog on top (Cancel, No, Close), Return or Enter presses its default
// button (the highlighted one, or its only button). Tab and Shift+Tab move
// the focus, Space presses the focused button (Fyne's own).
func (w *Main) typedKey(ev *fyne.KeyEvent) {
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

// onlyButtons returns o's buttons if o is a container of buttons only.
func onlyButtons(o fyne.CanvasObject) []*widget.Button {
	box, ok := o.(*fyne.Container)
	if !ok || len(box.Objects) == 0 {
		return nil
	}
	var row []*widget.Button
	for _, x := range box.Objects {
		b, ok := x.(*widget.Button)
		if !ok {
			return nil
		}
		if b.Visible() {
			row = append(row, b)
		}
	}
	return row
}

// tabEntry is a widget.Entry that hands Alt shortcuts (Alt+1… select the
// tabs) to the window; a plain Entry keeps every shortcut while it has
// the focus, so the tab keys would not work while typing in one.
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
