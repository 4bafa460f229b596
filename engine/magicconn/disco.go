package magicconn

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/rayfish/rayfish/engine/disco"
	"github.com/rayfish/rayfish/engine/key"
)

// pendingPing is a ping awaiting its pong.
type pendingPing struct {
	peer key.NodePublic
	addr netip.AddrPort
	sent mono
}

// discoOut is a disco message to send once the lock is released: sealing
// may first derive the pair's keys (tens of microseconds), too long to
// hold the lock the data path takes.
type discoOut struct {
	to     key.NodePublic
	member bool           // to is a member: keep its disco pair
	addr   netip.AddrPort // UDP destination, when rc is nil
	ua     *net.UDPAddr   // addr, if at hand
	rc     *relayConn     // relay to send through, or nil
	msg    disco.Message
	pair   *disco.Pair // to seal with, if at hand (a non-member's is not kept)
}

type outbox []discoOut

// flush seals and sends the messages in out.
func (c *Conn) flush(out outbox) {
	if len(out) == 0 {
		return
	}
	bp := c.getBuf()
	defer c.putBuf(bp)
	for _, o := range out {
		pair, err := o.pair, error(nil)
		if pair == nil {
			pair, err = c.dk.Pair(o.to, o.member)
		}
		if err != nil {
			c.ctr.dropBadDisco.Add(1) // a key with no pair: nothing to send it
			continue
		}
		b := pair.Append((*bp)[:0], o.msg)
		if o.rc != nil {
			err = o.rc.send(o.to, b, c.now())
		} else {
			err = c.writeUDP(b, o.addr, o.ua)
		}
		if err != nil {
			continue
		}
		switch o.msg.(type) {
		case *disco.Ping:
			c.ctr.pingsSent.Add(1)
		case *disco.Pong:
			c.ctr.pongsSent.Add(1)
		case *disco.CallMeMaybe:
			c.ctr.cmmSent.Add(1)
		}
	}
}

// pingLocked queues a ping to cd. Only members are pinged (see SetPeer):
// every ping the Conn sends passes here.
func (c *Conn) pingLocked(p *peer, cd *candidate, now mono, out *outbox) {
	if !p.member || len(c.pings) >= maxPendingPings {
		return
	}
	tx := disco.NewTxID()
	c.pings[tx] = &pendingPing{peer: p.key, addr: cd.addr, sent: now}
	cd.lastPing = now
	p.restUntil = 0
	*out = append(*out, discoOut{to: p.key, member: true, addr: cd.addr, ua: cd.ua, msg: &disco.Ping{TxID: tx}})
}

// pingBackLocked queues a ping to cd in answer to the peer's ping or
// call-me-maybe, unless cd is confirmed or was pinged back just now.
func (c *Conn) pingBackLocked(p *peer, cd *candidate, now mono, out *outbox) {
	if c.trusted(p, cd, now) || now-cd.lastPingBack < mono(c.t.pingBackGap) {
		return
	}
	cd.lastPingBack = now
	c.pingLocked(p, cd, now, out)
}

// fullPingLocked queues a ping to every candidate of p not pinged lately.
func (c *Conn) fullPingLocked(p *peer, now mono, out *outbox) {
	p.lastFullPing.Store(int64(now))
	for _, cd := range p.cands {
		if now-cd.lastPing >= mono(c.t.minPingGap) {
			c.pingLocked(p, cd, now, out)
		}
	}
}

// callMeMaybeLocked queues a call-me-maybe with our endpoints through
// p's relay, so that p pings us while we ping it, if p has no direct path,
// its relay is connected and the last one is old enough. Both sides'
// pings crossing open the NAT mappings on both sides.
func (c *Conn) callMeMaybeLocked(p *peer, now mono, out *outbox) {
	if !p.member || p.best != nil || p.lastCMM != 0 && now-p.lastCMM < mono(c.t.retry) {
		return
	}
	rc := c.peerRelayLocked(p)
	if rc == nil || !rc.connected.Load() {
		return
	}
	p.lastCMM = now
	*out = append(*out, discoOut{to: p.key, member: true, rc: rc, msg: &disco.CallMeMaybe{Endpoints: c.endpointsLocked()}})
	c.fullPingLocked(p, now, out) // at the same time as the peer
}

