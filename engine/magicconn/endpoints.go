package magicconn

import (
	"net/netip"
	"slices"

	"github.com/rayfish/rayfish/engine/disco"
)

// reflexive is one of our addresses as a peer saw it, from a pong.
type reflexive struct {
	addr     netip.AddrPort
	lastSeen mono
}

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

// Endpoints returns our candidate addresses (local ones, then reflexive
// ones from STUN and from pongs; at most 16) and our home relay, for our
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
	for _, a := range c.stunAddrs {
		add(a)
	}
	for _, r := range c.pongAddrs {
		add(r.addr)
	}
	return out
}

// addPongReflexiveLocked records a, our address as a peer saw it. The set
// is small and sticky: behind an address-dependent NAT every peer sees
// another port, and the record must not change with each of them.
func (c *Conn) addPongReflexiveLocked(a netip.AddrPort, now mono) {
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if !a.IsValid() || a.Port() == 0 || a.Addr().IsUnspecified() || a.Addr().IsLoopback() {
		return
	}
	if slices.Contains(c.local, a) || slices.Contains(c.stunAddrs, a) {
		return
	}
	for i := range c.pongAddrs {
		if c.pongAddrs[i].addr == a {
			c.pongAddrs[i].lastSeen = now
			return
		}
	}
	if len(c.pongAddrs) >= maxPongReflexive {
		return
	}
	c.pongAddrs = append(c.pongAddrs, reflexive{addr: a, lastSeen: now})
	c.log.Debug("reflexive address from a pong", "addr", a.String())
	c.endpointsChangedLocked()
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
