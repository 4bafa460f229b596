package magicconn

import "slices"

// SetRelays replaces the relay list (`ray config set relay`, or relays
// that members of our networks serve). The home relay is chosen again
// from the new list; connections no longer needed close when idle.
func (c *Conn) SetRelays(urls []string) {
	c.mu.Lock()
	if slices.Equal(urls, c.cfg.Relays) || c.closed {
		c.mu.Unlock()
		return
	}
	c.cfg.Relays = slices.Clone(urls)
	if c.home.rc != nil {
		c.home.rc.home = false
	}
	announced := c.home.url
	c.home = homeState{url: announced}
	if len(urls) == 0 && announced != "" {
		c.home.url = ""
		c.endpointsChangedLocked()
	}
	c.mu.Unlock()
	c.kick()
}

// SetMeetRelay sets the relay through which to reach members (SetPeer)
// that name no home relay and whose relay we have not learned: one that
// a member serves, so that two members without relays of their own, who
// cannot meet directly, meet there. It is used only for that: never as
// our home relay, in our endpoints or for STUN. "" means none.
func (c *Conn) SetMeetRelay(url string) {
	if url != "" && checkRelayURL(url) != nil {
		c.log.Warn("ignoring bad meet relay URL", "relay", url)
		url = ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if url == c.meetRelay {
		return
	}
	c.meetRelay = url
	for _, p := range c.peers {
		c.updateRouteLocked(p)
	}
}

// Relays returns the relay list in use.
func (c *Conn) Relays() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.cfg.Relays)
}
