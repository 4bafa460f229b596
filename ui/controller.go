// Package ui is the tray app's controller: it owns the daemon's watch
// stream, reduces it into a state.Model, and turns user intents (connect,
// join, approve, ...) into local API calls.
//
// Threading: the model and the listeners belong to the UI goroutine. The
// watch goroutine and the goroutines that run API calls never touch them;
// they hand every result to Config.Dispatch (fyne.Do in the app), which
// runs it on the UI goroutine. Intent methods are called on the UI
// goroutine and their done callbacks run there too.
//
// This package imports no Fyne so that it is tested without cgo; the views
// in ui/views and ui/tray build on it.
package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/localapi/client"
	"github.com/rayfish/rayfish/ui/state"
)

// Client is the part of the local API client the app uses. *client.Client
// implements it; tests use a fake.
type Client interface {
	Version(ctx context.Context) (apitype.Version, error)
	Watch(ctx context.Context, fn func(apitype.WatchEvent) error) error
	WatchQuiet(ctx context.Context, fn func(apitype.WatchEvent) error) error
	Up(ctx context.Context) error
	Down(ctx context.Context) error
	Create(ctx context.Context, req apitype.CreateRequest) (apitype.Network, error)
	Invite(ctx context.Context, req apitype.InviteRequest) (apitype.InviteResponse, error)
	Join(ctx context.Context, req apitype.JoinRequestBody) (apitype.JoinResponse, error)
	Leave(ctx context.Context, network string) error
	Accept(ctx context.Context, network, id string) error
	Deny(ctx context.Context, network, id string) error
	Ping(ctx context.Context, req apitype.PingRequest, fn func(apitype.PingReply)) error
	Prefs(ctx context.Context) (apitype.Prefs, error)
	SetPrefs(ctx context.Context, p apitype.Prefs) (apitype.Prefs, error)
	Netcheck(ctx context.Context) (apitype.Netcheck, error)
	Report(ctx context.Context, w io.Writer) error
	Firewall(ctx context.Context) (apitype.FirewallState, error)
	FirewallChange(ctx context.Context, ch apitype.FirewallChange) (apitype.FirewallState, error)
	Remove(ctx context.Context, network, peer string) (apitype.RemoveResponse, error)
	SetAdmin(ctx context.Context, network, peer string, admin bool) (apitype.RemoveResponse, error)
	Invites(ctx context.Context, network string) ([]apitype.InviteInfo, error)
	RevokeInvite(ctx context.Context, network, id string) error
	SetHostname(ctx context.Context, network, name string) error
	DeleteNetwork(ctx context.Context, network string) error
	Rekey(ctx context.Context, network string) (apitype.RekeyResponse, error)
	UseExitNode(ctx context.Context, req apitype.ExitNodeRequest) (*apitype.ExitNode, error)
}

var _ Client = (*client.Client)(nil)

// ErrClosed is returned to intents made after Close.
var ErrClosed = errors.New("rayfish app is closing")

// PingCount is how many pings the Ping intent sends.
const PingCount = 3

// Config configures a Controller.
type Config struct {
	Client Client
	// Socket is the daemon's address, shown in About and error text.
	Socket string
	// AppVersion is this app's version.
	AppVersion string
	// Dispatch runs fn on the UI goroutine without waiting (fyne.Do).
	Dispatch func(fn func())
	// StartDaemon starts the daemon; nil means DefaultStartDaemon.
	StartDaemon func(ctx context.Context) error
	// MinBackoff and MaxBackoff bound the wait between reconnect
	// attempts while the daemon is unreachable (default 500ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// CallTimeout bounds each API call but Join (default 30s).
	CallTimeout time.Duration
	// JoinTimeout bounds a join, which may wait for an admin (default 3m).
	JoinTimeout time.Duration
	// Coalesce is how long the stream's events gather before one drain
	// applies them all and the views redraw once: the daemon sends a
	// burst (every busy peer's counters) each second. 0 applies each
	// burst as soon as the UI goroutine takes it (it may split).
	Coalesce time.Duration
	// Logf logs; nil discards.
	Logf func(format string, args ...any)
}

// Controller connects the views to the daemon. Create it with New, add
// listeners with OnChange, then Start; Close stops it.
type Controller struct {
	cfg Config

	// UI goroutine only.
	model     *state.Model
	listeners []func(*state.Model)

	ctx    context.Context
	cancel context.CancelFunc
	kick   chan struct{} // wakes the watch loop's backoff wait

	busy atomic.Int64 // intents whose result is not yet dispatched

	// evMu guards evs: watch events read but not yet applied. The watch
	// goroutine queues them and hands Dispatch one drain at a time, so a
	// burst (every peer's counters each second) costs one redraw.
	evMu       sync.Mutex
	evs        []func()
	evsPending bool        // a drain is dispatched (or its timer armed) and has not run yet
	evTimer    *time.Timer // the Coalesce wait; stopped by Close

	// watchMu guards quiet and the running watch's mode and stop.
	watchMu    sync.Mutex
	quiet      bool               // SetQuiet: the mode the next watch uses
	watchQuiet bool               // the running watch's mode
	watchStop  context.CancelFunc // ends the running watch; nil between watches

	mu      sync.Mutex // guards started, closed, and wg.Add
	started bool
	closed  bool
	wg      sync.WaitGroup
}

