//go:build gui

package views

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/ui/state"
)

// rowsView shows state.Rows as a two-column form: the label, then the
// value with a copy button when the row has something to copy. It redraws
// only when the rows change.
type rowsView struct {
	app     fyne.App
	content *fyne.Container
	shown   []state.Row
	drawn   bool
}

func newRowsView(a fyne.App) *rowsView {
	return &rowsView{app: a, content: container.New(layout.NewFormLayout())}
}

// set shows rows; it reports whether anything changed.
func (v *rowsView) set(rows []state.Row) bool {
	if v.drawn && slices.Equal(rows, v.shown) {
		return false
	}
	v.drawn = true
	v.shown = slices.Clone(rows)
	objs := make([]fyne.CanvasObject, 0, 2*len(rows))
	for _, r := range rows {
		label := widget.NewLabelWithStyle(r.Label, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
		value := widget.NewLabel(r.Value)
		value.Wrapping = fyne.TextWrapWord
		var right fyne.CanvasObject
		if r.Copy != "" {
			what, text := r.Label, r.Copy
			right = newButton("", theme.ContentCopyIcon(), func() { Copy(v.app, what, text) })
		}
		objs = append(objs, label, container.NewBorder(nil, nil, nil, right, value))
	}
	v.content.Objects = objs
	v.content.Refresh()
	return true
}
