// Package notify sends desktop notifications that carry action buttons
// ("Approve") where the platform supports them. On Linux it talks to the
// desktop's notification server (org.freedesktop.Notifications over the
// session bus) and only when the server announces the "actions"
// capability. Elsewhere (macOS, Windows: Fyne's notifications carry no
// actions) and on Linux servers without actions, New returns
// ErrUnsupported and the app sends plain notifications that point to the
// window instead.
package notify

import "errors"

// ErrUnsupported: the platform or its notification server shows no
// action buttons.
var ErrUnsupported = errors.New("notifications with actions are not supported here")

// Action is one button of a notification.
type Action struct {
	Key   string // what onAction receives
	Label string // what the user sees
}
