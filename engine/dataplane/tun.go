package dataplane

import (
	"errors"
	"os"
	"time"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

// routineTUNRead reads batches from the TUN and hands each packet to its
// peer's send queue.
func (pl *Plane) routineTUNRead() {
	dev := pl.cfg.TUN
	batch := max(dev.BatchSize(), 1)
	bufs := make([][]byte, batch)
	sizes := make([]int, batch)
	// A packet read whole lands in bufs[0], which takes any size (one
	// larger than the MTU is answered "too big"); the others only get
	// the segments of a GSO super-packet, cut to the TUN's MTU, so a
	// pooled buffer's size does: 128 full-size buffers were 8 MB of a
	// daemon's heap and inflated every GC cycle by as much.
	bufs[0] = make([]byte, headroom+maxTUNRead)
	for i := 1; i < batch; i++ {
		bufs[i] = make([]byte, pbufSize)
	}
	for {
		n, err := dev.Read(bufs, sizes, headroom)
		for i := range n {
			if sizes[i] > len(bufs[i])-headroom {
				// A segment cut to a larger MTU than ours (someone
				// raised it under us): truncated, so not forwarded.
				pl.drops.add(dropMalformed)
				continue
			}
			pl.outbound(bufs[i][headroom : headroom+sizes[i]])
		}
		pl.flushOut()
		if err != nil {
			if errors.Is(err, tun.ErrTooManySegments) {
				pl.drops.add(dropMalformed)
				continue
			}
			if errors.Is(err, os.ErrClosed) || pl.ctx.Err() != nil {
				return
			}
			// Keep the tunnel alive through a transient error.
			pl.log.Error("TUN read", "err", err)
			select {
			case <-pl.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// outbound routes one packet read from the TUN into its peer's pending
// batch; flushOut sends the batches. Only the TUN reader calls it (it uses
// pl.outInfo and pl.pend as scratch).
func (pl *Plane) outbound(pkt []byte) {
	if !pl.isUp.Load() {
		pl.drops.add(dropDown)
		return
	}
	info := &pl.outInfo
	if packet.Parse(pkt, info) != nil {
		pl.drops.add(dropMalformed)
		return
	}
	if isMagicDNS(info) {
		pl.answerDNS(pkt, info)
		return
	}
	if info.Dst == key.MagicDNSv4 || info.Dst == key.MagicDNSv6 {
		pl.drops.add(dropNoDNS) // never to a peer, not even the exit node
		return
	}
	p, ok := pl.routes.Lookup(info.Dst)
	if !ok {
		if pl.loadRouting().ExitBlocked {
			pl.drops.add(dropExitDown) // the kill switch: never elsewhere
		} else {
			pl.drops.add(dropNoPeer)
		}
		return
	}
	if len(pkt) > pl.cfg.MTU {
		pl.tooBig(pkt, pl.cfg.MTU)
		return
	}
	if p.carrier.Load() == nil {
		if p == pl.loadRouting().Exit {
			pl.drops.add(dropExitDown) // the kill switch: never elsewhere
		} else {
			pl.drops.add(dropPeerOffline)
		}
		return
	}
	switch pl.cfg.Firewall.Outbound(info, p.key, p.netSet(), pl.Now()) {
	case firewall.Accept:
	case firewall.Reject:
		pl.drops.add(dropFirewallOut)
		pl.reject(pkt, info, nil)
		return
	default:
		pl.drops.add(dropFirewallOut)
		return
	}
	sb := pl.pendingBatch(p)
	if sb == nil {
		pl.drops.add(dropBackpressure)
		return
	}
	b := pl.copyBuf(pkt)
	if b == nil {
		return
	}
	sb.bufs[sb.n] = b
	sb.n++
	if sb.n == len(sb.bufs) {
		pl.flushOut()
	}
}

// pendingBatch returns the batch the TUN reader is filling for p, starting
// one if needed; nil when none is free.
func (pl *Plane) pendingBatch(p *Peer) *pbatch {
	for _, po := range pl.pend {
		if po.p == p {
			return po.sb
		}
	}
	sb := pl.getBatch()
	if sb != nil {
		pl.pend = append(pl.pend, pendingOut{p, sb})
	}
	return sb
}

// flushOut hands every pending batch to its peer's queue; a queue that
// holds peerQueueLen packets drops the batch (a slow peer never blocks
// the reader, nor takes every buffer).
func (pl *Plane) flushOut() {
	for i, po := range pl.pend {
		pl.pend[i] = pendingOut{}
		sb, p := po.sb, po.p
		if sb.n == 0 { // its buffers ran out
			pl.putBatch(sb)
			continue
		}
		if !p.enqueue(sb) {
			pl.drops.addN(dropBackpressure, sb.n)
			pl.putBatch(sb)
		}
	}
	pl.pend = pl.pend[:0]
}

// tooBig answers a packet that cannot fit the path with ICMP "fragmentation
// needed" (IPv4) or "packet too big" (IPv6), written back into the TUN, so
// the sender's stack lowers its path MTU instead of stalling.
func (pl *Plane) tooBig(pkt []byte, mtu int) {
	pl.drops.add(dropTooBig)
	b := pl.getBuf()
	if b == nil {
		return
	}
	_, dst, _ := packet.PeekAddrs(pkt)
	var n int
	var err error
	if pkt[0]>>4 == 4 {
		n, err = packet.BuildICMPv4FragNeeded(b.b[headroom:], pkt, mtu, dst)
	} else {
		n, err = packet.BuildICMPv6PacketTooBig(b.b[headroom:], pkt, max(mtu, 1280), dst)
	}
	if err != nil {
		pl.putBuf(b)
		return
	}
	b.n = n
	pl.toTUN(b)
}

// toTUN queues a packet for the TUN writer.
func (pl *Plane) toTUN(b *pbuf) {
	select {
	case pl.tunq <- b:
	default:
		pl.putBuf(b)
		pl.drops.add(dropBackpressure)
	}
}

// routineTUNWrite is the single TUN writer: it writes whatever is queued
// in one batch. Packets are copied into large buffers first, so that a
// TUN with offloads (Linux virtio headers) can coalesce TCP segments into
// one super-packet (GRO): one write and one trip up the kernel's stack for
// many packets.
func (pl *Plane) routineTUNWrite() {
	dev := pl.cfg.TUN
	batch := max(dev.BatchSize(), 1)
	held := make([]*pbuf, 0, batch)
	views := make([][]byte, 0, batch)
	big := make([][]byte, batch) // allocated as a batch first reaches each
	for {
		select {
		case <-pl.ctx.Done():
			return
		case b := <-pl.tunq:
			held = append(held[:0], b)
		drain:
			for len(held) < batch {
				select {
				case b := <-pl.tunq:
					held = append(held, b)
				default:
					break drain
				}
			}
			views = views[:0]
			for i, b := range held {
				if big[i] == nil {
					big[i] = make([]byte, headroom+maxTUNRead)
				}
				v := big[i][:headroom+b.n]
				copy(v[headroom:], b.packet())
				views = append(views, v)
				pl.putBuf(b)
			}
			if _, err := dev.Write(views, headroom); err != nil && pl.ctx.Err() == nil {
				pl.drops.add(dropTUNWrite)
			}
		}
	}
}

// isMagicDNS reports whether info is a DNS query to the magic resolver.
func isMagicDNS(info *packet.Info) bool {
	return (info.Dst == key.MagicDNSv4 || info.Dst == key.MagicDNSv6) &&
		info.Proto == packet.ProtoUDP && info.HasTransport && info.DstPort == 53
}

// answerDNS answers a query packet from the TUN into the TUN.
func (pl *Plane) answerDNS(pkt []byte, info *packet.Info) {
	if pl.cfg.DNS == nil {
		pl.drops.add(dropNoDNS)
		return
	}
	b := pl.getBuf()
	if b == nil {
		pl.drops.add(dropBackpressure)
		return
	}
	n, err := pl.cfg.DNS.HandlePacket(pkt, b.b[headroom:], info)
	if err != nil || n == 0 {
		pl.putBuf(b) // forwarded (answered later through DeliverDNS) or malformed
		if err != nil {
			pl.drops.add(dropMalformed)
		}
		return
	}
	b.n = n
	pl.toTUN(b)
}

// DeliverDNS writes a forwarded query's reply packet into the TUN (the
// magic DNS resolver's Deliver hook).
func (pl *Plane) DeliverDNS(pkt []byte) {
	if len(pkt) > MaxPacket {
		pl.drops.add(dropBackpressure)
		return
	}
	if pl.deliverToPeer(pkt) { // a peer's query to us as its exit node
		return
	}
	if b := pl.copyBuf(pkt); b != nil {
		pl.toTUN(b)
	}
}

// reject answers a denied packet: into the TUN for our own outbound
// packets, to the peer for inbound ones.
func (pl *Plane) reject(pkt []byte, info *packet.Info, toPeer *Peer) {
	if toPeer != nil {
		pl.rejectToPeer(pkt, info, toPeer)
		return
	}
	b := pl.getBuf()
	if b == nil {
		return
	}
	n, err := firewall.BuildReject(b.b[headroom:], pkt, info)
	if err != nil || n == 0 {
		pl.putBuf(b)
		return
	}
	b.n = n
	pl.toTUN(b)
}

// rejectToPeer sends the answer to a denied inbound packet back to its
// sender, as a batch of one.
func (pl *Plane) rejectToPeer(pkt []byte, info *packet.Info, toPeer *Peer) {
	sb := pl.getBatch()
	if sb == nil {
		return
	}
	b := pl.getBuf()
	if b == nil {
		pl.putBatch(sb)
		return
	}
	sb.bufs[0], sb.n = b, 1
	n, err := firewall.BuildReject(b.b[headroom:], pkt, info)
	if err != nil || n == 0 {
		pl.putBatch(sb)
		return
	}
	b.n = n
	if !toPeer.enqueue(sb) {
		pl.putBatch(sb)
	}
}
