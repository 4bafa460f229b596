package magicconn

import "net/netip"

// SetMappedEndpoint sets the public address the gateway maps to our
// socket (engine/portmap), advertised right after the local addresses;
// an invalid address removes it.
func (c *Conn) SetMappedEndpoint(a netip.AddrPort) {
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if a.Port() == 0 || a.Addr().IsUnspecified() {
		a = netip.AddrPort{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mapped = a
	c.endpointsChangedLocked()
}

// LocalPort returns the socket's UDP port.
func (c *Conn) LocalPort() uint16 { return c.localPort }
