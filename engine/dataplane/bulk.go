package dataplane

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/rayfish/rayfish/engine/bulk"
)

// The bulk channel: IP packets sealed with keys exported from the QUIC
// connection's TLS session (engine/bulk), sent on the same socket through
// magicconn's current path. QUIC stays the handshake, identity, control
// and fallback path: until the peer's hello says it speaks bulk, and when
// the bulk path fails, packets go as QUIC datagrams.
//
// Keys live exactly as long as their QUIC connection: the engine closes
// the Bulk when the connection ends. Each direction rekeys by epoch
// (DeriveKeysEpoch) before its AEAD's usage limit and, once it carried
// bulk.RekeyMinPackets, every bulk.RekeyAfterTime. Receivers for the
// current epoch and the bulkRecvAhead after it are registered, so the peer
// may move on even if none of an epoch's packets reached us. When the
// peer's packets arrive in a new epoch, one goroutine per connection
// (Bulk.rotating) registers the epochs ahead of it and retires those
// before.

// bulkRecvAhead is how many epochs past the peer's current one we can
// open.
const bulkRecvAhead = 2

// maxBulkWire is the largest bulk packet ReceiveBulk opens: a pooled
// buffer's worth of IP packet, sealed. magicconn hands over bulk packets
// as they come (a GRO read or a relay frame can hold far larger ones), so
// this is the bound every carrier shares.
const maxBulkWire = MaxPacket + bulk.Overhead

// SegmentWriter sends a train of equal-size datagrams (the last may be
// shorter) to addr in one send: magicconn.Conn.
type SegmentWriter interface {
	WriteSegments(b []byte, segSize int, addr net.Addr) error
}

// BulkConfig configures one connection's bulk channel.
type BulkConfig struct {
	// Writer and Addr are where sealed packets go: magicconn, and the
	// peer's virtual address in it.
	Writer SegmentWriter
	Addr   net.Addr
	// Derive returns the keys of an epoch (from the connection's TLS
	// session; tests substitute their own).
	Derive func(epoch uint32) (send, recv bulk.Keys, err error)
	// Fallback carries the packets while the bulk sender is off (the
	// peer has not said it speaks bulk, or a rekey failed).
	Fallback Carrier
}

// Bulk is one connection's bulk channel, and the Carrier that seals
// batches into trains of equal-size datagrams sent with one UDP GSO send.
type Bulk struct {
	pl  *Plane
	p   *Peer
	cfg BulkConfig

	sender atomic.Pointer[bulk.Sender] // nil until StartSend
	epoch  atomic.Uint32               // sender's epoch
	// rotating is set while the connection's one rotation goroutine runs.
	rotating atomic.Bool
	// train is the sender goroutine's scratch (Send).
	train []byte

	mu     sync.Mutex // guards recvs and closed
	recvs  map[uint32]bulk.SessionID
	closed bool // Close ran: a late rotation registers nothing
}

// bulkRecv is one registered receiving session.
type bulkRecv struct {
	b     *Bulk
	epoch uint32
	r     *bulk.Receiver
	// rotated is set once a packet in this epoch started the rotation
	// (or the epoch needs none), so the data path checks one flag.
	rotated atomic.Bool
}

