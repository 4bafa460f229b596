// Package notify sends desktop notifications that carry action buttons
// ("Approve") where the platform supports them. On Linux it talks to the
// desktop's notification server (org.freedesktop.Notifications over the
// session bus) and only when the server announces the "actions"
// capability. Elsewhere (macOS, Windows: Fyne's notifications carry no
// actions) and on Linux servers without actions, New returns
// ErrUnsupported and the app sends plain notifications that point to the
// window instead.
package notify

import (
	"errors"
	"sync"
)

// ErrUnsupported: the platform or its notification server shows no
// action buttons.
var ErrUnsupported = errors.New("notifications with actions are not supported here")

// Action is one button of a notification.
type Action struct {
	Key   string // what onAction receives
	Label string // what the user sees
}

// maxPending bounds the notifications whose actions are remembered; the
// oldest are forgotten first (their buttons then do nothing).
const maxPending = 32

// pending maps notification ids to their action callbacks. Safe for
// concurrent use.
type pending struct {
	mu    sync.Mutex
	order []uint32
	cbs   map[uint32]func(key string)
}

func (p *pending) add(id uint32, cb func(string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cbs == nil {
		p.cbs = make(map[uint32]func(string))
	}
	if _, ok := p.cbs[id]; !ok {
		p.order = append(p.order, id)
	}
	p.cbs[id] = cb
	for len(p.order) > maxPending {
		delete(p.cbs, p.order[0])
		p.order = p.order[1:]
	}
}

// take removes and returns id's callback (nil if unknown).
func (p *pending) take(id uint32) func(string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cb := p.cbs[id]
	if cb == nil {
		return nil
	}
	delete(p.cbs, id)
	for i, o := range p.order {
		if o == id {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
	return cb
}
