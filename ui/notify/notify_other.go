//go:build !linux

package notify

// Notifier is unavailable off Linux: Fyne's notifications on macOS and
// Windows carry no action buttons.
type Notifier struct{}

// New returns ErrUnsupported off Linux.
func New(dispatch func(func())) (*Notifier, error) { return nil, ErrUnsupported }

// Send is never reached (New fails).
func (n *Notifier) Send(title, body string, actions []Action, onAction func(key string)) error {
	return ErrUnsupported
}

// Close does nothing.
func (n *Notifier) Close() error { return nil }
