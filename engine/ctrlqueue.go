package engine

import (
	"slices"
	"time"
)

// ctrlQueueLen bounds a peer's queue of control messages waiting to be
// written. Past it the oldest message goes (and is counted): gossip is
// repeated on the next change and every new connection starts with a
// hello that resynchronises rosters and records.
const ctrlQueueLen = 64

// ctrlItem is one queued control message and the connection it is for.
type ctrlItem struct {
	pc *peerConn
	m  *ctrlMsg
}

// sendCtrl queues one control message for pc's peer's control writer. It
// never blocks, so it may be called with e.mu held; a full queue drops
// its oldest message.
func (e *Engine) sendCtrl(pc *peerConn, m *ctrlMsg) {
	p := pc.owner
	if p == nil || p.ctrlq == nil {
		return
	}
	it := ctrlItem{pc: pc, m: m}
	for {
		select {
		case p.ctrlq <- it:
			return
		default:
		}
		select {
		case <-p.ctrlq:
			p.ctrlDrops.Add(1)
			e.ctrlDrops.Add(1)
		default:
		}
	}
}

// routineCtrl is the peer's control writer: it writes queued messages in
// order, each on its connection once that connection's hello is out. It
// ends when the peer goes (closing its connections) or the engine closes.
func (p *peer) routineCtrl() {
	e := p.e
	for {
		var it ctrlItem
		select {
		case <-p.done:
			p.closeRemoved()
			return
		case <-e.ctx.Done():
			return
		case it = <-p.ctrlq:
		}
		if !p.waitReady(it.pc) {
			continue
		}
		e.writeCtrl(it.pc, it.m)
	}
}

// closeRemoved closes the connections of a peer that recomputeLocked
// removed, then makes magicconn forget it (not before: the close must
// still find the path), unless the peer is back by then.
func (p *peer) closeRemoved() {
	e := p.e
	e.mu.Lock()
	conns, code, msg := slices.Clone(p.conns), p.closeCode, p.closeReason
	e.mu.Unlock()
	closeConns(conns, code, msg)
	e.mu.Lock()
	defer e.mu.Unlock()
	_, inviter := e.inviters[p.key]
	if _, back := e.peers[p.key]; !back && !inviter && e.mc != nil {
		e.mc.RemovePeer(p.key)
	}
}

// waitReady waits until pc's control stream is open and our hello is
// sent; false if the connection, the peer or the engine ends first.
func (p *peer) waitReady(pc *peerConn) bool {
	select {
	case <-pc.ready:
		return true
	default:
	}
	select {
	case <-pc.ready:
		return true
	case <-pc.qc.Context().Done():
	case <-p.done:
	case <-p.e.ctx.Done():
	}
	return false
}

// writeCtrl writes one control message now; errors close the connection.
// Only the connection's own goroutine (the hello) or a caller that has
// seen pc.ready may call it.
func (e *Engine) writeCtrl(pc *peerConn, m *ctrlMsg) {
	if pc.ctrl == nil {
		return
	}
	pc.ctrlMu.Lock()
	defer pc.ctrlMu.Unlock()
	pc.ctrl.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := writeMsg(pc.ctrl, m); err != nil {
		pc.qc.CloseWithError(codeNormal, "control write failed")
	}
}
