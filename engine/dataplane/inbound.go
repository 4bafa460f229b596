package dataplane

import (
	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/packet"
)

// Receive takes one IP packet that arrived from p outside the bulk
// channel (a QUIC datagram): it is copied into a pooled buffer, checked
// and queued for the TUN.
func (pl *Plane) Receive(p *Peer, pkt []byte) {
	if len(pkt) == 0 || len(pkt) > MaxPacket {
		pl.drops.add(dropMalformed)
		return
	}
	if b := pl.copyBuf(pkt); b != nil {
		pl.inboundBuf(p, b)
	}
}

// inboundBuf checks a packet from p, already in b, and queues it for the
// TUN: p must own the inner source (router.Table.Owns), the destination
// must be ours, and the firewall must agree. It takes b.
func (pl *Plane) inboundBuf(p *Peer, b *pbuf) {
	pkt := b.packet()
	var info packet.Info
	var reason dropReason
	switch {
	case !pl.isUp.Load():
		reason = dropDown
	case packet.Parse(pkt, &info) != nil:
		reason = dropMalformed
	case !pl.routes.Owns(p, info.Src):
		reason = dropSpoofed
	case !pl.routes.IsLocal(info.Dst) && !pl.forwards(info.Dst):
		reason = dropNotForUs
	case pl.isPeerDNS(&info):
		pl.answerPeerDNS(p, pkt, &info)
		pl.putBuf(b)
		return
	default:
		switch pl.cfg.Firewall.Inbound(&info, p.key, p.netSet(), pl.Now()) {
		case firewall.Accept:
			p.rxBytes.Add(uint64(len(pkt)))
			pl.pktIn.Add(1)
			pl.toTUN(b)
			return
		case firewall.Reject:
			pl.reject(pkt, &info, p)
		}
		reason = dropFirewallIn
		pl.fwInRecent.add(pl.second())
	}
	pl.drops.add(reason)
	pl.putBuf(b)
}
