//go:build gui

package views

import (
	"fyne.io/fyne/v2"

	"github.com/rayfish/rayfish/ui/state"
)

// Notify sends the desktop notifications the user wants: join requests
// and the daemon stopping always (unless notifications are off), peers
// coming and going only when asked for in Settings.
func Notify(a fyne.App, ns []state.Notice) {
	prefs := a.Preferences()
	if !prefs.BoolWithFallback(PrefNotify, true) {
		return
	}
	peers := prefs.BoolWithFallback(PrefNotifyPeers, false)
	for _, n := range ns {
		switch n.Kind {
		case state.NoticePeerOnline, state.NoticePeerOffline:
			if !peers {
				continue
			}
		case state.NoticeJoinRequest:
			n.Body += ". Open rayfish to approve or deny."
		}
		a.SendNotification(fyne.NewNotification(n.Title, n.Body))
	}
}
