package magicconn

import (
	"net/netip"
	"slices"

	"github.com/rayfish/rayfish/engine/disco"
	"github.com/rayfish/rayfish/engine/key"
)

// reflexive is one of our addresses as a peer saw it, from a pong.
type reflexive struct {
	addr     netip.AddrPort
	lastSeen mono
	by       []key.NodePublic // in Conn.pongAddrs: the members that confirmed it
}

// reflexiveSources is how many different members must report an address
// of ours in their pongs before we advertise it. A peer writes what it
// likes in a pong: alone, it must not be able to make us sign an
// address of its choosing, which every member would then ping.
// (Addresses that STUN reports need no pong at all.)
const reflexiveSources = 2

// SetLocalEndpoints sets our local candidate addresses (interface
// addresses with the socket's port), which Endpoints lists first.
func (c *Conn) SetLocalEndpoints(addrs []netip.AddrPort) {
	local := make([]netip.AddrPort, 0, len(addrs))
	for _, a := range addrs {
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		if a.IsValid() && !slices.Contains(local, a) {
			local = append(local, a)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.local = local
	c.endpointsChangedLocked()
}

// Endpoints returns our candidate addresses (local ones, the gateway's
// port mapping, then reflexive ones from STUN and from pongs; at most 16) and our home relay, for our
// endpoint record.
func (c *Conn) Endpoints() (direct []netip.AddrPort, homeRelay string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.endpointsLocked(), c.home.url
}

func (c *Conn) endpointsLocked() []netip.AddrPort {
	out := make([]netip.AddrPort, 0, disco.MaxEndpoints)
	add := func(a netip.AddrPort) {
		if len(out) < disco.MaxEndpoints && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range c.local {
		add(a)
	}
	if c.mapped.IsValid() {
		add(c.mapped)
	}
	for _, a := range c.stunAddrs {
		add(a)
	}
	for _, r := range c.pongAddrs {
		add(r.addr)
	}
	return out
}

// addPongReflexiveLocked records a, our address as peer p saw it. Each
// member's last report is kept; an address joins our endpoints once
// reflexiveSources members that confirm no other one report it, so one
// peer fills at most one slot, and only with an address another member
// confirms. A slot goes when none of its members reports it any more
// (they saw our address change), or after reflexiveTTL. The set is
// small and sticky: behind an address-dependent NAT every peer sees
// another port, and the record must not change with each of them.
func (c *Conn) addPongReflexiveLocked(p *peer, a netip.AddrPort, now mono) {
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if !a.IsValid() || a.Port() == 0 || a.Addr().IsUnspecified() || a.Addr().IsLoopback() {
		return
	}
	if !p.member || slices.Contains(c.local, a) || slices.Contains(c.stunAddrs, a) {
		return
	}
	p.reflexive = reflexive{addr: a, lastSeen: now}
	n := len(c.pongAddrs)
	c.pongAddrs = slices.DeleteFunc(c.pongAddrs, func(r reflexive) bool {
		return !slices.ContainsFunc(r.by, func(k key.NodePublic) bool { return c.reportsLocked(k, r.addr, now) })
	})
	changed := len(c.pongAddrs) != n
	if i := slices.IndexFunc(c.pongAddrs, func(r reflexive) bool { return r.addr == a }); i >= 0 {
		c.pongAddrs[i].lastSeen = now
	} else if len(c.pongAddrs) < maxPongReflexive {
		var by []key.NodePublic
		for k := range c.peers {
			if len(by) < reflexiveSources && c.reportsLocked(k, a, now) && !c.confirmsLocked(k) {
				by = append(by, k)
			}
		}
		if len(by) == reflexiveSources {
			c.pongAddrs = append(c.pongAddrs, reflexive{addr: a, lastSeen: now, by: by})
			c.log.Debug("reflexive address confirmed by pongs of two members", "addr", a.String())
			changed = true
		}
	}
	if changed {
		c.endpointsChangedLocked()
	}
}

// reportsLocked reports whether member k's last pong, recent enough,
// saw us at a.
func (c *Conn) reportsLocked(k key.NodePublic, a netip.AddrPort, now mono) bool {
	q := c.peers[k]
	return q != nil && q.member && q.reflexive.addr == a && now-q.reflexive.lastSeen <= mono(c.t.reflexiveTTL)
}

// confirmsLocked reports whether k is one of the members behind an
// advertised reflexive address.
func (c *Conn) confirmsLocked(k key.NodePublic) bool {
	return slices.ContainsFunc(c.pongAddrs, func(r reflexive) bool { return slices.Contains(r.by, k) })
}

func (c *Conn) expireReflexiveLocked(now mono) {
	n := len(c.pongAddrs)
	c.pongAddrs = slices.DeleteFunc(c.pongAddrs, func(r reflexive) bool {
		return now-r.lastSeen > mono(c.t.reflexiveTTL)
	})
	if len(c.pongAddrs) != n {
		c.endpointsChangedLocked()
	}
}

// endpointsChangedLocked wakes routineNotify if Endpoints changed since it
// last reported.
func (c *Conn) endpointsChangedLocked() {
	eps := c.endpointsLocked()
	if slices.Equal(eps, c.announced) && c.home.url == c.announcedHome {
		return
	}
	c.announced = eps
	c.announcedHome = c.home.url
	select {
	case c.epChanged <- struct{}{}:
	default:
	}
}

// routineNotify calls OnEndpointsChanged, off the data path.
func (c *Conn) routineNotify() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.epChanged:
		}
		if c.cfg.OnEndpointsChanged != nil {
			c.cfg.OnEndpointsChanged()
		}
	}
}

// NetworkChanged re-probes everything now: call it when a link or an
// address of the host changed. Direct paths stay in use until their
// trust runs out, unless the pings confirm them again first.
func (c *Conn) NetworkChanged() {
	c.mu.Lock()
	for _, p := range c.peers {
		p.lastFullPing.Store(0)
		p.lastCMM = 0
		for _, cd := range p.cands {
			cd.lastPing = 0
		}
	}
	c.mu.Unlock()
	select {
	case c.stunKick <- struct{}{}:
	default:
	}
	c.kick()
}
