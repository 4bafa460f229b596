package relay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// State is the state of a Conn.
type State int32

const (
	// StateConnecting: dialing, or waiting to retry.
	StateConnecting State = iota
	// StateConnected: authenticated; Send works.
	StateConnected
	// StateClosed: Close was called.
	StateClosed
)

// String names the state for logs and status output.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Defaults for ConnOptions' zero fields.
const (
	DefaultPingInterval   = 15 * time.Second
	DefaultPingTimeout    = 5 * time.Second
	DefaultDialTimeout    = 10 * time.Second
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 2 * time.Second
	DefaultRefusedBackoff = 30 * time.Second
)

// ConnOptions configure a Conn. The embedded ClientOptions apply to every
// connection it makes; their callbacks keep working across reconnects.
type ConnOptions struct {
	ClientOptions

	// OnState is called from the Conn's goroutine, one call at a time,
	// whenever the state changes and after every failed attempt; err
	// says why the connection was lost or the attempt failed (nil when
	// connected or closed). It must not block for long or call Close.
	OnState func(s State, err error)

	// PingInterval is how often the connection is pinged to measure
	// latency and detect a dead relay. Default DefaultPingInterval; keep
	// it well below the server's idle timeout.
	PingInterval time.Duration
	// PingTimeout is how long a Pong may take before the connection is
	// considered dead and replaced. Default DefaultPingTimeout.
	PingTimeout time.Duration
	// DialTimeout bounds one connection attempt. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between failed attempts,
	// which doubles from MinBackoff up to MaxBackoff and is jittered
	// down by up to half. Defaults DefaultMinBackoff, DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// RefusedBackoff is the wait after the relay refused this node (an
	// Error frame during the handshake, such as a key its Allow hook
	// rejects). Default DefaultRefusedBackoff.
	RefusedBackoff time.Duration
}

func (o *ConnOptions) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PingInterval, DefaultPingInterval)
	def(&o.PingTimeout, DefaultPingTimeout)
	def(&o.DialTimeout, DefaultDialTimeout)
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	def(&o.RefusedBackoff, DefaultRefusedBackoff)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
}

// Conn keeps one connection to a relay alive: it dials, reconnects with
// backoff after failures, pings to measure latency and to detect a dead
// connection, and reports state changes. Its methods are safe for
// concurrent use.
type Conn struct {
	url  string
	key  key.NodePrivate
	opts ConnOptions

	client  atomic.Pointer[Client] // nil while not connected
	state   atomic.Int32
	latency atomic.Int64 // last round-trip time in nanoseconds; 0 if none

	cancel    context.CancelFunc
	done      chan struct{} // closed when routineRun has exited
	closeOnce sync.Once
}

// NewConn starts keeping a connection to the relay at url, authenticated
// as k. Stop it with Close.
func NewConn(url string, k key.NodePrivate, opts ConnOptions) *Conn {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		url:    url,
		key:    k,
		opts:   opts,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go c.routineRun(ctx)
	return c
}

// URL returns the relay URL.
func (c *Conn) URL() string { return c.url }

// State returns the current state.
func (c *Conn) State() State { return State(c.state.Load()) }

// Latency returns the round-trip time last measured on the current
// connection, 0 if none.
func (c *Conn) Latency() time.Duration { return time.Duration(c.latency.Load()) }

// Send queues pkt for dst on the current connection; see Client.Send. It
// returns ErrNotConnected while there is none.
func (c *Conn) Send(dst key.NodePublic, pkt []byte) error {
	cl := c.client.Load()
	if cl == nil {
		return ErrNotConnected
	}
	return cl.Send(dst, pkt)
}

// SendSegments queues a train of packets for dst (Client.SendSegments).
func (c *Conn) SendSegments(dst key.NodePublic, buf []byte, segSize int) error {
	cl := c.client.Load()
	if cl == nil {
		return ErrNotConnected
	}
	return cl.SendSegments(dst, buf, segSize)
}

// Close closes the connection, stops reconnecting and waits until the
// Conn's goroutines have exited. It is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		<-c.done
	})
	return nil
}

// setState records s and reports it to OnState if it changed or if err
// is a new failure.
func (c *Conn) setState(s State, err error) {
	if State(c.state.Swap(int32(s))) == s && err == nil {
		return
	}
	if c.opts.OnState != nil {
		c.opts.OnState(s, err)
	}
}

// backoff returns the wait after the given number of consecutive
// failures (starting at 0): doubling from MinBackoff, capped at
// MaxBackoff, with up to half of it taken off at random.
func (c *Conn) backoff(failures int) time.Duration {
	d := c.opts.MaxBackoff
	if failures < 30 {
		d = min(d, c.opts.MinBackoff<<failures)
	}
	return d - rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// routineRun connects, keeps the connection alive and reconnects, until
// ctx is cancelled by Close.
func (c *Conn) routineRun(ctx context.Context) {
	defer close(c.done)
	defer c.setState(StateClosed, nil)
	failures := 0
	for {
		dctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
		cl, err := Dial(dctx, c.url, c.key, c.opts.ClientOptions)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait := c.backoff(failures)
			failures++
			var se *ServerError
			if errors.As(err, &se) {
				wait = max(wait, c.opts.RefusedBackoff)
			}
			c.setState(StateConnecting, err)
			if !sleepCtx(ctx, wait) {
				return
			}
			continue
		}
		failures = 0
		c.client.Store(cl)
		c.setState(StateConnected, nil)
		err = c.keepAlive(ctx, cl)
		c.client.Store(nil)
		cl.Close()
		c.latency.Store(0)
		if ctx.Err() != nil {
			return
		}
		c.setState(StateConnecting, err)
		// A short jittered pause, so that the clients of a relay that
		// restarts do not all come back at the same instant.
		if !sleepCtx(ctx, c.backoff(0)) {
			return
		}
	}
}

// keepAlive pings cl until it fails or ctx is cancelled, and returns why
// it stopped.
func (c *Conn) keepAlive(ctx context.Context, cl *Client) error {
	t := time.NewTimer(0) // measure latency right away
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-cl.Done():
			return cl.Err()
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.opts.PingTimeout)
		rtt, err := cl.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		c.latency.Store(int64(rtt))
		t.Reset(c.opts.PingInterval)
	}
}