// peerRelayLocked returns the relay connection to reach p through,
// opening it if needed, or nil if p has no relay.
func (c *Conn) peerRelayLocked(p *peer) *relayConn {
	url, _ := c.relayURLsLocked(p)
	if url == "" {
		return nil
	}
	rc := c.relays[url]
	if rc == nil {
		rc = c.relayLocked(url)
		c.updateRouteLocked(p)
	}
	return rc
}

// discoBufs holds the disco.Bufs that received messages are decoded
// into, so that receiving allocates nothing.
var discoBufs = sync.Pool{New: func() any { return new(disco.Buf) }}

// openDisco opens the disco message b from sender with the pair's keys
// (kept for members), decoding into buf, and returns the pair too. A key
// we do not know at all costs a key derivation, so it passes the rate
// limit first.
func (c *Conn) openDisco(b []byte, sender key.NodePublic, buf *disco.Buf, now mono) (disco.Header, *disco.Pair, disco.Message, bool) {
	c.mu.RLock()
	p := c.peers[sender]
	have, member := p != nil, p != nil && p.member
	c.mu.RUnlock()
	if !have && !c.allowUnknown(now) {
		c.ctr.dropRateLimited.Add(1)
		return disco.Header{}, nil, nil, false
	}
	pair, err := c.dk.Pair(sender, member)
	if err != nil {
		c.ctr.dropBadDisco.Add(1)
		return disco.Header{}, nil, nil, false
	}
	h, msg, err := pair.Open(b, buf)
	if err != nil {
		c.ctr.dropBadDisco.Add(1)
		return disco.Header{}, nil, nil, false
	}
	return h, pair, msg, true
}

// handleDiscoUDP handles a disco message that arrived on the socket from src.
func (c *Conn) handleDiscoUDP(b []byte, src netip.AddrPort) {
	now := c.now()
	sender, ok := disco.Sender(b)
	if !ok {
		c.ctr.dropBadDisco.Add(1)
		return
	}
	buf := discoBufs.Get().(*disco.Buf)
	defer discoBufs.Put(buf)
	h, pair, msg, ok := c.openDisco(b, sender, buf, now)
	if !ok {
		return
	}
	switch m := msg.(type) {
	case *disco.Ping:
		c.onPing(h, pair, m, src, nil, now)
	case *disco.Pong:
		c.onPong(h, m, src, now)
	case *disco.CallMeMaybe:
		c.onCallMeMaybe(h, m, nil, now)
	}
}

// handleDiscoRelay handles a disco message relayed from src through rc.
func (c *Conn) handleDiscoRelay(rc *relayConn, src key.NodePublic, b []byte) {
	now := c.now()
	if sender, ok := disco.Sender(b); !ok || sender != src {
		c.ctr.dropBadDisco.Add(1)
		return
	}
	buf := discoBufs.Get().(*disco.Buf)
	defer discoBufs.Put(buf)
	h, pair, msg, ok := c.openDisco(b, src, buf, now)
	if !ok {
		return
	}
	switch m := msg.(type) {
	case *disco.Ping:
		c.onPing(h, pair, m, netip.AddrPort{}, rc, now)
	case *disco.CallMeMaybe:
		c.onCallMeMaybe(h, m, rc, now)
	}
	// We never ping through relays, so a relayed pong answers nothing.
}

// freshLocked reports whether a verified disco message with header h
// from p is fresh and not a replay (see disco.Window), counting it if not.
func (c *Conn) freshLocked(p *peer, h disco.Header) bool {
	if p.replay.Accept(h.Stamp, time.Now()) {
		return true
	}
	c.ctr.dropStaleDisco.Add(1)
	return false
}

// onPing answers a ping from h.From that arrived from src on the socket
// (or through rc). A ping from an address teaches us that address for
// the key, even for a key we were not told about: that is how a joiner
// reaches the node that invited it. A replayed ping is ignored. The pong
// is sealed with pair, the one that opened the ping.
func (c *Conn) onPing(h disco.Header, pair *disco.Pair, m *disco.Ping, src netip.AddrPort, rc *relayConn, now mono) {
	from := h.From
	var out outbox
	c.mu.Lock()
	p := c.peerLocked(from, false, now)
	if p == nil || !c.freshLocked(p, h) {
		c.mu.Unlock()
		return
	}
	c.ctr.pingsRecv.Add(1)
	if rc != nil {
		c.learnRelayLocked(p, rc)
		out = append(out, discoOut{to: from, pair: pair, rc: rc, msg: &disco.Pong{TxID: m.TxID}})
	} else {
		out = append(out, discoOut{to: from, pair: pair, addr: src, msg: &disco.Pong{TxID: m.TxID, Src: src}})
		isNew := p.cands[src] == nil
		if cd := c.candLocked(p, src, false, now); cd != nil {
			cd.lastHeard = now
			c.claimAddrLocked(src, p, false, now)
			// Ping back, unless the path is already confirmed: our
			// ping now passes the NATs the peer's ping just opened,
			// even if one we sent a moment ago did not.
			c.pingBackLocked(p, cd, now, &out)
			if isNew || !p.member { // a non-member's route is where it last spoke from
				c.updateRouteLocked(p)
			}
		}
	}
	c.mu.Unlock()
	c.flush(out)
}

