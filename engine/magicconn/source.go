package magicconn

import (
	"net/netip"

	"github.com/rayfish/rayfish/engine/key"
)

// Source names where k's packets come from, to limit what one sender may
// ask of us (join connections, join requests): "ip IP" for the address
// it was last heard from directly (an IPv6 address by its /64, which one
// host can fill), else "relay URL" for the relay its last relayed packet
// came through, else "" if k is unknown.
func (c *Conn) Source(k key.NodePublic) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := c.peers[k]
	if p == nil {
		return ""
	}
	var last *candidate
	for _, cd := range p.cands {
		if cd.lastHeard != 0 && (last == nil || cd.lastHeard > last.lastHeard) {
			last = cd
		}
	}
	if last != nil {
		return "ip " + SourcePrefix(last.addr.Addr()).String()
	}
	if p.learnedRelay != "" {
		return "relay " + p.learnedRelay
	}
	return ""
}

// SourcePrefix is the block of addresses one sender is assumed to
// control: the address itself for IPv4, its /64 for IPv6.
func SourcePrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}