// NewBulk opens a bulk channel to p: it derives and registers the receive
// keys of epoch 0 and the bulkRecvAhead after it, so the peer may start
// sending as soon as it sees our hello. Sending waits for StartSend.
func (pl *Plane) NewBulk(p *Peer, cfg BulkConfig) (*Bulk, error) {
	b := &Bulk{pl: pl, p: p, cfg: cfg, recvs: map[uint32]bulk.SessionID{}}
	for epoch := uint32(0); epoch <= bulkRecvAhead; epoch++ {
		if err := b.addRecv(epoch); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// addRecv registers the receiver of epoch, unless it is.
func (b *Bulk) addRecv(epoch uint32) error {
	b.mu.Lock()
	_, have := b.recvs[epoch]
	b.mu.Unlock()
	if have {
		return nil
	}
	send, recv, err := b.cfg.Derive(epoch)
	send.Zero()
	if err != nil {
		return err
	}
	r, err := bulk.NewReceiver(&recv)
	recv.Zero()
	if err != nil {
		return err
	}
	r.CountReorderedIn(&b.pl.reordered)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.recvs[epoch]; ok || b.closed {
		r.Close()
		return nil
	}
	b.recvs[epoch] = r.Session()
	br := &bulkRecv{b: b, epoch: epoch, r: r}
	br.rotated.Store(epoch == 0) // the epochs ahead are registered with 0
	b.pl.bulkRecvs.Store(r.Session(), br)
	return nil
}

// StartSend turns on sending over the bulk channel at epoch.
func (b *Bulk) StartSend(epoch uint32) error {
	send, recv, err := b.cfg.Derive(epoch)
	recv.Zero()
	if err != nil {
		return err
	}
	s, err := bulk.NewSender(&send)
	send.Zero()
	if err != nil {
		return err
	}
	b.epoch.Store(epoch)
	if old := b.sender.Swap(s); old != nil {
		old.Close()
	}
	return nil
}

// Sending reports whether packets go on the bulk channel (StartSend ran).
func (b *Bulk) Sending() bool { return b.sender.Load() != nil }

// Close forgets the connection's keys at once. It is idempotent.
func (b *Bulk) Close() {
	if s := b.sender.Swap(nil); s != nil {
		s.Close()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for epoch, sid := range b.recvs {
		if v, ok := b.pl.bulkRecvs.LoadAndDelete(sid); ok {
			v.(*bulkRecv).r.Close()
		}
		delete(b.recvs, epoch)
	}
}

// current returns the bulk sender, rekeying first when its AEAD is near
// its usage limit or its keys are RekeyAfterTime old; nil when bulk is
// not in use.
func (b *Bulk) current() *bulk.Sender {
	s := b.sender.Load()
	if s != nil && s.NeedsRekey() {
		if err := b.StartSend(b.epoch.Load() + 1); err != nil {
			b.pl.log.Warn("bulk rekey", "err", err)
			return nil
		}
		s = b.sender.Load()
	}
	return s
}

// Kind implements Carrier.
func (b *Bulk) Kind() string {
	if b.Sending() {
		return "bulk"
	}
	return b.cfg.Fallback.Kind()
}

// Send implements Carrier: it seals pkts into trains of equal-size
// datagrams (the last of a train may be shorter) and sends each train at
// once; without a bulk sender, the fallback carries them.
func (b *Bulk) Send(pkts [][]byte, r *Report) {
	s := b.current()
	if s == nil {
		b.cfg.Fallback.Send(pkts, r)
		return
	}
	if need := trainCap(len(pkts)); cap(b.train) < need {
		b.train = make([]byte, 0, need)
	}
	w, vaddr := b.cfg.Writer, b.cfg.Addr
	train := b.train[:0]
	seg, short := 0, false
	for _, pkt := range pkts {
		if cap(train)-len(train) < len(pkt)+bulk.Overhead || len(train) >= gsoTrainMax {
			if len(train) > 0 {
				w.WriteSegments(train, seg, vaddr)
			}
			train, seg, short = train[:0], 0, false
		}
		start := len(train)
		sealed, err := s.Seal(train, pkt)
		if err != nil {
			r.Failed()
			continue
		}
		size := len(sealed) - start
		switch {
		case seg == 0 || (size == seg && !short):
			seg, train = size, sealed
		case size < seg && !short:
			train, short = sealed, true
		default: // does not fit this train: send it, start a new one
			w.WriteSegments(sealed[:start], seg, vaddr)
			n := copy(train[:cap(train)], sealed[start:])
			train, seg, short = train[:n], size, false
		}
		r.Sent(pkt)
	}
	if len(train) > 0 {
		w.WriteSegments(train, seg, vaddr)
	}
}

// trainCap is the scratch a batch of n packets needs: one packet's worth
// for a lone packet (the pings and keepalive-sized traffic most peers of
// a big mesh see), a full GSO train otherwise. A full train for every peer
// that ever got a packet was 62 KB each, 3 MB of heap with 49 peers.
func trainCap(n int) int {
	if n == 1 {
		return pbufSize + bulk.Overhead
	}
	return gsoTrainMax + pbufSize + bulk.Overhead
}

// ReceiveBulk takes a bulk packet from magicconn's reader: find the
// session, authenticate and decrypt into a pooled buffer, then the same
// checks as any packet from that peer.
func (pl *Plane) ReceiveBulk(wire []byte) {
	sid, ok := bulk.ParseSession(wire)
	if !ok || len(wire) > maxBulkWire {
		pl.drops.add(dropMalformed)
		return
	}
	v, ok := pl.bulkRecvs.Load(sid)
	if !ok {
		pl.drops.add(dropBulkSession)
		return
	}
	br := v.(*bulkRecv)
	b := pl.getBuf()
	if b == nil {
		pl.drops.add(dropBackpressure)
		return
	}
	plain, err := br.r.Open(b.b[headroom:headroom:pbufSize], wire)
	if err != nil {
		pl.putBuf(b)
		if errors.Is(err, bulk.ErrReplay) || errors.Is(err, bulk.ErrTooOld) {
			pl.drops.add(dropBulkReplay)
		} else {
			pl.drops.add(dropBulkAuth)
		}
		return
	}
	if !br.rotated.Load() { // the peer moved to a new epoch: prepare the one after
		pl.startRotation(br)
	}
	b.n = len(plain)
	pl.inboundBuf(br.b.p, b)
}

// startRotation starts the connection's rotation goroutine for br's epoch
// unless one is running; packets arriving meanwhile only read the flags.
// A later packet in the epoch retries if another epoch's rotation was
// running.
func (pl *Plane) startRotation(br *bulkRecv) {
	st := br.b
	if pl.ctx.Err() != nil || !st.rotating.CompareAndSwap(false, true) {
		return
	}
	pl.goRoutine(func() {
		defer st.rotating.Store(false)
		if !br.rotated.Swap(true) { // one attempt per epoch
			st.rotate(br.epoch)
		}
	})
}

// rotate registers the bulkRecvAhead epochs after epoch and retires the
// ones before it, once the peer sends in epoch.
func (b *Bulk) rotate(epoch uint32) {
	for k := uint32(1); k <= bulkRecvAhead; k++ {
		if b.pl.ctx.Err() != nil {
			return
		}
		if err := b.addRecv(epoch + k); err != nil {
			b.pl.log.Warn("bulk rekey", "err", err)
			return
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for e, sid := range b.recvs {
		if e >= epoch {
			continue
		}
		if v, ok := b.pl.bulkRecvs.LoadAndDelete(sid); ok {
			v.(*bulkRecv).r.Close()
		}
		delete(b.recvs, e)
	}
}

// BulkSessions counts registered receiving sessions (tests).
func (pl *Plane) BulkSessions() int {
	n := 0
	pl.bulkRecvs.Range(func(_, _ any) bool { n++; return true })
	return n
}
