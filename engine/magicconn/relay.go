package magicconn

import (
	"sync/atomic"

	"github.com/rayfish/rayfish/engine/bulk"
	"github.com/rayfish/rayfish/engine/disco"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/relay"
)

// relayConn is one managed connection to a relay: the home relay, or one
// opened on demand to reach peers whose home relay is another.
type relayConn struct {
	url  string
	conn *relay.Conn // set before the relayConn is published

	lastUsed  atomic.Int64 // mono of the last packet sent or received
	connected atomic.Bool
	failures  atomic.Int32 // failed attempts since the last success

	home bool // guarded by Conn.mu: the home relay or the attempt at one
}

// send sends pkt to dst through the relay; it never blocks.
func (rc *relayConn) send(dst key.NodePublic, pkt []byte, now mono) error {
	return rc.used(rc.conn.Send(dst, pkt), now)
}

// sendSegments sends a train to dst through the relay in one queue
// operation; it never blocks.
func (rc *relayConn) sendSegments(dst key.NodePublic, buf []byte, segSize int, now mono) error {
	return rc.used(rc.conn.SendSegments(dst, buf, segSize), now)
}

// used notes a successful send at now and returns err.
func (rc *relayConn) used(err error, now mono) error {
	if err == nil && mono(rc.lastUsed.Load()) != now {
		rc.lastUsed.Store(int64(now))
	}
	return err
}

// homeState tracks the choice of home relay.
type homeState struct {
	idx       int        // index in Config.Relays of the current choice
	rc        *relayConn // the current choice, connected or not
	url       string     // the home relay we announce: the last one connected
	since     mono       // when rc became the choice
	downSince mono       // since when rc is not connected, 0 while it is
}

// relayLocked returns the connection to url, opening it if needed. It
// returns nil once the Conn is closed.
func (c *Conn) relayLocked(url string) *relayConn {
	if rc := c.relays[url]; rc != nil {
		return rc
	}
	if c.closed {
		return nil
	}
	rc := &relayConn{url: url}
	rc.lastUsed.Store(int64(c.now()))
	opts := c.cfg.RelayOptions
	opts.OnPacket = func(src key.NodePublic, pkt []byte) { c.onRelayPacket(rc, src, pkt) }
	opts.OnPeerGone = nil
	opts.OnState = func(s relay.State, err error) {
		switch {
		case s == relay.StateConnected:
			rc.failures.Store(0)
			rc.connected.Store(true)
			c.kick() // announce a new home, send pending call-me-maybes
		case err != nil:
			rc.connected.Store(false)
			rc.failures.Add(1)
			c.log.Debug("relay connection failed", "relay", url, "err", err)
			c.kick()
		default:
			rc.connected.Store(false)
		}
	}
	rc.conn = relay.NewConn(url, c.key, opts)
	c.relays[url] = rc
	return rc
}

// onRelayPacket handles a packet relayed from src: disco, or QUIC for
// ReadFrom. It runs on the relay client's reader goroutine.
func (c *Conn) onRelayPacket(rc *relayConn, src key.NodePublic, pkt []byte) {
	now := c.now()
	if mono(rc.lastUsed.Load()) != now {
		rc.lastUsed.Store(int64(now))
	}
	if disco.Looks(pkt) {
		c.handleDiscoRelay(rc, src, pkt)
		return
	}
	if c.cfg.OnBulk != nil && bulk.Looks(pkt) {
		if len(pkt) > maxBulkLen {
			c.ctr.dropTooLarge.Add(1)
			return
		}
		c.ctr.relayRx.add(len(pkt))
		c.cfg.OnBulk(pkt)
		return
	}
	if len(pkt) == 0 || len(pkt) > bufSize {
		c.ctr.dropTooLarge.Add(1)
		return
	}
	c.mu.RLock()
	p := c.peers[src]
	fresh := p != nil && p.learnedRelay == rc.url
	c.mu.RUnlock()
	if !fresh {
		c.mu.Lock()
		p = c.peerLocked(src, false, now)
		if p != nil {
			c.learnRelayLocked(p, rc)
		}
		c.mu.Unlock()
		if p == nil {
			return
		}
	}
	p.lastRecv.Store(int64(now))
	c.noteData(p, len(pkt), now)
	if len(pkt) >= dataMin && mono(p.lastRelayData.Load()) != now {
		p.lastRelayData.Store(int64(now))
	}
	c.ctr.relayRx.add(len(pkt))
	bp := c.getBuf()
	n := copy(*bp, pkt)
	c.deliver(bp, n, p)
}

// homeLocked drives the choice of home relay: the first relay of
// Config.Relays that connects. When the home relay stays down for
// homeFailover, or the first attempt at one fails outright, the next is
// tried; the announced home changes only once another one connects.
func (c *Conn) homeLocked(now mono) {
	relays := c.cfg.Relays
	if len(relays) == 0 || c.closed {
		return
	}
	h := &c.home
	if h.rc == nil {
		h.rc = c.relayLocked(relays[h.idx])
		if h.rc == nil {
			return
		}
		h.rc.home = true
		h.since = now
		h.downSince = now
	}
	if h.rc.connected.Load() {
		h.downSince = 0
		if h.url != h.rc.url {
			c.log.Info("home relay", "relay", h.rc.url, "was", h.url)
			h.url = h.rc.url
			c.endpointsChangedLocked()
		}
		return
	}
	if h.downSince == 0 {
		h.downSince = now
	}
	if len(relays) == 1 {
		return
	}
	// A first attempt that failed moves on quickly; a relay that worked
	// before gets homeFailover to come back.
	neverUp := h.url != h.rc.url && h.rc.failures.Load() > 0
	if !neverUp && now-h.downSince < mono(c.t.homeFailover) {
		return
	}
	h.rc.home = false // closed by idleRelaysLocked unless peers use it
	h.idx = (h.idx + 1) % len(relays)
	h.rc = c.relayLocked(relays[h.idx])
	if h.rc == nil {
		return
	}
	h.rc.home = true
	h.since = now
	h.downSince = now
}

// homeSettledLocked reports whether homeLocked has nothing to watch:
// no relays are configured, or the home relay is connected and announced.
func (c *Conn) homeSettledLocked() bool {
	h := &c.home
	return len(c.cfg.Relays) == 0 || h.rc != nil && h.rc.connected.Load() && h.url == h.rc.url
}

// HomeRelay returns the URL of our home relay, "" before one connected.
func (c *Conn) HomeRelay() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.home.url
}

// RelayStates reports our relay connections by URL, true while
// connected: every configured relay tried as home so far, and the
// on-demand connections to peers' home relays.
func (c *Conn) RelayStates() map[string]bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := make(map[string]bool, len(c.relays))
	for url, rc := range c.relays {
		m[url] = rc.connected.Load()
	}
	return m
}

// idleRelaysLocked removes the relay connections nobody used for
// relayIdle, other than the home one, and returns them for closing once
// the lock is released.
func (c *Conn) idleRelaysLocked(now mono) []*relayConn {
	var idle []*relayConn
	for url, rc := range c.relays {
		if rc.home || url == c.home.url || now-mono(rc.lastUsed.Load()) < mono(c.t.relayIdle) {
			continue
		}
		delete(c.relays, url)
		idle = append(idle, rc)
	}
	if len(idle) > 0 {
		for _, p := range c.peers {
			c.updateRouteLocked(p)
		}
	}
	return idle
}
