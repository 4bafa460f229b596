package engine

import (
	"errors"
	"net/netip"
	"os"
	"time"

	"github.com/quic-go/quic-go"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/rayfish/rayfish/engine/bulk"
	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

// Data plane sizing.
const (
	// headroom is reserved before every packet for the TUN layer (virtio
	// header on Linux, 4-byte family on macOS utun).
	headroom = 16
	// pbufSize holds one TUN-MTU packet plus headroom.
	pbufSize = 2048
	// poolSize bounds the packets in flight from peers to the TUN.
	poolSize = 4096
	// peerQueueLen bounds the packets queued for one peer, so that a
	// slow peer cannot take the whole pool from the others. Its queue
	// holds as many batches, since a batch has at least one packet.
	peerQueueLen = 512
	// maxBatches bounds the send batches in flight across all peers; they
	// are small (the packets are pooled buffers) and allocated as traffic
	// needs them.
	maxBatches = poolSize
	// tunQueueLen bounds the TUN writer's queue.
	tunQueueLen = 1024
	// maxTUNRead is the largest read the TUN may hand us.
	maxTUNRead = 65535
)

// pbuf is a pooled packet buffer: headroom, then n bytes of packet.
type pbuf struct {
	b [pbufSize]byte
	n int
}

func (b *pbuf) packet() []byte { return b.b[headroom : headroom+b.n] }

func (e *Engine) getBuf() *pbuf {
	select {
	case b := <-e.free:
		return b
	default:
		return nil
	}
}

func (e *Engine) putBuf(b *pbuf) {
	select {
	case e.free <- b:
	default:
	}
}

// pbatch carries up to sendBatch packets to one peer's sender as one
// queue item: the TUN reader and the sender meet once per batch, not once
// per packet (per-packet queue operations cost ~15% of the sender's CPU
// in lock contention).
type pbatch struct {
	n    int
	bufs [sendBatch]*pbuf
}

// pendingOut is a batch the TUN reader is filling for a peer.
type pendingOut struct {
	p  *peer
	sb *pbatch
}

// getBatch returns an empty batch, or nil when maxBatches are in flight.
func (e *Engine) getBatch() *pbatch {
	select {
	case sb := <-e.batches:
		sb.n = 0
		return sb
	default:
	}
	if e.nbatches.Add(1) <= maxBatches {
		return new(pbatch)
	}
	e.nbatches.Add(-1)
	return nil
}

// putBatch returns sb and its packet buffers to their pools.
func (e *Engine) putBatch(sb *pbatch) {
	for i := range sb.n {
		e.putBuf(sb.bufs[i])
		sb.bufs[i] = nil
	}
	sb.n = 0
	select {
	case e.batches <- sb:
	default:
		e.nbatches.Add(-1)
	}
}

// pendingBatch returns the batch the TUN reader is filling for p, starting
// one if needed; nil when none is free.
func (e *Engine) pendingBatch(p *peer) *pbatch {
	for _, po := range e.pend {
		if po.p == p {
			return po.sb
		}
	}
	sb := e.getBatch()
	if sb != nil {
		e.pend = append(e.pend, pendingOut{p, sb})
	}
	return sb
}

// flushOut hands every pending batch to its peer's queue; a queue that
// holds peerQueueLen packets drops the batch (a slow peer never blocks
// the reader, nor takes every buffer).
func (e *Engine) flushOut() {
	for i, po := range e.pend {
		e.pend[i] = pendingOut{}
		sb, p := po.sb, po.p
		if sb.n == 0 { // its buffers ran out
			e.putBatch(sb)
			continue
		}
		if !p.enqueue(sb) {
			e.drops.addN(dropBackpressure, sb.n)
			e.putBatch(sb)
		}
	}
	e.pend = e.pend[:0]
}

// enqueue queues sb for p's sender unless p's queue holds peerQueueLen
// packets already; it never blocks.
func (p *peer) enqueue(sb *pbatch) bool {
	if p.queued.Add(int32(sb.n)) > peerQueueLen {
		p.queued.Add(-int32(sb.n))
		return false
	}
	select {
	case p.sendq <- sb:
		return true
	default:
		p.queued.Add(-int32(sb.n))
		return false
	}
}

// startDataPlane allocates the pool and starts the TUN reader and writer.
func (e *Engine) startDataPlane() {
	e.free = make(chan *pbuf, poolSize)
	for range poolSize {
		e.free <- new(pbuf)
	}
	e.tunq = make(chan *pbuf, tunQueueLen)
	e.batches = make(chan *pbatch, maxBatches)
	e.pend = make([]pendingOut, 0, 16)
	e.tun = e.cfg.TUN
	if e.tun == nil {
		return
	}
	e.goRoutine(e.routineTUNRead)
	e.goRoutine(e.routineTUNWrite)
}

// routineTUNRead reads batches from the TUN and hands each packet to its
// peer's send queue.
func (e *Engine) routineTUNRead() {
	batch := max(e.tun.BatchSize(), 1)
	bufs := make([][]byte, batch)
	sizes := make([]int, batch)
	for i := range bufs {
		bufs[i] = make([]byte, headroom+maxTUNRead)
	}
	for {
		n, err := e.tun.Read(bufs, sizes, headroom)
		for i := range n {
			e.outbound(bufs[i][headroom : headroom+sizes[i]])
		}
		e.flushOut()
		if err != nil {
			if errors.Is(err, tun.ErrTooManySegments) {
				e.drops.add(dropMalformed)
				continue
			}
			if errors.Is(err, os.ErrClosed) || e.ctx.Err() != nil {
				return
			}
			// Keep the tunnel alive through a transient error.
			e.log.Error("TUN read", "err", err)
			select {
			case <-e.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// outbound routes one packet read from the TUN into its peer's pending
// batch; flushOut sends the batches. Only the TUN reader calls it (it uses
// e.outInfo and e.pend as scratch).
func (e *Engine) outbound(pkt []byte) {
	if !e.isUp.Load() {
		e.drops.add(dropDown)
		return
	}
	info := &e.outInfo
	if packet.Parse(pkt, info) != nil {
		e.drops.add(dropMalformed)
		return
	}
	if isMagicDNS(info) {
		e.answerDNS(pkt, info)
		return
	}
	p, ok := e.routes.Lookup(info.Dst)
	if !ok {
		if info.Dst == key.MagicDNSv4 || info.Dst == key.MagicDNSv6 {
			e.drops.add(dropNoDNS)
		} else {
			e.drops.add(dropNoPeer)
		}
		return
	}
	if len(pkt) > TUNMTU {
		e.tooBig(pkt, TUNMTU)
		return
	}
	if p.cur.Load() == nil {
		e.drops.add(dropPeerOffline)
		return
	}
	switch e.fw.Outbound(info, p.key, p.netSet(), e.now()) {
	case firewall.Accept:
	case firewall.Reject:
		e.drops.add(dropFirewallOut)
		e.reject(pkt, info, nil)
		return
	default:
		e.drops.add(dropFirewallOut)
		return
	}
	sb := e.pendingBatch(p)
	if sb == nil {
		e.drops.add(dropBackpressure)
		return
	}
	b := e.getBuf()
	if b == nil {
		e.drops.add(dropBackpressure)
		return
	}
	b.n = copy(b.b[headroom:], pkt)
	sb.bufs[sb.n] = b
	sb.n++
	if sb.n == len(sb.bufs) {
		e.flushOut()
	}
}

// netSet returns the networks p shares with us.
func (p *peer) netSet() firewall.NetSet {
	if s := p.nets.Load(); s != nil {
		return *s
	}
	return nil
}

// routineSend drains one peer's queue into its carrier, a batch at a
// time. A slow peer blocks only here. On the bulk channel a batch is
// sealed into trains of equal-size datagrams that leave in one UDP GSO
// send; otherwise each packet is a QUIC datagram.
func (p *peer) routineSend() {
	e := p.e
	train := make([]byte, 0, gsoTrainMax+pbufSize+bulk.Overhead)
	group := make([]*pbatch, 0, sendBatch)
	for {
		select {
		case <-p.done:
			return
		case <-e.ctx.Done():
			return
		case sb := <-p.sendq:
			// Take what else is queued, up to a batch's worth: small
			// batches (one UDP packet per TUN read) still leave in trains.
			group = append(group[:0], sb)
			n := sb.n
		drain:
			for n < sendBatch {
				select {
				case sb := <-p.sendq:
					group = append(group, sb)
					n += sb.n
				default:
					break drain
				}
			}
			pc := p.cur.Load()
			switch {
			case pc == nil:
				e.drops.addN(dropPeerOffline, n)
			case e.bulkSender(pc) != nil:
				train = e.sendBulkBatch(p, pc, group, train)
			default:
				for _, sb := range group {
					for i := range sb.n {
						e.sendDatagram(p, pc, sb.bufs[i].packet())
					}
				}
			}
			p.queued.Add(-int32(n))
			for i, sb := range group {
				e.putBatch(sb)
				group[i] = nil
			}
		}
	}
}

// Send batching.
const (
	sendBatch   = 64       // packets in one batch to a peer
	gsoTrainMax = 60 << 10 // bytes in one GSO send (the kernel takes 64 KB)
)

// sendDatagram sends one packet as a QUIC datagram.
func (e *Engine) sendDatagram(p *peer, pc *peerConn, pkt []byte) {
	err := pc.SendPacket(pkt)
	var tooLarge *quic.DatagramTooLargeError
	switch {
	case err == nil:
		p.txBytes.Add(uint64(len(pkt)))
		e.pktOut.Add(1)
	case errors.As(err, &tooLarge):
		e.tooBig(pkt, int(tooLarge.MaxDatagramPayloadSize))
	default:
		e.drops.add(dropSendFailed)
	}
}

// sendBulkBatch seals a batch on the bulk channel into trains of
// equal-size datagrams (the last of a train may be shorter) and sends each
// train at once. It returns train for reuse.
func (e *Engine) sendBulkBatch(p *peer, pc *peerConn, group []*pbatch, train []byte) []byte {
	s := e.bulkSender(pc)
	vaddr := pc.bulk.vaddr
	train = train[:0]
	seg, short := 0, false
	flush := func() {
		if len(train) > 0 {
			e.mc.WriteSegments(train, seg, vaddr)
		}
		train, seg, short = train[:0], 0, false
	}
	for _, sb := range group {
		for i := range sb.n {
			pkt := sb.bufs[i].packet()
			if cap(train)-len(train) < len(pkt)+bulk.Overhead || len(train) >= gsoTrainMax {
				flush()
			}
			start := len(train)
			sealed, err := s.Seal(train, pkt)
			if err != nil {
				e.drops.add(dropSendFailed)
				continue
			}
			size := len(sealed) - start
			switch {
			case seg == 0 || (size == seg && !short):
				seg, train = size, sealed
			case size < seg && !short:
				train, short = sealed, true
			default: // does not fit this train: send it, start a new one
				e.mc.WriteSegments(sealed[:start], seg, vaddr)
				n := copy(train[:cap(train)], sealed[start:])
				train, seg, short = train[:n], size, false
			}
			p.txBytes.Add(uint64(len(pkt)))
			e.pktOut.Add(1)
		}
	}
	flush()
	return train
}

// tooBig answers a packet that cannot fit the path with ICMP "fragmentation
// needed" (IPv4) or "packet too big" (IPv6), written back into the TUN, so
// the sender's stack lowers its path MTU instead of stalling.
func (e *Engine) tooBig(pkt []byte, mtu int) {
	e.drops.add(dropTooBig)
	b := e.getBuf()
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
		e.putBuf(b)
		return
	}
	b.n = n
	e.toTUN(b)
}

// toTUN queues a packet for the TUN writer.
func (e *Engine) toTUN(b *pbuf) {
	select {
	case e.tunq <- b:
	default:
		e.putBuf(b)
		e.drops.add(dropBackpressure)
	}
}

// routineTUNWrite is the single TUN writer: it writes whatever is queued
// in one batch. Packets are copied into large buffers first, so that a
// TUN with offloads (Linux virtio headers) can coalesce TCP segments into
// one super-packet (GRO): one write and one trip up the kernel's stack for
// many packets.
func (e *Engine) routineTUNWrite() {
	batch := max(e.tun.BatchSize(), 1)
	held := make([]*pbuf, 0, batch)
	views := make([][]byte, 0, batch)
	big := make([][]byte, batch)
	for i := range big {
		big[i] = make([]byte, headroom+maxTUNRead)
	}
	for {
		select {
		case <-e.ctx.Done():
			return
		case b := <-e.tunq:
			held = append(held[:0], b)
		drain:
			for len(held) < batch {
				select {
				case b := <-e.tunq:
					held = append(held, b)
				default:
					break drain
				}
			}
			views = views[:0]
			for i, b := range held {
				v := big[i][:headroom+b.n]
				copy(v[headroom:], b.packet())
				views = append(views, v)
				e.putBuf(b)
			}
			if _, err := e.tun.Write(views, headroom); err != nil && e.ctx.Err() == nil {
				e.drops.add(dropTUNWrite)
			}
		}
	}
}

// routineRecv reads datagrams from one connection.
func (e *Engine) routineRecv(p *peer, pc *peerConn) {
	ctx := pc.qc.Context()
	for {
		d, err := pc.qc.ReceiveDatagram(ctx)
		if err != nil {
			return
		}
		if len(d) == 0 {
			e.drops.add(dropMalformed)
			continue
		}
		switch d[0] >> 4 {
		case 4, 6:
			e.inbound(p, d)
		default:
			e.handlePingDatagram(p, pc, d)
		}
	}
}

// inbound copies one packet from p (a QUIC datagram) into a pooled
// buffer and hands it to inboundBuf.
func (e *Engine) inbound(p *peer, pkt []byte) {
	if len(pkt) > pbufSize-headroom {
		e.drops.add(dropMalformed)
		return
	}
	b := e.getBuf()
	if b == nil {
		e.drops.add(dropBackpressure)
		return
	}
	b.n = copy(b.b[headroom:], pkt)
	e.inboundBuf(p, b)
}

// inboundBuf checks a packet from p, already in b, and queues it for the
// TUN: the inner source must be p's, the destination ours, and the
// firewall must agree. It takes b.
func (e *Engine) inboundBuf(p *peer, b *pbuf) {
	pkt := b.packet()
	var info packet.Info
	var reason dropReason
	switch {
	case !e.isUp.Load():
		reason = dropDown
	case packet.Parse(pkt, &info) != nil:
		reason = dropMalformed
	case !e.routes.Owns(p, info.Src):
		reason = dropSpoofed
	case !e.isOurs(info.Dst):
		reason = dropNotForUs
	default:
		switch e.fw.Inbound(&info, p.key, p.netSet(), e.now()) {
		case firewall.Accept:
			p.rxBytes.Add(uint64(len(pkt)))
			e.pktIn.Add(1)
			e.toTUN(b)
			return
		case firewall.Reject:
			e.reject(pkt, &info, p)
		}
		reason = dropFirewallIn
		e.fwInRecent.add(e.second())
	}
	e.drops.add(reason)
	e.putBuf(b)
}

func (e *Engine) isOurs(a netip.Addr) bool {
	m := e.ourAddr.Load()
	return m != nil && (*m)[a]
}
