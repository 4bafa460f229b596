package dataplane

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.zx2c4.com/wireguard/tun"

	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/magicdns"
	"github.com/rayfish/rayfish/engine/packet"
	"github.com/rayfish/rayfish/engine/router"
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
	// MaxPacket is the largest IP packet a peer may send us: one pooled
	// buffer's worth. Larger ones are dropped as malformed.
	MaxPacket = pbufSize - headroom
)

// Config configures a Plane.
type Config struct {
	// TUN is the tunnel device; the plane owns it from Start on and
	// closes it in Close. nil runs the plane without one (tests).
	TUN tun.Device
	// MTU is the TUN's MTU: larger packets from it are answered with
	// ICMP "too big".
	MTU int
	// Firewall filters packets both ways; required.
	Firewall *firewall.Firewall
	// DNS answers queries to the magic DNS address; nil drops them.
	// Its Deliver hook should be the plane's DeliverDNS.
	DNS *magicdns.Resolver
	// Logger receives the rare errors of the TUN reader; nil discards.
	Logger *slog.Logger
}

// Plane is the data plane of one node.
type Plane struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	epoch  time.Time

	tunq chan *pbuf
	free chan *pbuf
	// Send batches: a pool, and how many exist.
	batches  chan *pbatch
	nbatches atomic.Int32
	nbufs    atomic.Int32 // pbufs allocated, at most poolSize

	isUp   atomic.Bool
	routes router.Table[*Peer]
	// routing: what this node forwards for peers, and the exit node's
	// kill switch (forward.go).
	routing atomic.Pointer[Routing]
	// bulkRecvs maps bulk.SessionID to *bulkRecv.
	bulkRecvs sync.Map

	drops  dropCounters
	pktIn  atomic.Uint64
	pktOut atomic.Uint64
	// reordered counts bulk packets accepted after a newer one, over
	// every session (bulk.Receiver.CountReorderedIn).
	reordered atomic.Uint64
	// fwInRecent counts firewall_in drops of the last minute.
	fwInRecent recentCounter

	// outInfo and pend are the TUN reader's scratch header and the
	// batches it is filling; only that goroutine touches them.
	outInfo packet.Info
	pend    []pendingOut

	started   atomic.Bool // Start ran: the plane owns the TUN
	closeOnce sync.Once
	closeErr  error
}

// New allocates a plane's pools. It starts nothing until Start; it is
// down (dropping every packet) until SetUp(true).
func New(cfg Config) *Plane {
	pl := &Plane{cfg: cfg, log: cfg.Logger, epoch: time.Now()}
	if pl.log == nil {
		pl.log = slog.New(slog.DiscardHandler)
	}
	pl.ctx, pl.cancel = context.WithCancel(context.Background())
	pl.free = make(chan *pbuf, poolSize) // filled as buffers are first needed (getBuf)
	pl.tunq = make(chan *pbuf, tunQueueLen)
	pl.batches = make(chan *pbatch, maxBatches)
	pl.pend = make([]pendingOut, 0, 16)
	return pl
}

// Start starts the TUN reader and writer (if there is a TUN).
func (pl *Plane) Start() {
	pl.started.Store(true)
	if pl.cfg.TUN == nil {
		return
	}
	pl.goRoutine(pl.routineTUNRead)
	pl.goRoutine(pl.routineTUNWrite)
}

// Close stops every goroutine of the plane (its peers' senders too) and,
// once started, closes the TUN, whose error it returns. It is idempotent.
func (pl *Plane) Close() error {
	pl.closeOnce.Do(func() {
		pl.cancel()
		if pl.cfg.TUN != nil && pl.started.Load() {
			pl.closeErr = pl.cfg.TUN.Close()
		}
		pl.wg.Wait()
	})
	return pl.closeErr
}

func (pl *Plane) goRoutine(f func()) {
	pl.wg.Add(1)
	go func() {
		defer pl.wg.Done()
		f()
	}()
}

// SetUp turns the data plane on or off (ray up / ray down) and returns
// the previous state. Down, every packet is dropped (reason "down").
func (pl *Plane) SetUp(up bool) (was bool) { return pl.isUp.Swap(up) }

