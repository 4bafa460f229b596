package dataplane

import (
	"net/netip"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

// Routing is what the plane needs beyond the routing table for exit
// nodes and subnet routes (the engine computes it: engine/routeset).
type Routing struct {
	// ServeExit: this node is an approved exit node; packets from peers
	// to any address outside the overlay go into the TUN, for the kernel
	// to forward (the firewall still applies), and DNS queries to our
	// overlay address are answered by magic DNS.
	ServeExit bool
	// ServePrefixes are this node's approved subnet routes: packets from
	// peers into them go into the TUN too.
	ServePrefixes []netip.Prefix
	// ExitBlocked: the user chose an exit node that cannot carry traffic
	// (unapproved, gone): what it would carry is dropped and counted as
	// exit_node_down, never sent anywhere else.
	ExitBlocked bool
	// Exit is the chosen exit node (the table's default peer) while it is
	// approved: its packets are dropped as exit_node_down while it is
	// offline.
	Exit *Peer
}

// SetRouting replaces the plane's Routing.
func (pl *Plane) SetRouting(r Routing) { pl.routing.Store(&r) }

func (pl *Plane) loadRouting() *Routing {
	if r := pl.routing.Load(); r != nil {
		return r
	}
	return &noRouting
}

var noRouting Routing

// forwards reports whether a packet from a peer to dst, not one of our
// addresses, is for this node to forward.
func (pl *Plane) forwards(dst netip.Addr) bool {
	r := pl.loadRouting()
	if !r.ServeExit && len(r.ServePrefixes) == 0 {
		return false
	}
	if key.CGNATPrefix.Contains(dst) || key.ULAPrefix.Contains(dst) {
		return false
	}
	if r.ServeExit {
		return true
	}
	for _, p := range r.ServePrefixes {
		if p.Contains(dst) {
			return true
		}
	}
	return false
}

// isPeerDNS reports whether info is a DNS query from a peer to this exit
// node's own overlay address.
func (pl *Plane) isPeerDNS(info *packet.Info) bool {
	return info.Proto == packet.ProtoUDP && info.HasTransport && info.DstPort == 53 &&
		pl.cfg.DNS != nil && pl.loadRouting().ServeExit && pl.routes.IsLocal(info.Dst)
}

// answerPeerDNS answers p's query with magic DNS (names of the mesh, and
// through this node's upstream resolvers the rest): the DNS of a member
// that uses this node as its exit node follows it.
func (pl *Plane) answerPeerDNS(p *Peer, pkt []byte, info *packet.Info) {
	sb := pl.getBatch()
	if sb == nil {
		pl.drops.add(dropBackpressure)
		return
	}
	b := pl.getBuf()
	if b == nil {
		pl.putBatch(sb)
		pl.drops.add(dropBackpressure)
		return
	}
	sb.bufs[0], sb.n = b, 1
	n, err := pl.cfg.DNS.HandleAnyPacket(pkt, b.b[headroom:], info)
	if err != nil || n == 0 {
		pl.putBatch(sb) // forwarded (answered through DeliverDNS) or malformed
		if err != nil {
			pl.drops.add(dropMalformed)
		}
		return
	}
	b.n = n
	if !p.enqueue(sb) {
		pl.putBatch(sb)
		pl.drops.add(dropBackpressure)
	}
}

// deliverToPeer sends a forwarded DNS reply for a peer (its destination
// is not ours) to that peer; it reports false when dst is ours.
func (pl *Plane) deliverToPeer(pkt []byte) bool {
	var info packet.Info
	if packet.Parse(pkt, &info) != nil || pl.routes.IsLocal(info.Dst) {
		return false
	}
	p, ok := pl.routes.Lookup(info.Dst)
	if !ok {
		pl.drops.add(dropNoPeer)
		return true
	}
	sb := pl.getBatch()
	if sb == nil {
		pl.drops.add(dropBackpressure)
		return true
	}
	b := pl.copyBuf(pkt)
	if b == nil {
		pl.putBatch(sb)
		return true
	}
	sb.bufs[0], sb.n = b, 1
	if !p.enqueue(sb) {
		pl.putBatch(sb)
		pl.drops.add(dropBackpressure)
	}
	return true
}