// onPong handles a pong from h.From that arrived from src.
func (c *Conn) onPong(h disco.Header, m *disco.Pong, src netip.AddrPort, now mono) {
	from := h.From
	c.mu.Lock()
	defer c.mu.Unlock()
	pp := c.pings[m.TxID]
	if pp == nil || pp.peer != from {
		c.ctr.strayPongs.Add(1)
		return
	}
	if p := c.peers[from]; p != nil && !c.freshLocked(p, h) {
		return
	}
	delete(c.pings, m.TxID)
	c.ctr.pongsRecv.Add(1)
	p := c.peers[from]
	if p == nil {
		return
	}
	cd := p.cands[pp.addr]
	if cd == nil {
		return // dropped since we pinged it
	}
	rtt := time.Duration(now - pp.sent)
	if cd.rtt == 0 {
		cd.rtt = rtt
	} else {
		cd.rtt = (3*cd.rtt + rtt) / 4
	}
	cd.lastPong = now
	cd.lastHeard = now
	c.claimAddrLocked(pp.addr, p, true, now)
	if src != pp.addr {
		// The peer's NAT answers from another address than the one we
		// pinged: QUIC from there is the peer's too.
		if scd := c.candLocked(p, src, false, now); scd != nil {
			scd.lastHeard = now
			c.claimAddrLocked(src, p, true, now)
		}
	}
	c.addPongReflexiveLocked(p, m.Src, now)
	c.chooseLocked(p, now)
	c.updateRouteLocked(p) // the trust window moved
}

// onCallMeMaybe pings the endpoints a peer listed in a call-me-maybe,
// right away: the peer pings ours at the same time. Only a member's
// count: a call-me-maybe makes us ping up to 16 addresses, which a
// stranger must not be able to aim at a victim.
func (c *Conn) onCallMeMaybe(h disco.Header, m *disco.CallMeMaybe, rc *relayConn, now mono) {
	var out outbox
	c.mu.Lock()
	p := c.peers[h.From]
	if p == nil || !p.member {
		c.mu.Unlock()
		c.ctr.dropNotMember.Add(1)
		return
	}
	c.ctr.cmmRecv.Add(1)
	if !c.freshLocked(p, h) || p.lastCMMRx != 0 && now-p.lastCMMRx < mono(c.t.minPingGap) {
		c.mu.Unlock()
		return
	}
	p.lastCMMRx = now
	if rc != nil {
		c.learnRelayLocked(p, rc)
	}
	for _, ep := range m.Endpoints {
		ep = netip.AddrPortFrom(ep.Addr().Unmap(), ep.Port())
		if !ep.IsValid() || ep.Port() == 0 || ep.Addr().IsUnspecified() {
			continue
		}
		cd := c.candLocked(p, ep, false, now)
		if cd == nil {
			continue
		}
		c.pingBackLocked(p, cd, now, &out)
	}
	if p.best == nil && p.probeSince == 0 {
		p.probeSince = now
	}
	c.updateRouteLocked(p)
	c.mu.Unlock()
	c.flush(out)
}

// learnRelayLocked records that p is reachable through rc.
func (c *Conn) learnRelayLocked(p *peer, rc *relayConn) {
	if p.learnedRelay != rc.url {
		p.learnedRelay = rc.url
		c.updateRouteLocked(p)
	}
}

// expirePingsLocked forgets pings that got no pong in time.
func (c *Conn) expirePingsLocked(now mono) {
	for tx, pp := range c.pings {
		if now-pp.sent > mono(c.t.pingTimeout) {
			delete(c.pings, tx)
		}
	}
}

// isMemberLocked reports whether k is a member (see SetPeer).
func (c *Conn) isMemberLocked(k key.NodePublic) bool {
	p := c.peers[k]
	return p != nil && p.member
}
