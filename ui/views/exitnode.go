//go:build gui

package views

// ShowError shows the daemon's one-line refusal of an intent that came
// from outside the window (the tray's Exit node menu); nil shows nothing.
func (w *Main) ShowError(err error) {
	if err == nil {
		return
	}
	w.win.Show()
	showError(w.win, err)
}
