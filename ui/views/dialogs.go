//go:build gui

package views

import (
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The app's dialogs: Fyne's dialog frame with buttons of ours (keyButton),
// so that Escape dismisses a dialog and Return presses the focused button
// even while one of the dialog's widgets has the focus. They look and
// answer as dialog.ShowConfirm, ShowError, ShowCustom and
// ShowCustomConfirm.

// showConfirm asks msg with No and Yes; answer gets the choice (No also
// for Escape).
func showConfirm(win fyne.Window, title, msg string, answer func(bool)) {
	d := newTextDialog(win, title, msg, theme.QuestionIcon())
	setConfirmButtons(d, lang.L("Yes"), lang.L("No"), answer)
	d.Show()
}

// showCustomConfirm shows content with dismiss and confirm buttons.
func showCustomConfirm(win fyne.Window, title, confirm, dismiss string, content fyne.CanvasObject, answer func(bool)) {
	d := dialog.NewCustomWithoutButtons(title, content, win)
	setConfirmButtons(d, confirm, dismiss, answer)
	d.Show()
}

// showError shows err with OK, capitalised as Fyne's error dialog does.
func showError(win fyne.Window, err error) {
	msg := err.Error()
	if r, n := utf8.DecodeRuneInString(msg); r != utf8.RuneError {
		msg = string(unicode.ToUpper(r)) + msg[n:]
	}
	d := newTextDialog(win, lang.L("Error"), msg, theme.ErrorIcon())
	d.SetButtons([]fyne.CanvasObject{newButton(lang.L("OK"), nil, d.Hide)})
	d.Show()
}

// newCustom is content with one button that closes the dialog.
func newCustom(win fyne.Window, title, dismiss string, content fyne.CanvasObject) *dialog.CustomDialog {
	d := dialog.NewCustomWithoutButtons(title, content, win)
	d.SetButtons([]fyne.CanvasObject{newButton(dismiss, nil, d.Hide)})
	return d
}

func showCustom(win fyne.Window, title, dismiss string, content fyne.CanvasObject) {
	newCustom(win, title, dismiss, content).Show()
}

// setConfirmButtons gives d dismiss then confirm (highlighted), each
// closing d and answering.
func setConfirmButtons(d *dialog.CustomDialog, confirm, dismiss string, answer func(bool)) {
	reply := func(yes bool) func() {
		return func() {
			d.Hide()
			answer(yes)
		}
	}
	no := newButton(dismiss, theme.CancelIcon(), reply(false))
	yes := newButton(confirm, theme.ConfirmIcon(), reply(true))
	yes.Importance = widget.HighImportance
	d.SetButtons([]fyne.CanvasObject{no, yes})
}

// Fyne's text dialogs are as wide as the message on one line, at most
// 600 and 90 % of the window, and wrap the message at that width.
const (
	maxTextDialogWidth = 600
	dialogPadWidth     = 32 // Fyne's dialog padding around its content
)

// newTextDialog is a dialog showing msg, centred and wrapped, sized as
// Fyne's own text dialogs.
func newTextDialog(win fyne.Window, title, msg string, icon fyne.Resource) *dialog.CustomDialog {
	label := &widget.Label{Text: msg, Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord}
	d := dialog.NewCustomWithoutButtons(title, label, win)
	d.SetIcon(icon)
	oneLine := widget.NewLabel(msg).MinSize().Width + dialogPadWidth + 2*theme.Padding()
	w := min(oneLine, maxTextDialogWidth, win.Canvas().Size().Width*0.9)
	// A wrapping label measures its height at its current width: lay it
	// out at the dialog's text width first, or the height is that of the
	// message wrapped word by word.
	label.Resize(fyne.NewSize(w-dialogPadWidth-2*theme.Padding(), label.MinSize().Height))
	d.Resize(fyne.NewSize(w, d.MinSize().Height))
	return d
}
