package engine

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
// Keys live exactly as long as their QUIC connection: detach drops them.
// Each direction rekeys by epoch (DeriveKeysEpoch) before its AEAD's usage
// limit and, once it carried bulk.RekeyMinPackets, every
// bulk.RekeyAfterTime. Receivers for the current epoch and the
// bulkRecvAhead after it are registered, so the peer may move on even if
// none of an epoch's packets reached us. When the peer's packets arrive
// in a new epoch, one goroutine per connection (bulkState.rotating)
// registers the epochs ahead of it and retires those before.

// bulkVersion is what our hello advertises.
const bulkVersion = 1

// bulkRecvAhead is how many epochs past the peer's current one we can
// open.
const bulkRecvAhead = 2

// bulkRecv is one registered receiving session.
type bulkRecv struct {
	pc    *peerConn
	p     *peer
	epoch uint32
	r     *bulk.Receiver
	// rotated is set once a packet in this epoch started the rotation
	// (or the epoch needs none), so the data path checks one flag.
	rotated atomic.Bool
}

// bulkState is a connection's bulk channel.
type bulkState struct {
	vaddr net.Addr // the peer's virtual address in magicconn
	// derive returns the keys of an epoch (from the connection's TLS
	// session; tests substitute their own).
	derive func(epoch uint32) (send, recv bulk.Keys, err error)

	sender atomic.Pointer[bulk.Sender] // nil until the peer speaks bulk
	epoch  atomic.Uint32               // sender's epoch
	// rotating is set while the connection's one rotation goroutine runs.
	rotating atomic.Bool

	mu     sync.Mutex // guards recvs and closed
	recvs  map[uint32]bulk.SessionID
	closed bool // dropBulk ran: a late rotation registers nothing
}

// initBulk derives the receive keys of epochs 0 and 1 and registers them,
// so the peer may start sending as soon as it sees our hello.
func (e *Engine) initBulk(p *peer, pc *peerConn) {
	if e.mc == nil {
		return
	}
	tls, initiator := pc.qc.ConnectionState().TLS, pc.initiator == e.self
	e.initBulkState(p, pc, &bulkState{vaddr: e.mc.PeerAddr(p.key), derive: func(epoch uint32) (bulk.Keys, bulk.Keys, error) {
		return bulk.DeriveKeysEpoch(tls, initiator, epoch)
	}})
}

// initBulkState installs st as pc's bulk channel and registers the
// receivers of epoch 0 and the bulkRecvAhead after it.
func (e *Engine) initBulkState(p *peer, pc *peerConn, st *bulkState) {
	st.recvs = map[uint32]bulk.SessionID{}
	pc.bulk = st
	for epoch := uint32(0); epoch <= bulkRecvAhead; epoch++ {
		if err := e.addBulkRecv(p, pc, epoch); err != nil {
			e.log.Warn("bulk channel unavailable", "peer", p.key.ShortString(), "err", err)
			e.dropBulk(pc)
			pc.bulk = nil
			return
		}
	}
}

// addBulkRecv registers the receiver of epoch, unless it is.
func (e *Engine) addBulkRecv(p *peer, pc *peerConn, epoch uint32) error {
	pc.bulk.mu.Lock()
	_, have := pc.bulk.recvs[epoch]
	pc.bulk.mu.Unlock()
	if have {
		return nil
	}
	send, recv, err := pc.bulk.derive(epoch)
	send.Zero()
	if err != nil {
		return err
	}
	r, err := bulk.NewReceiver(&recv)
	recv.Zero()
	if err != nil {
		return err
	}
	r.CountReorderedIn(&e.reordered)
	pc.bulk.mu.Lock()
	defer pc.bulk.mu.Unlock()
	if _, ok := pc.bulk.recvs[epoch]; ok || pc.bulk.closed {
		r.Close()
		return nil
	}
	pc.bulk.recvs[epoch] = r.Session()
	br := &bulkRecv{pc: pc, p: p, epoch: epoch, r: r}
	br.rotated.Store(epoch == 0) // the epochs ahead are registered with 0
	e.bulkRecvs.Store(r.Session(), br)
	return nil
}

// startBulkSend turns on sending over the bulk channel at epoch.
func (e *Engine) startBulkSend(pc *peerConn, epoch uint32) error {
	if pc.bulk == nil {
		return errors.New("no bulk channel")
	}
	send, recv, err := pc.bulk.derive(epoch)
	recv.Zero()
	if err != nil {
		return err
	}
	s, err := bulk.NewSender(&send)
	send.Zero()
	if err != nil {
		return err
	}
	pc.bulk.epoch.Store(epoch)
	if old := pc.bulk.sender.Swap(s); old != nil {
		old.Close()
	}
	return nil
}