// Up reports whether the plane is up.
func (pl *Plane) Up() bool { return pl.isUp.Load() }

// SetRoutes installs a new routing table, built by the engine: peers'
// addresses and prefixes, the default (exit) peer, and our own addresses
// (the only destinations inbound packets may have).
func (pl *Plane) SetRoutes(b *router.Builder[*Peer]) { pl.routes.Install(b) }

// Route returns the peer that packets to a go to.
func (pl *Plane) Route(a netip.Addr) (*Peer, bool) { return pl.routes.Lookup(a) }

// Owns reports whether p may send from a (the inbound source check).
func (pl *Plane) Owns(p *Peer, a netip.Addr) bool { return pl.routes.Owns(p, a) }

// IsLocal reports whether a is one of our own addresses.
func (pl *Plane) IsLocal(a netip.Addr) bool { return pl.routes.IsLocal(a) }

// Now is the data path's clock: monotonic nanoseconds since New, as the
// firewall takes it.
func (pl *Plane) Now() int64 { return int64(time.Since(pl.epoch)) }

// second is Now in whole seconds.
func (pl *Plane) second() int64 { return pl.Now() / int64(time.Second) }

// Drops returns the dropped packets by reason (zero ones included).
func (pl *Plane) Drops() map[string]uint64 { return pl.drops.snapshot() }

// Reordered returns how many bulk packets arrived after a newer one and
// were delivered all the same (a duplicate is dropped as bulk_replay).
func (pl *Plane) Reordered() uint64 { return pl.reordered.Load() }

// CountMalformed counts a packet dropped as malformed by the caller (a
// control datagram it could not read).
func (pl *Plane) CountMalformed() { pl.drops.add(dropMalformed) }

// Packets returns the packets delivered to the TUN (in) and handed to a
// carrier (out).
func (pl *Plane) Packets() (in, out uint64) { return pl.pktIn.Load(), pl.pktOut.Load() }

// FirewallInLastMinute counts inbound packets the firewall denied in the
// last minute.
func (pl *Plane) FirewallInLastMinute() uint64 { return pl.fwInRecent.sum(pl.second()) }

// pbuf is a pooled packet buffer: headroom, then n bytes of packet.
type pbuf struct {
	b [pbufSize]byte
	n int
}

func (b *pbuf) packet() []byte { return b.b[headroom : headroom+b.n] }

// getBuf returns a free buffer, or nil when poolSize are in use. Buffers
// are allocated as the traffic first needs them, not up front: an idle
// node keeps a few kilobytes instead of poolSize*pbufSize (8 MB), and the
// garbage collector's goal, twice the live heap, shrinks with them.
func (pl *Plane) getBuf() *pbuf {
	select {
	case b := <-pl.free:
		return b
	default:
	}
	if pl.nbufs.Add(1) <= poolSize {
		return new(pbuf)
	}
	pl.nbufs.Add(-1)
	return nil
}

func (pl *Plane) putBuf(b *pbuf) {
	select {
	case pl.free <- b:
	default:
	}
}

// copyBuf copies pkt (at most MaxPacket bytes) into a pooled buffer; nil,
// counted as backpressure, when none is free.
func (pl *Plane) copyBuf(pkt []byte) *pbuf {
	b := pl.getBuf()
	if b == nil {
		pl.drops.add(dropBackpressure)
		return nil
	}
	b.n = copy(b.b[headroom:], pkt)
	return b
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
	p  *Peer
	sb *pbatch
}

// getBatch returns an empty batch, or nil when maxBatches are in flight.
func (pl *Plane) getBatch() *pbatch {
	select {
	case sb := <-pl.batches:
		sb.n = 0
		return sb
	default:
	}
	if pl.nbatches.Add(1) <= maxBatches {
		return new(pbatch)
	}
	pl.nbatches.Add(-1)
	return nil
}

// putBatch returns sb and its packet buffers to their pools.
func (pl *Plane) putBatch(sb *pbatch) {
	for i := range sb.n {
		pl.putBuf(sb.bufs[i])
		sb.bufs[i] = nil
	}
	sb.n = 0
	select {
	case pl.batches <- sb:
	default:
		pl.nbatches.Add(-1)
	}
}
