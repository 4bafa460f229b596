package magicconn

import (
	"time"
)

// routineMaintain runs the timers: heartbeat pings, trust expiry, probing
// for direct paths, the home relay, idle relay connections.
func (c *Conn) routineMaintain() {
	defer c.wg.Done()
	t := time.NewTicker(c.t.tick)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		case <-c.wake:
		}
		c.maintain()
	}
}

func (c *Conn) maintain() {
	now := c.now()
	var out outbox
	c.mu.Lock()
	c.expirePingsLocked(now)
	c.homeLocked(now)
	for _, p := range c.peers {
		c.maintainPeerLocked(p, now, &out)
	}
	idle := c.idleRelaysLocked(now)
	c.expireReflexiveLocked(now)
	c.dk.Retain(c.isMemberLocked) // removed members' disco pairs go
	c.mu.Unlock()
	c.flush(out)
	for _, rc := range idle {
		rc.conn.Close()
	}
}

// maintainPeerLocked expires p's stale candidates and trust, and pings:
// the best path every heartbeat, every candidate every upgrade interval
// while direct and every retry interval (with a call-me-maybe) while not.
func (c *Conn) maintainPeerLocked(p *peer, now mono, out *outbox) {
	busy := c.busy(p, now)
	routeChanged := busy != p.wasBusy // the trust window changed (trustUntil)
	switch {
	case busy && !p.wasBusy:
		p.busySince = now
	case !busy && p.wasBusy:
		p.busyEnd = now
	}
	p.wasBusy = busy
	for _, cd := range p.cands {
		if !cd.told && cd != p.best && now-cd.heard() > mono(c.t.candidateTTL) {
			c.removeCandLocked(p, cd)
			routeChanged = true
		}
	}
	if c.chooseLocked(p, now) {
		routeChanged = true
	}
	if routeChanged || c.routeTrustShortLocked(p, now) {
		c.updateRouteLocked(p)
	}
	if len(p.cands) == 0 {
		return
	}
	active := now-p.lastActive() < mono(c.t.active)
	sinceFull := now - mono(p.lastFullPing.Load())
	if b := p.best; b != nil {
		var due bool
		switch {
		case c.hot(p, now):
			due = now-b.lastPing >= mono(c.t.hotHeartbeat)
		case busy:
			due = now-b.lastPing >= mono(c.t.heartbeat)
		case active: // only keepalives: the path must stay trusted, not measured
			due = c.quietPingDue(p, b, now)
		default:
			due = now-b.lastPing >= mono(c.t.idleHeartbeat)
		}
		if busy && sinceFull >= mono(c.t.upgrade) {
			c.fullPingLocked(p, now, out)
		} else if due {
			c.pingLocked(p, b, now, out)
		}
		return
	}
	if !active {
		return
	}
	if p.probeSince == 0 {
		p.probeSince = now
	}
	if sinceFull >= mono(c.t.retry) {
		c.fullPingLocked(p, now, out)
	}
	// Sent as soon as the relay is connected, then every retry interval.
	c.callMeMaybeLocked(p, now, out)
}

// routeTrustShortLocked reports whether p's route stops trusting the
// direct path (within a tick) while maintenance still trusts it. The
// route's deadline is set at a pong with the trust window of that
// moment; the window can grow after it (data ended: the busy window gives
// way to the quiet one), and a route left as it was would then send
// nothing but relayed packets (without a relay: none at all) until the
// next pong. Checked every tick, it is renewed only when it is about to
// run out, so a calm peer costs no new route every tick.
func (c *Conn) routeTrustShortLocked(p *peer, now mono) bool {
	b := p.best
	if b == nil {
		return false
	}
	r := p.route.Load()
	return r.direct == b.addr && r.trustUntil <= now+mono(c.t.tick) && c.trustUntil(p, b, now) > r.trustUntil
}
