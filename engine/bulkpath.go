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
// limit; receivers for the current and the next epoch are registered.

// bulkVersion is what our hello advertises.
const bulkVersion = 1

// bulkRecv is one registered receiving session.
type bulkRecv struct {
	pc    *peerConn
	p     *peer
	epoch uint32
	r     *bulk.Receiver
}

// bulkState is a connection's bulk channel.
type bulkState struct {
	vaddr net.Addr // the peer's virtual address in magicconn

	sender atomic.Pointer[bulk.Sender] // nil until the peer speaks bulk
	epoch  atomic.Uint32               // sender's epoch

	mu    sync.Mutex // guards recvs
	recvs map[uint32]bulk.SessionID
}

// initBulk derives the receive keys of epochs 0 and 1 and registers them,
// so the peer may start sending as soon as it sees our hello.
func (e *Engine) initBulk(p *peer, pc *peerConn) {
	if e.mc == nil {
		return
	}
	pc.bulk = &bulkState{vaddr: e.mc.PeerAddr(p.key), recvs: map[uint32]bulk.SessionID{}}
	for epoch := uint32(0); epoch < 2; epoch++ {
		if err := e.addBulkRecv(p, pc, epoch); err != nil {
			e.log.Warn("bulk channel unavailable", "peer", p.key.ShortString(), "err", err)
			pc.bulk = nil
			return
		}
	}
}

func (e *Engine) addBulkRecv(p *peer, pc *peerConn, epoch uint32) error {
	_, recv, err := bulk.DeriveKeysEpoch(pc.qc.ConnectionState().TLS, pc.initiator == e.self, epoch)
	if err != nil {
		return err
	}
	r, err := bulk.NewReceiver(&recv)
	recv.Zero()
	if err != nil {
		return err
	}
	pc.bulk.mu.Lock()
	defer pc.bulk.mu.Unlock()
	if _, ok := pc.bulk.recvs[epoch]; ok {
		r.Close()
		return nil
	}
	pc.bulk.recvs[epoch] = r.Session()
	e.bulkRecvs.Store(r.Session(), &bulkRecv{pc: pc, p: p, epoch: epoch, r: r})
	return nil
}

// startBulkSend turns on sending over the bulk channel at epoch.
func (e *Engine) startBulkSend(pc *peerConn, epoch uint32) error {
	if pc.bulk == nil {
		return errors.New("no bulk channel")
	}
	send, _, err := bulk.DeriveKeysEpoch(pc.qc.ConnectionState().TLS, pc.initiator == e.self, epoch)
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
	for epoch, sid := range pc.bulk.recvs {
		if v, ok := e.bulkRecvs.LoadAndDelete(sid); ok {
			v.(*bulkRecv).r.Close()
		}
		delete(pc.bulk.recvs, epoch)
	}
}

// bulkSender returns the connection's bulk sender, rekeying first when
// its AEAD is near its usage limit; nil when bulk is not in use.
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

// onBulk receives a bulk packet from magicconn's reader: find the session,
// authenticate and decrypt into a pooled buffer, then the same checks as
// any packet from that peer.
func (e *Engine) onBulk(wire []byte) {
	sid, ok := bulk.ParseSession(wire)
	if !ok {
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
	plain, err := br.r.Open(b.b[headroom:headroom], wire)
	if err != nil {
		e.putBuf(b)
		if errors.Is(err, bulk.ErrReplay) || errors.Is(err, bulk.ErrTooOld) {
			e.drops.add(dropBulkReplay)
		} else {
			e.drops.add(dropBulkAuth)
		}
		return
	}
	if br.epoch > 0 {
		br.pc.bulk.mu.Lock()
		_, haveNext := br.pc.bulk.recvs[br.epoch+1]
		br.pc.bulk.mu.Unlock()
		if !haveNext { // the peer moved to a new epoch: prepare the one after
			go e.rotateBulkRecv(br)
		}
	}
	b.n = len(plain)
	e.inboundBuf(br.p, b)
}

// rotateBulkRecv registers epoch+1 and retires epoch-1 once the peer sends
// in epoch.
func (e *Engine) rotateBulkRecv(br *bulkRecv) {
	if err := e.addBulkRecv(br.p, br.pc, br.epoch+1); err != nil {
		e.log.Warn("bulk rekey", "err", err)
		return
	}
	st := br.pc.bulk
	st.mu.Lock()
	defer st.mu.Unlock()
	if sid, ok := st.recvs[br.epoch-1]; ok {
		if v, ok := e.bulkRecvs.LoadAndDelete(sid); ok {
			v.(*bulkRecv).r.Close()
		}
		delete(st.recvs, br.epoch-1)
	}
}

// BulkSessions counts registered receiving sessions (tests).
func (e *Engine) BulkSessions() int {
	n := 0
	e.bulkRecvs.Range(func(_, _ any) bool { n++; return true })
	return n
}
