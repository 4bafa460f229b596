//go:build gui

package views

import (
	"fyne.io/fyne/v2"

	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/notify"
	"github.com/rayfish/rayfish/ui/state"
)

// ActionSender shows notifications with buttons (notify.Notifier).
type ActionSender interface {
	Send(title, body string, actions []notify.Action, onAction func(key string)) error
}

// actionApprove is the key of a join request's Approve button.
const actionApprove = "approve"

// Notifier sends the desktop notifications the user wants. With Actions
// (Linux with a notification server that shows buttons), a join request
// carries an "Approve" button that accepts it; without, it says to open
// the window.
type Notifier struct {
	App     fyne.App
	Ctl     *ui.Controller
	Actions ActionSender // nil: plain notifications only
}

// Notify sends the desktop notifications the user wants: join requests
// and the daemon stopping always (unless notifications are off), peers
// coming and going only when asked for in Settings.
func (n *Notifier) Notify(ns []state.Notice) {
	prefs := n.App.Preferences()
	if !prefs.BoolWithFallback(PrefNotify, true) {
		return
	}
	peers := prefs.BoolWithFallback(PrefNotifyPeers, false)
	for _, no := range ns {
		switch no.Kind {
		case state.NoticePeerOnline, state.NoticePeerOffline:
			if !peers {
				continue
			}
		case state.NoticeJoinRequest:
			if n.sendApprove(no) {
				continue
			}
			no.Body += ". Open rayfish to approve or deny."
		}
		n.App.SendNotification(fyne.NewNotification(no.Title, no.Body))
	}
}

// sendApprove sends a join request with an Approve button; false when
// there are no buttons here (or sending failed).
func (n *Notifier) sendApprove(no state.Notice) bool {
	if n.Actions == nil || n.Ctl == nil {
		return false
	}
	network, id := no.Network, no.ID
	err := n.Actions.Send(no.Title, no.Body+". Approve here, or deny it in rayfish.",
		[]notify.Action{{Key: actionApprove, Label: "Approve"}},
		func(key string) {
			if key != actionApprove {
				return
			}
			n.Ctl.Accept(network, id, func(err error) {
				if err != nil {
					n.App.SendNotification(fyne.NewNotification("Join request", "Could not approve: "+err.Error()))
					return
				}
				n.App.SendNotification(fyne.NewNotification("Join request", "Approved the join request: "+no.Body+"."))
			})
		})
	return err == nil
}
