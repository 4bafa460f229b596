package dataplane

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/key"
)

// Send batching.
const (
	sendBatch   = 64       // packets in one batch to a peer
	gsoTrainMax = 60 << 10 // bytes in one GSO send (the kernel takes 64 KB)
)

// Carrier takes IP packets to one peer over one connection. A peer's
// sender goroutine is the only caller of Send, so a carrier may keep
// scratch space without locking it.
type Carrier interface {
	// Send sends pkts in order and tells r what became of each. It must
	// not keep pkts, and may block only briefly (the carrier's own
	// queue), never indefinitely.
	Send(pkts [][]byte, r *Report)
	// Kind names the carrier for status: "datagram" or "bulk".
	Kind() string
}

// Report receives what a Carrier did with each packet it was handed.
type Report struct{ p *Peer }

// Sent counts pkt as sent.
func (r *Report) Sent(pkt []byte) {
	r.p.txBytes.Add(uint64(len(pkt)))
	r.p.pl.pktOut.Add(1)
}

// Failed counts a packet the carrier could not send.
func (r *Report) Failed() { r.p.pl.drops.add(dropSendFailed) }

// TooBig counts pkt as larger than the path's mtu and answers it with
// ICMP into the TUN, so the sender lowers its path MTU.
func (r *Report) TooBig(pkt []byte, mtu int) { r.p.pl.tooBig(pkt, mtu) }

// DatagramConn is what Datagrams sends on: a QUIC connection.
type DatagramConn interface {
	SendDatagram(b []byte) error
}

// Datagrams is the Carrier that sends each packet as one QUIC datagram:
// any connection has it, and it is the bulk channel's fallback.
type Datagrams struct {
	Conn DatagramConn
}

// Send implements Carrier.
func (d *Datagrams) Send(pkts [][]byte, r *Report) {
	for _, pkt := range pkts {
		err := d.Conn.SendDatagram(pkt)
		var tooLarge *quic.DatagramTooLargeError
		switch {
		case err == nil:
			r.Sent(pkt)
		case errors.As(err, &tooLarge):
			r.TooBig(pkt, int(tooLarge.MaxDatagramPayloadSize))
		default:
			r.Failed()
		}
	}
}

// Kind implements Carrier.
func (d *Datagrams) Kind() string { return "datagram" }

// Peer is another node as the data plane sees it: a send queue, the
// networks it shares with us (for the firewall), its byte counters and
// its current carrier. The engine creates one per peer (NewPeer) and
// closes it when the peer goes.
type Peer struct {
	pl  *Plane
	key key.NodePublic

	carrier atomic.Pointer[carrierRef] // nil while the peer is offline
	nets    atomic.Pointer[firewall.NetSet]
	sendq   chan *pbatch
	queued  atomic.Int32 // packets in sendq (at most peerQueueLen)
	txBytes atomic.Uint64
	rxBytes atomic.Uint64
	report  Report

	done      chan struct{}
	closeOnce sync.Once
}

// carrierRef boxes a Carrier for an atomic pointer.
type carrierRef struct{ c Carrier }

// NewPeer adds a peer with key k and starts its sender. It is offline
// until SetCarrier.
func (pl *Plane) NewPeer(k key.NodePublic) *Peer {
	p := pl.newPeer(k)
	pl.goRoutine(p.routineSend)
	return p
}

func (pl *Plane) newPeer(k key.NodePublic) *Peer {
	p := &Peer{pl: pl, key: k, sendq: make(chan *pbatch, peerQueueLen), done: make(chan struct{})}
	p.report.p = p
	return p
}

// Key returns the peer's node key.
func (p *Peer) Key() key.NodePublic { return p.key }

// Close stops the peer's sender; what it had queued is dropped. It is
// idempotent.
func (p *Peer) Close() { p.closeOnce.Do(func() { close(p.done) }) }

// SetCarrier makes c the peer's carrier; nil takes the peer offline.
func (p *Peer) SetCarrier(c Carrier) {
	if c == nil {
		p.carrier.Store(nil)
		return
	}
	p.carrier.Store(&carrierRef{c})
}

// SwapCarrier makes c the peer's carrier if old still is, and reports
// whether it did.
func (p *Peer) SwapCarrier(old, c Carrier) bool {
	cur := p.carrier.Load()
	if cur == nil || cur.c != old {
		return false
	}
	return p.carrier.CompareAndSwap(cur, &carrierRef{c})
}

// Carrier returns the peer's carrier, nil while offline.
func (p *Peer) Carrier() Carrier {
	if r := p.carrier.Load(); r != nil {
		return r.c
	}
	return nil
}

// SetNetworks records the networks the peer shares with us, which the
// firewall's rules may name.
func (p *Peer) SetNetworks(nets firewall.NetSet) { p.nets.Store(&nets) }

// Bytes returns the IP bytes sent to and received from the peer.
func (p *Peer) Bytes() (tx, rx uint64) { return p.txBytes.Load(), p.rxBytes.Load() }

// netSet returns the networks p shares with us.
func (p *Peer) netSet() firewall.NetSet {
	if s := p.nets.Load(); s != nil {
		return *s
	}
	return nil
}

// enqueue queues sb for p's sender unless p's queue holds peerQueueLen
// packets already; it never blocks.
func (p *Peer) enqueue(sb *pbatch) bool {
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

// routineSend drains one peer's queue into its carrier, a batch at a
// time. A slow peer blocks only here.
func (p *Peer) routineSend() {
	pl := p.pl
	group := make([]*pbatch, 0, sendBatch)
	pkts := make([][]byte, 0, 2*sendBatch)
	for {
		select {
		case <-p.done:
			return
		case <-pl.ctx.Done():
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
			p.sendGroup(group, n, pkts)
		}
	}
}

// sendGroup hands the n packets of group to p's carrier and releases the
// batches; pkts is scratch.
func (p *Peer) sendGroup(group []*pbatch, n int, pkts [][]byte) {
	pl := p.pl
	if c := p.Carrier(); c == nil {
		pl.drops.addN(dropPeerOffline, n)
	} else {
		pkts = pkts[:0]
		for _, sb := range group {
			for i := range sb.n {
				pkts = append(pkts, sb.bufs[i].packet())
			}
		}
		c.Send(pkts, &p.report)
	}
	p.queued.Add(-int32(n))
	for i, sb := range group {
		pl.putBatch(sb)
		group[i] = nil
	}
}
