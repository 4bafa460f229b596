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

// Relays returns the relay list in use.
func (c *Conn) Relays() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.cfg.Relays)
}