// New returns a controller; it does nothing until Start.
func New(cfg Config) *Controller {
	if cfg.Dispatch == nil {
		panic("ui.New: Config.Dispatch is nil")
	}
	if cfg.StartDaemon == nil {
		cfg.StartDaemon = DefaultStartDaemon
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = 3 * time.Minute
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Controller{
		cfg:    cfg,
		model:  state.New(cfg.AppVersion),
		ctx:    ctx,
		cancel: cancel,
		kick:   make(chan struct{}, 1),
	}
}

// Model returns the view model. UI goroutine only.
func (c *Controller) Model() *state.Model { return c.model }

// Socket returns the daemon address the app talks to.
func (c *Controller) Socket() string { return c.cfg.Socket }

// AppVersion returns the app's version.
func (c *Controller) AppVersion() string { return c.cfg.AppVersion }

// OnChange adds a listener called on the UI goroutine after every change
// of the model. UI goroutine only.
func (c *Controller) OnChange(fn func(*state.Model)) {
	c.listeners = append(c.listeners, fn)
}

func (c *Controller) changed() {
	for _, fn := range c.listeners {
		fn(c.model)
	}
}

// Start starts the watch goroutine. Calling it again does nothing.
func (c *Controller) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.closed {
		return
	}
	c.started = true
	c.wg.Add(1)
	go c.watchLoop()
}

// Close stops the watch goroutine and cancels calls in flight, and waits
// for them. Callbacks already handed to Dispatch may still run. Close is
// idempotent.
func (c *Controller) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.evMu.Lock()
	if c.evTimer != nil {
		c.evTimer.Stop()
	}
	c.evMu.Unlock()
	return nil
}

// Busy reports whether an intent's API call is still running or its
// result has not yet been applied on the UI goroutine. Tools that render the UI headless use it to
// know when the screen has settled.
func (c *Controller) Busy() bool { return c.busy.Load() > 0 }

// Reconnect cuts the backoff wait short: the watch loop tries the daemon
// now. It does nothing while the stream is connected.
func (c *Controller) Reconnect() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// SetQuiet chooses the watch stream: quiet (client.WatchQuiet: no drops
// and no traffic-only peer changes) for an app that shows no counters,
// such as one whose window is hidden, or full. When the mode changes
// while a stream is connected, that stream ends and the watch loop
// reconnects at once in the new mode, without a backoff wait and without
// telling the model the daemon went away; the new snapshot replaces the
// model, so counters are stale at most until it arrives. Before Start it
// only sets the mode the first watch uses. Any goroutine.
func (c *Controller) SetQuiet(quiet bool) {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	c.quiet = quiet
	if c.watchStop != nil && c.watchQuiet != quiet {
		c.watchStop()
		c.watchStop = nil
	}
}

// goRun runs fn on a new goroutine owned by the controller; it reports
// false after Close.
func (c *Controller) goRun(fn func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
	return true
}

// watchLoop streams the daemon's state until Close, reconnecting with
// exponential backoff while the daemon is away.
func (c *Controller) watchLoop() {
	defer c.wg.Done()
	delay := c.cfg.MinBackoff
	lastErr := ""
	logConnect := true
	for {
		gotSnapshot, switched, err := c.watchOnce(logConnect)
		if c.ctx.Err() != nil {
			return
		}
		// A mode switch (SetQuiet) ends a healthy stream: reconnect now,
		// keep the model as it is until the new snapshot, and do not log
		// a reconnect each time the window shows or hides.
		logConnect = !switched
		if switched {
			delay = c.cfg.MinBackoff
			continue
		}
		if msg := fmt.Sprint(err); gotSnapshot || msg != lastErr {
			c.cfg.Logf("rayfish: watch ended: %v", err)
			lastErr = msg
		}
		var apiErr *client.APIError
		if errors.As(err, &apiErr) {
			c.cfg.Dispatch(func() { c.model.Fail(err); c.changed() })
		} else {
			c.cfg.Dispatch(func() { c.model.DaemonGone(err); c.changed() })
		}
		if gotSnapshot {
			delay = c.cfg.MinBackoff
		}
		t := time.NewTimer(delay)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-c.kick:
			t.Stop()
		case <-t.C:
		}
		delay = min(delay*2, c.cfg.MaxBackoff)
	}
}

