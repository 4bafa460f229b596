package magicconn

import (
	"net"
	"sync/atomic"
)

// WriteSegments sends buf as a train of datagrams of segSize bytes each
// (the last may be shorter) to the peer at addr. On a trusted direct path
// over a socket with UDP GSO (Linux), the whole train is one sendmsg and
// the kernel cuts it; otherwise each segment goes on its own, over
// whatever path WriteTo would use. Like WriteTo it drops rather than
// blocks, counting what it drops.
func (c *Conn) WriteSegments(buf []byte, segSize int, addr net.Addr) error {
	if c.isClosed() {
		return net.ErrClosed
	}
	p := c.peerByAddr(addr)
	if p == nil {
		c.ctr.dropNoPeer.Add(1)
		return nil
	}
	if segSize <= 0 {
		return nil
	}
	if len(buf) > segSize && c.gsoOK.Load() && c.gso != nil {
		now := c.now()
		r := p.route.Load()
		if r.direct.IsValid() && now < r.trustUntil {
			p.lastSend.Store(int64(now))
			c.noteData(p, len(buf), now)
			err := c.gso.writeGSO(buf, segSize, r.direct)
			if err == nil {
				c.ctr.directTx.add(len(buf))
				return nil
			}
			if isGSOUnsupported(err) {
				c.gsoOK.Store(false) // fall back to one datagram at a time
			} else {
				c.ctr.dropWriteError.Add(1)
				return nil
			}
		}
	}
	if c.sendRelayTrain(p, buf, segSize) {
		return nil
	}
	for len(buf) > 0 {
		n := min(segSize, len(buf))
		c.send(p, buf[:n])
		buf = buf[n:]
	}
	return nil
}

// sendRelayTrain sends a train through p's relay in one queue operation,
// when p has no trusted direct path and a relay connection to p is up.
// It reports false when the packets must go one by one (send).
func (c *Conn) sendRelayTrain(p *peer, buf []byte, segSize int) bool {
	now := c.now()
	r := p.route.Load()
	if r.direct.IsValid() && now < r.trustUntil {
		return false
	}
	n := (len(buf) + segSize - 1) / segSize
	for _, rc := range r.relays {
		if rc == nil || !rc.connected.Load() {
			continue
		}
		p.lastSend.Store(int64(now))
		c.noteData(p, len(buf), now)
		if now-mono(p.lastFullPing.Load()) >= mono(c.t.retry) {
			c.kick() // look for a direct path now
		}
		if rc.sendSegments(p.key, buf, segSize, now) == nil {
			c.ctr.relayTx.addN(n, len(buf))
			return true
		}
	}
	return false // no relay up, or every one refused: send decides
}

// gsoState is set up in New when the socket can do UDP GSO.
type gsoState = atomic.Bool
