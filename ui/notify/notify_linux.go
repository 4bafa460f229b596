package notify

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// callTimeout bounds each call to the notification server (it runs on
// the UI goroutine; a missing server must not freeze the app).
const callTimeout = 2 * time.Second

const (
	busName = "org.freedesktop.Notifications"
	objPath = "/org/freedesktop/Notifications"
	iface   = "org.freedesktop.Notifications"
)

// Notifier sends notifications with actions through the desktop's
// notification server. Its methods are safe for concurrent use.
type Notifier struct {
	conn     *dbus.Conn
	obj      dbus.BusObject
	dispatch func(func())
	pending  pending
	done     chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// New connects to the session bus's notification server. Action
// callbacks run through dispatch (the UI goroutine's fyne.Do). It returns
// ErrUnsupported when the server shows no action buttons.
func New(dispatch func(func())) (*Notifier, error) {
	conn, err := dbus.SessionBusPrivate()
	if err != nil {
		return nil, fmt.Errorf("notify: session bus: %w", err)
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify: session bus auth: %w", err)
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify: session bus hello: %w", err)
	}
	obj := conn.Object(busName, objPath)
	var caps []string
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := obj.CallWithContext(ctx, iface+".GetCapabilities", 0).Store(&caps); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify: ask the notification server: %w", err)
	}
	if !slices.Contains(caps, "actions") {
		conn.Close()
		return nil, ErrUnsupported
	}
	if err := conn.AddMatchSignal(dbus.WithMatchInterface(iface), dbus.WithMatchObjectPath(objPath)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify: watch the notification server: %w", err)
	}
	n := &Notifier{conn: conn, obj: obj, dispatch: dispatch, done: make(chan struct{})}
	sigs := make(chan *dbus.Signal, 16)
	conn.Signal(sigs)
	go n.run(sigs)
	return n, nil
}

// run delivers the server's signals until Close (which closes sigs).
func (n *Notifier) run(sigs <-chan *dbus.Signal) {
	defer close(n.done)
	for sig := range sigs {
		n.handle(sig.Name, sig.Body)
	}
}

// handle acts on one signal: an invoked action runs its callback once; a
// closed notification forgets its callbacks. Bodies come from another
// process: anything malformed is ignored.
func (n *Notifier) handle(name string, body []any) {
	if len(body) < 1 {
		return
	}
	id, ok := body[0].(uint32)
	if !ok {
		return
	}
	switch name {
	case iface + ".ActionInvoked":
		if len(body) < 2 {
			return
		}
		key, ok := body[1].(string)
		if !ok {
			return
		}
		if cb := n.pending.take(id); cb != nil {
			n.dispatch(func() { cb(key) })
		}
	case iface + ".NotificationClosed":
		n.pending.take(id)
	}
}

// Send shows a notification with actions; onAction runs (through
// dispatch) with the key of the button the user pressed.
func (n *Notifier) Send(title, body string, actions []Action, onAction func(key string)) error {
	flat := make([]string, 0, 2*len(actions))
	for _, a := range actions {
		flat = append(flat, a.Key, a.Label)
	}
	var id uint32
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err := n.obj.CallWithContext(ctx, iface+".Notify", 0, "rayfish", uint32(0), "", title, body, flat,
		map[string]dbus.Variant{}, int32(-1)).Store(&id)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if onAction != nil && len(actions) > 0 {
		n.pending.add(id, onAction)
	}
	return nil
}

// Close disconnects from the bus and waits for the signal goroutine.
// It is idempotent.
func (n *Notifier) Close() error {
	n.closeOnce.Do(func() {
		n.closeErr = n.conn.Close()
		<-n.done
	})
	return n.closeErr
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
