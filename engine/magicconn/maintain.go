package magicconn

import (
	"time"
)

// routineMaintain runs the timers: heartbeat pings, trust expiry, probing
// for direct paths, the home relay, idle relay connections.
func (c *Conn) routineMaintain() {
	defer c.wg.Done()
	t := time.NewTimer(c.t.tick)
	defer t.Stop()
	for {
		all := false
		select {
		case <-c.done:
			return
		case <-t.C:
		case <-c.wake:
			all = true // the data path wants a path now, or the network changed
		}
		t.Reset(c.maintain(all))
	}
}

// maintain runs one tick: it visits every peer that is not resting
// (restingLocked), or every peer if all is set. It returns how long to
// wait for the next tick: the tick, or while every peer rests and the
// home relay is settled, until the first one is due, up to a quarter
// of the quiet heartbeat. Data that begins then kicks the loop
// (Conn.noteData), as do the data path and RemovePeer.
func (c *Conn) maintain(all bool) time.Duration {
	now := c.now()
	var out outbox
	c.mu.Lock()
	c.expirePingsLocked(now)
	c.homeLocked(now)
	wake := now + mono(c.t.quietHeartbeat/4)
	if !c.homeSettledLocked() {
		wake = 0
	}
	for _, p := range c.peerList {
		if all || !c.restingLocked(p, now) {
			c.maintainPeerLocked(p, now, &out)
			c.restLocked(p, now)
		}
		wake = min(wake, p.restUntil)
	}
	idle := c.idleRelaysLocked(now)
	c.expireReflexiveLocked(now)
	c.dk.Retain(c.isMemberLocked) // removed members' disco pairs go
	c.mu.Unlock()
	c.flush(out)
	for _, rc := range idle {
		rc.conn.Close()
	}
	return max(c.t.tick, time.Duration(wake-now))
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
		// Calm counts from the last data, not from the end of the busy
		// window (active) after it: the path was pinged every heartbeat
		// and answered all along (backoff.go).
		p.busyEnd = min(now, mono(p.lastData.Load()))
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

// Resting peers. Most peers of a big mesh are calm most of the time:
// nothing is due for seconds (the next keepalive ping, the end of trust),
// yet visiting each every tick was most of an idle daemon's own CPU. After
// a visit, restLocked sets when the next thing maintenance would do for
// the peer can fall due, as things stand; the peer is skipped until then
// unless things changed: data (busy), the peer becoming active or idle,
// or anything that updates its route, candidates or pings (they clear
// restUntil). A busy peer, or one without a direct path, is visited
// every tick as before.

// restingLocked reports whether maintenance may skip p at now.
func (c *Conn) restingLocked(p *peer, now mono) bool {
	return now < p.restUntil && !p.wasBusy && !c.busy(p, now) &&
		(now-p.lastActive() < mono(c.t.active)) == p.restActive
}

// restLocked sets p.restUntil after a visit at now: the earliest moment
// at which one of maintainPeerLocked's timed conditions can hold, at most
// a quiet heartbeat away.
func (c *Conn) restLocked(p *peer, now mono) {
	p.restUntil = 0
	active := now-p.lastActive() < mono(c.t.active)
	if p.wasBusy || c.busy(p, now) || p.best == nil && active && len(p.cands) > 0 {
		return // heartbeats or probing: every tick
	}
	until := now + mono(c.t.quietHeartbeat)
	if b := p.best; b != nil {
		// The trust windows only grow while the peer stays calm, so
		// the deadlines computed now are the earliest.
		until = min(until, c.trustUntil(p, b, now))
		if r := p.route.Load(); r.direct == b.addr {
			until = min(until, r.trustUntil-mono(c.t.tick)) // routeTrustShortLocked
		}
		switch {
		case !active:
			until = min(until, b.lastPing+mono(c.t.idleHeartbeat))
		case b.lastPing > b.lastPong: // unanswered: quietPingDue
			until = min(until, b.lastPing+mono(c.t.quietHeartbeat))
		default:
			until = min(until, b.lastPing+c.quietInterval(p, now))
		}
		// A silent peer ends the calm, and the quiet heartbeat with it.
		if end := mono(p.lastRecv.Load()) + mono(c.t.quietSilence); end >= now {
			until = min(until, end+1)
		}
	}
	for _, cd := range p.cands {
		if !cd.told && cd != p.best {
			until = min(until, cd.heard()+mono(c.t.candidateTTL)+1)
		}
	}
	p.restUntil = until
	p.restActive = active
}