// watchOnce asks the daemon for its version, then follows the watch
// stream, quiet or full as SetQuiet last said, until it ends; switched
// reports that it ended because SetQuiet changed the mode.
func (c *Controller) watchOnce(logConnect bool) (gotSnapshot, switched bool, err error) {
	vctx, cancel := context.WithTimeout(c.ctx, c.cfg.CallTimeout)
	v, err := c.cfg.Client.Version(vctx)
	cancel()
	if err != nil {
		return false, false, err
	}
	wctx, stop := context.WithCancel(c.ctx)
	defer stop()
	c.watchMu.Lock()
	c.watchQuiet, c.watchStop = c.quiet, stop
	watch := c.cfg.Client.Watch
	if c.quiet {
		watch = c.cfg.Client.WatchQuiet
	}
	c.watchMu.Unlock()
	defer func() {
		c.watchMu.Lock()
		c.watchStop = nil
		c.watchMu.Unlock()
		switched = wctx.Err() != nil && c.ctx.Err() == nil
	}()
	err = watch(wctx, func(ev apitype.WatchEvent) error {
		if ev.Type == apitype.EventSnapshot {
			if !gotSnapshot && logConnect {
				c.cfg.Logf("rayfish: connected to the daemon on %s (version %s)", c.cfg.Socket, v.Version)
			}
			gotSnapshot = true
			c.queueApply(func() {
				c.model.Apply(ev)
				c.model.SetDaemonVersion(v)
			})
			return nil
		}
		c.queueApply(func() { c.model.Apply(ev) })
		return nil
	})
	return gotSnapshot, false, err
}

// queueApply queues apply (one watch event into the model) for the UI
// goroutine, in stream order; one drain runs all those queued until it
// runs, then tells the listeners once. With Coalesce, the first event of
// a burst arms a timer and the drain is dispatched when it fires, so a
// burst decoded over a few milliseconds is one redraw.
func (c *Controller) queueApply(apply func()) {
	c.evMu.Lock()
	c.evs = append(c.evs, apply)
	schedule := !c.evsPending
	c.evsPending = true
	if schedule && c.cfg.Coalesce > 0 {
		if c.evTimer == nil {
			c.evTimer = time.AfterFunc(c.cfg.Coalesce, func() {
				if c.ctx.Err() == nil {
					c.cfg.Dispatch(c.drain)
				}
			})
		} else {
			c.evTimer.Reset(c.cfg.Coalesce)
		}
		schedule = false
	}
	c.evMu.Unlock()
	if schedule {
		c.cfg.Dispatch(c.drain)
	}
}

// drain applies the queued events and tells the listeners once. UI
// goroutine only.
func (c *Controller) drain() {
	c.evMu.Lock()
	evs := c.evs
	c.evs, c.evsPending = nil, false
	c.evMu.Unlock()
	for _, apply := range evs {
		apply()
	}
	c.changed()
}

// call runs fn with a timeout on a controller goroutine and hands its
// result to done on the UI goroutine. Errors are also recorded as the
// model's last error.
func call[T any](c *Controller, timeout time.Duration, fn func(ctx context.Context) (T, error), done func(T, error)) {
	c.busy.Add(1)
	ok := c.goRun(func() {
		ctx, cancel := context.WithTimeout(c.ctx, timeout)
		v, err := fn(ctx)
		cancel()
		// The intent stays busy until its result has been applied on the
		// UI goroutine: decrementing here, after Dispatch, let a waiter
		// run the callback, still see the intent busy with nothing queued
		// and wait for a callback that would never come.
		c.cfg.Dispatch(func() {
			defer c.busy.Add(-1)
			c.model.SetLastError(err)
			if done != nil {
				done(v, err)
			}
			c.changed()
		})
	})
	if !ok {
		c.busy.Add(-1)
		if done != nil {
			var zero T
			done(zero, ErrClosed)
		}
	}
}

func call0(c *Controller, fn func(ctx context.Context) error, done func(error)) {
	call(c, c.cfg.CallTimeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	}, func(_ struct{}, err error) {
		if done != nil {
			done(err)
		}
	})
}

// Up turns the data plane on. done may be nil.
func (c *Controller) Up(done func(error)) {
	c.model.BeginConnect()
	c.changed()
	call0(c, c.cfg.Client.Up, func(err error) {
		if err != nil {
			c.model.EndConnect()
		}
		if done != nil {
			done(err)
		}
	})
}

// Down turns the data plane off. done may be nil.
func (c *Controller) Down(done func(error)) {
	c.model.EndConnect()
	call0(c, c.cfg.Client.Down, done)
}

// Create creates a network.
func (c *Controller) Create(req apitype.CreateRequest, done func(apitype.Network, error)) {
	call(c, c.cfg.CallTimeout, func(ctx context.Context) (apitype.Network, error) {
		return c.cfg.Client.Create(ctx, req)
	}, done)
}

