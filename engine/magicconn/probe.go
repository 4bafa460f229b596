package magicconn

import "github.com/rayfish/rayfish/engine/key"

// Probe pings every candidate address of member k now, unless a direct
// path is already working. The engine calls it at rendezvous slots (the
// same wall-clock instant on both sides, see engine/dhtdisc) so that two
// endpoint-independent NATs open towards each other at once. A node that
// SetPeer has not made a member is not pinged.
func (c *Conn) Probe(k key.NodePublic) {
	now := c.now()
	var out outbox
	c.mu.Lock()
	if p := c.peers[k]; p != nil && p.member && p.best == nil {
		c.fullPingLocked(p, now, &out)
		c.callMeMaybeLocked(p, now, &out)
	}
	c.mu.Unlock()
	c.flush(out)
}