// dropBulk forgets a closed connection's keys at once.
func (e *Engine) dropBulk(pc *peerConn) {
	if pc.bulk == nil {
		return
	}
	if s := pc.bulk.sender.Swap(nil); s != nil {
		s.Close()
	}
	pc.bulk.mu.Lock()
	defer pc.bulk.mu.Unlock()
	pc.bulk.closed = true
	for epoch, sid := range pc.bulk.recvs {
		if v, ok := e.bulkRecvs.LoadAndDelete(sid); ok {
			v.(*bulkRecv).r.Close()
		}
		delete(pc.bulk.recvs, epoch)
	}
}

// bulkSender returns the connection's bulk sender, rekeying first when
// its AEAD is near its usage limit or its keys are RekeyAfterTime old; nil
// when bulk is not in use.
func (e *Engine) bulkSender(pc *peerConn) *bulk.Sender {
	if pc.bulk == nil {
		return nil
	}
	s := pc.bulk.sender.Load()
	if s != nil && s.NeedsRekey() {
		if err := e.startBulkSend(pc, pc.bulk.epoch.Load()+1); err != nil {
			e.log.Warn("bulk rekey", "err", err)
			return nil
		}
		s = pc.bulk.sender.Load()
	}
	return s
}

// maxBulkWire is the largest bulk packet onBulk opens: a pooled buffer's
// worth of IP packet, sealed. magicconn hands over bulk packets as they
// come (a GRO read or a relay frame can hold far larger ones), so this is
// the bound every carrier shares.
const maxBulkWire = pbufSize - headroom + bulk.Overhead

// onBulk receives a bulk packet from magicconn's reader: find the session,
// authenticate and decrypt into a pooled buffer, then the same checks as
// any packet from that peer.
func (e *Engine) onBulk(wire []byte) {
	sid, ok := bulk.ParseSession(wire)
	if !ok || len(wire) > maxBulkWire {
		e.drops.add(dropMalformed)
		return
	}
	v, ok := e.bulkRecvs.Load(sid)
	if !ok {
		e.drops.add(dropBulkSession)
		return
	}
	br := v.(*bulkRecv)
	b := e.getBuf()
	if b == nil {
		e.drops.add(dropBackpressure)
		return
	}
	plain, err := br.r.Open(b.b[headroom:headroom:pbufSize], wire)
	if err != nil {
		e.putBuf(b)
		if errors.Is(err, bulk.ErrReplay) || errors.Is(err, bulk.ErrTooOld) {
			e.drops.add(dropBulkReplay)
		} else {
			e.drops.add(dropBulkAuth)
		}
		return
	}
	if !br.rotated.Load() { // the peer moved to a new epoch: prepare the one after
		e.startRotation(br)
	}
	b.n = len(plain)
	e.inboundBuf(br.p, b)
}

// startRotation starts the connection's rotation goroutine for br's epoch
// unless one is running; packets arriving meanwhile only read the flags.
// A later packet in the epoch retries if another epoch's rotation was
// running.
func (e *Engine) startRotation(br *bulkRecv) {
	st := br.pc.bulk
	if e.ctx.Err() != nil || !st.rotating.CompareAndSwap(false, true) {
		return
	}
	e.goRoutine(func() {
		defer st.rotating.Store(false)
		if !br.rotated.Swap(true) { // one attempt per epoch
			e.rotateBulkRecv(br)
		}
	})
}

// rotateBulkRecv registers the bulkRecvAhead epochs after br's and
// retires the ones before it, once the peer sends in br's epoch.
func (e *Engine) rotateBulkRecv(br *bulkRecv) {
	for k := uint32(1); k <= bulkRecvAhead; k++ {
		if e.ctx.Err() != nil {
			return
		}
		if err := e.addBulkRecv(br.p, br.pc, br.epoch+k); err != nil {
			e.log.Warn("bulk rekey", "err", err)
			return
		}
	}
	st := br.pc.bulk
	st.mu.Lock()
	defer st.mu.Unlock()
	for epoch, sid := range st.recvs {
		if epoch >= br.epoch {
			continue
		}
		if v, ok := e.bulkRecvs.LoadAndDelete(sid); ok {
			v.(*bulkRecv).r.Close()
		}
		delete(st.recvs, epoch)
	}
}

// BulkSessions counts registered receiving sessions (tests).
func (e *Engine) BulkSessions() int {
	n := 0
	e.bulkRecvs.Range(func(_, _ any) bool { n++; return true })
	return n
}