// Invite makes an invite code.
func (c *Controller) Invite(req apitype.InviteRequest, done func(apitype.InviteResponse, error)) {
	call(c, c.cfg.CallTimeout, func(ctx context.Context) (apitype.InviteResponse, error) {
		return c.cfg.Client.Invite(ctx, req)
	}, done)
}

// Join joins a network with a code; it may wait for an admin's approval.
func (c *Controller) Join(req apitype.JoinRequestBody, done func(apitype.JoinResponse, error)) {
	call(c, c.cfg.JoinTimeout, func(ctx context.Context) (apitype.JoinResponse, error) {
		return c.cfg.Client.Join(ctx, req)
	}, done)
}

// Leave leaves a network.
func (c *Controller) Leave(network string, done func(error)) {
	call0(c, func(ctx context.Context) error { return c.cfg.Client.Leave(ctx, network) }, done)
}

// Accept approves a join request.
func (c *Controller) Accept(network, id string, done func(error)) {
	call0(c, func(ctx context.Context) error { return c.cfg.Client.Accept(ctx, network, id) }, done)
}

// Deny refuses a join request.
func (c *Controller) Deny(network, id string, done func(error)) {
	call0(c, func(ctx context.Context) error { return c.cfg.Client.Deny(ctx, network, id) }, done)
}

// Ping sends PingCount pings to peer (hostname, address or id). onReply
// runs on the UI goroutine for each reply; done when all are in.
func (c *Controller) Ping(peer string, onReply func(apitype.PingReply), done func(error)) {
	call0(c, func(ctx context.Context) error {
		return c.cfg.Client.Ping(ctx, apitype.PingRequest{Peer: peer, Count: PingCount}, func(r apitype.PingReply) {
			if onReply != nil {
				c.cfg.Dispatch(func() { onReply(r) })
			}
		})
	}, done)
}

// Prefs fetches the daemon's preferences.
func (c *Controller) Prefs(done func(apitype.Prefs, error)) {
	call(c, c.cfg.CallTimeout, c.cfg.Client.Prefs, done)
}

// SetPrefs replaces the daemon's preferences.
func (c *Controller) SetPrefs(p apitype.Prefs, done func(apitype.Prefs, error)) {
	call(c, c.cfg.CallTimeout, func(ctx context.Context) (apitype.Prefs, error) {
		return c.cfg.Client.SetPrefs(ctx, p)
	}, done)
}

// Netcheck probes connectivity (STUN, NAT mapping, relay latency). It
// may take seconds; it runs only when the user asks.
func (c *Controller) Netcheck(done func(apitype.Netcheck, error)) {
	call(c, c.cfg.CallTimeout, c.cfg.Client.Netcheck, done)
}

// Report writes the daemon's support bundle (.tar.gz) into w and closes
// it, on a controller goroutine: w must not be touched until done runs.
// On error the partial file is left to the caller to remove.
func (c *Controller) Report(w io.WriteCloser, done func(error)) {
	call0(c, func(ctx context.Context) error {
		err := c.cfg.Client.Report(ctx, w)
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("save the support bundle: %w", cerr)
		}
		return err
	}, done)
}

// Firewall fetches the firewall's rules, defaults and suggestions, and
// records them in the model (peer details show the rules for a peer).
func (c *Controller) Firewall(done func(apitype.FirewallState, error)) {
	call(c, c.cfg.CallTimeout, c.cfg.Client.Firewall, func(st apitype.FirewallState, err error) {
		if err == nil {
			c.model.SetFirewall(st)
		}
		if done != nil {
			done(st, err)
		}
	})
}

// FirewallChange applies one change, as `ray firewall` does; the daemon
// validates it. The new state is recorded in the model.
func (c *Controller) FirewallChange(ch apitype.FirewallChange, done func(apitype.FirewallState, error)) {
	call(c, c.cfg.CallTimeout, func(ctx context.Context) (apitype.FirewallState, error) {
		return c.cfg.Client.FirewallChange(ctx, ch)
	}, func(st apitype.FirewallState, err error) {
		if err == nil {
			c.model.SetFirewall(st)
		}
		if done != nil {
			done(st, err)
		}
	})
}

// StartDaemon asks the OS to start the daemon, then reconnects at once.
// It may wait for the user to authenticate, so its timeout is JoinTimeout.
func (c *Controller) StartDaemon(done func(error)) {
	call(c, c.cfg.JoinTimeout, func(ctx context.Context) (struct{}, error) {
		if err := c.cfg.StartDaemon(ctx); err != nil {
			return struct{}{}, fmt.Errorf("start the rayfish daemon: %w", err)
		}
		c.Reconnect()
		return struct{}{}, nil
	}, func(_ struct{}, err error) {
		if done != nil {
			done(err)
		}
	})
}
