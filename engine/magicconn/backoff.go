package magicconn

import "time"

// Quiet-path backoff. A peer with only QUIC keepalives lately (no data)
// has its direct path pinged every quietHeartbeat at first; while the path
// stays the same and keeps answering, the interval grows with how long it
// has been calm (a quarter of that time) up to quietMax, and the trust
// window grows with it, so an idle mesh of many peers costs few signed
// disco messages. Anything that could mean trouble pings fast again: data
// (the peer is busy: heartbeat and trust are unaffected), a path that
// changed or was lost lately, an unanswered ping, and QUIC going silent
// from the peer for quietSilence while it was sending keepalives.

// pongWait is how long a keepalive ping may go unanswered before it is
// repeated at the fast heartbeat.
const pongWait = time.Second

// calm returns how long p's direct path has been steady and without data
// (since the path was chosen, or since the last data once the peer is no
// longer busy), or 0 when it is not calm at all. Data that just began on a
// calm path leaves it trusted for a hot trust window, time for the first
// heartbeats under data to be answered (trustUntil).
func (c *Conn) calm(p *peer, now mono) mono {
	if c.t.quietMax <= c.t.quietHeartbeat || p.best == nil {
		return 0
	}
	if now-mono(p.lastRecv.Load()) > mono(c.t.quietSilence) {
		return 0
	}
	since := max(p.busyEnd, p.pathSince, p.lostAt)
	if now <= since {
		return 0
	}
	return now - since
}

// quietInterval is how often p's best path is pinged while p is active
// but not busy, ignoring unanswered pings.
func (c *Conn) quietInterval(p *peer, now mono) mono {
	return min(max(mono(c.t.quietHeartbeat), c.calm(p, now)/4), max(mono(c.t.quietMax), mono(c.t.quietHeartbeat)))
}

// quietPingDue reports whether p's best path b is due a keepalive ping: a
// ping that went unanswered for pongWait is repeated at the fast
// quiet heartbeat.
func (c *Conn) quietPingDue(p *peer, b *candidate, now mono) bool {
	since := now - b.lastPing
	if b.lastPing > b.lastPong && since > mono(pongWait) {
		return since >= mono(c.t.quietHeartbeat)
	}
	return since >= c.quietInterval(p, now)
}

// quietTrustWindow is how long a pong keeps a quiet peer's path trusted:
// quietTrust at the fast heartbeat, and two more intervals for every
// interval the heartbeat has backed off, so that a backed-off path
// survives a lost pong and its retries as the fast one does.
func (c *Conn) quietTrustWindow(p *peer, now mono) mono {
	return mono(c.t.quietTrust) + 2*(c.quietInterval(p, now)-mono(c.t.quietHeartbeat))
}
