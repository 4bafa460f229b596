package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/app/buildinfo"
	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/engine/bulk"
	"github.com/rayfish/rayfish/engine/dataplane"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/magicconn"
	"github.com/rayfish/rayfish/engine/netmap"
)

// peer is another node sharing at least one network with us.
type peer struct {
	e   *Engine
	key key.NodePublic

	// dp is the peer in the data plane: its send queue, carrier and
	// counters.
	dp *dataplane.Peer
	// cur is the current connection (read without e.mu).
	cur  atomic.Pointer[peerConn]
	done chan struct{} // closed by stop
	// draining is set while a refused duplicate connection is read
	// (drainDuplicate): one at a time.
	draining atomic.Bool
	// The control writer's queue (routineCtrl) and its drops.
	ctrlq     chan ctrlItem
	ctrlDrops atomic.Uint64

	pingMu sync.Mutex
	pings  map[uint64]chan time.Time

	// Guarded by e.mu.
	info     peerInfo
	conns    []*peerConn // live connections (at most two, briefly)
	dialing  bool
	nextDial time.Time
	backoff  time.Duration
	lastSeen time.Time
	stopped  bool
	// software is what the peer's last hello said it runs.
	software peerSoftware
	// Why the peer went: its control writer closes the connections with
	// these once stopped (outside e.mu).
	closeCode   quic.ApplicationErrorCode
	closeReason string
}

// peerInfo is what the rosters say about a peer.
type peerInfo struct {
	hostname string
	ipv4     []netip.Addr
	ipv6     netip.Addr
	networks []string
	// conflicts are claims refused to another node that held them first.
	conflicts []conflict
}

// peerConn is one QUIC connection to a peer, with its control stream.
type peerConn struct {
	qc        *quic.Conn
	mc        *magicconn.Conn // the socket layer under qc (nil in some tests)
	peer      key.NodePublic
	initiator key.NodePublic
	opened    time.Time

	owner  *peer         // whose control writer serves this connection
	ready  chan struct{} // closed once ctrl is open and our hello sent
	ctrlMu sync.Mutex    // serializes writes to ctrl
	ctrl   *quic.Stream

	// flood limiting of incoming control messages
	tokens   float64
	lastFill time.Time

	// The carriers of IP packets: QUIC datagrams, and the bulk channel
	// (nil without one) once the peer's hello says it speaks bulk.
	dgram *dataplane.Datagrams
	bulk  *dataplane.Bulk // set before routineConn
}

// Path describes the connection's route: direct or relay, the remote
// address (or relay URL), and why it is relayed. magicconn knows which
// path carries the connection's packets.
func (pc *peerConn) Path() (kind, remote, reason string) {
	if pc.mc == nil {
		return magicconn.PathDirect, pc.qc.RemoteAddr().String(), ""
	}
	pi := pc.mc.Path(pc.peer)
	return pi.Kind, pi.Remote, pi.Reason
}

func newPeer(e *Engine, k key.NodePublic) *peer {
	p := &peer{
		e:     e,
		key:   k,
		dp:    e.dp.NewPeer(k),
		ctrlq: make(chan ctrlItem, ctrlQueueLen),
		done:  make(chan struct{}),
		pings: map[uint64]chan time.Time{},
	}
	e.goRoutine(p.routineCtrl)
	return p
}

// stop ends the peer's sender and control writer. Called with e.mu held
// or after Close.
func (p *peer) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	close(p.done)
	if p.dp != nil {
		p.dp.Close()
	}
}

// remove stops a peer that no longer shares a network with us; its
// control writer then closes its connections with code and msg. Called
// with e.mu held.
func (p *peer) remove(code quic.ApplicationErrorCode, msg string) {
	p.closeCode, p.closeReason = code, msg
	p.stop()
}

// closeConns closes connections (CloseWithError waits for quic-go to
// send the close, so never with e.mu held).
func closeConns(conns []*peerConn, code quic.ApplicationErrorCode, msg string) {
	for _, pc := range conns {
		pc.qc.CloseWithError(code, msg)
	}
}

// attach installs a new connection to peer. When two exist, the rule
// below keeps exactly one on both sides without talking about it:
// a peer only dials when it has no live connection, so a new connection
// next to one older than freshWindow means the old one is dead on the far
// side (a restart); two fresh ones mean both dialed at once, and the one
// dialed by the lower key stays. The peer may have sent packets on the
// connection we refuse before it learned ours won (it reports the peer
// online as soon as its dial completes): those are read (drainDuplicate).
func (e *Engine) attach(peerKey key.NodePublic, qc *quic.Conn, initiator key.NodePublic) {
	e.mu.Lock()
	p, ok := e.peers[peerKey]
	if !ok {
		e.mu.Unlock()
		qc.CloseWithError(codeNotMember, "no shared network")
		return
	}
	pc := &peerConn{qc: qc, mc: e.mc, peer: peerKey, initiator: initiator, opened: time.Now(), tokens: ctrlBurst, lastFill: time.Now(),
		owner: p, ready: make(chan struct{}), dgram: &dataplane.Datagrams{Conn: qc}}
	if old := p.cur.Load(); old != nil {
		keepOld := time.Since(old.opened) < freshWindow && preferred(e.self, peerKey, old.initiator, initiator)
		if keepOld {
			e.mu.Unlock()
			// Our own dial that lost was never used; a peer's is read
			// for what it sent, one at a time per peer.
			if initiator != e.self && p.draining.CompareAndSwap(false, true) {
				e.goRoutine(func() { e.drainDuplicate(p, qc) })
			} else {
				qc.CloseWithError(codeDuplicate, "duplicate connection")
			}
			return
		}
		defer old.qc.CloseWithError(codeDuplicate, "replaced by a newer connection") // after the unlock
	}
	e.initBulk(p, pc)
	p.conns = append(p.conns, pc)
	p.cur.Store(pc)
	p.dp.SetCarrier(pc.dgram) // the bulk channel takes over after the hellos
	p.backoff = 0
	p.lastSeen = time.Now()
	hostname := p.info.hostname // guarded by e.mu
	e.mu.Unlock()
	kind, remote, _ := pc.Path()
	e.log.Info("peer connected", "peer", peerKey.ShortString(), "path", kind, "remote", remote)
	e.auditf(audit.PeerConnected, peerKey, hostname, "", kind+" "+remote)
	e.watchers.notify()
	e.goRoutine(func() { e.routineConn(p, pc) })
}

// drainDuplicate reads a connection the peer dialed while we dialed it
// (attach kept ours): the IP packets it sent before learning that ours
// won go to the data plane, until the peer closes it (as soon as our
// connection reaches it), the peer is stopped, or freshWindow passes.
// Then it closes the connection. No control stream runs on it.
func (e *Engine) drainDuplicate(p *peer, qc *quic.Conn) {
	defer p.draining.Store(false)
	defer qc.CloseWithError(codeDuplicate, "duplicate connection")
	ctx, cancel := context.WithTimeout(e.ctx, freshWindow)
	defer cancel()
	for {
		d, err := qc.ReceiveDatagram(ctx) // what arrived before a close comes first
		if err != nil {
			return
		}
		select {
		case <-p.done:
			return
		default:
		}
		if isIPPacket(d) {
			e.dp.Receive(p.dp, d)
		}
	}
}

// isIPPacket reports whether a datagram is an IP packet (IPv4 or IPv6)
// rather than a ping.
func isIPPacket(d []byte) bool { return len(d) > 0 && (d[0]>>4 == 4 || d[0]>>4 == 6) }

// freshWindow is how old a connection can be when a second one to the
// same peer means both sides dialed at once rather than a restart.
const freshWindow = 5 * time.Second

// preferred reports whether a connection initiated by a should be kept
// over one initiated by b, between nodes x and y: the lower key's dial wins.
func preferred(x, y, a, b key.NodePublic) bool {
	low := x
	if y.Less(x) {
		low = y
	}
	if a == b {
		return false // same dialer: the newer one wins
	}
	return a == low
}

// routineConn runs one connection: control stream, datagram receive loop,
// and cleanup when it ends.
func (e *Engine) routineConn(p *peer, pc *peerConn) {
	ctx := pc.qc.Context()
	e.goRoutine(func() { e.routineRecv(p, pc) })
	var err error
	if pc.initiator == e.self {
		pc.ctrl, err = pc.qc.OpenStreamSync(ctx)
	} else {
		pc.ctrl, err = pc.qc.AcceptStream(ctx)
	}
	if err == nil {
		e.sendHello(pc)
		close(pc.ready) // queued messages may follow the hello now
		e.readControl(p, pc)
	}
	pc.qc.CloseWithError(codeNormal, "")
	<-ctx.Done()
	e.detach(p, pc)
}

func (e *Engine) detach(p *peer, pc *peerConn) {
	cause := context.Cause(pc.qc.Context())
	e.mu.Lock()
	for i, c := range p.conns {
		if c == pc {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			break
		}
	}
	wasCurrent := p.cur.CompareAndSwap(pc, nil)
	if pc.bulk != nil {
		pc.bulk.Close()
	}
	if wasCurrent {
		p.dp.SetCarrier(nil)
		p.lastSeen = time.Now()
		// Dial again soon, unless the peer left on purpose.
		p.nextDial = time.Now().Add(500 * time.Millisecond)
	}
	hostname := p.info.hostname
	e.mu.Unlock()
	var ae *quic.ApplicationError
	if errors.As(cause, &ae) && ae.Remote && ae.ErrorCode == codeLeave {
		e.log.Info("peer left", "peer", p.key.ShortString())
		e.leaveByClose(p, ae.ErrorMessage)
	} else if errors.As(cause, &ae) && ae.Remote && ae.ErrorCode == codeNotMember {
		e.removedByClose(p, ae.ErrorMessage)
	} else if wasCurrent {
		e.log.Info("peer disconnected", "peer", p.key.ShortString(), "cause", cause)
	}
	if wasCurrent {
		e.watchers.notify()
		e.auditf(audit.PeerDisconnected, p.key, hostname, "", fmt.Sprint(cause))
	}
}

// Control flood limits: a burst, then a steady rate.
const (
	ctrlBurst = 200
	ctrlRate  = 50 // per second
)

func (pc *peerConn) allow(now time.Time) bool {
	pc.tokens += now.Sub(pc.lastFill).Seconds() * ctrlRate
	pc.lastFill = now
	if pc.tokens > ctrlBurst {
		pc.tokens = ctrlBurst
	}
	if pc.tokens < 1 {
		return false
	}
	pc.tokens--
	return true
}

func (e *Engine) readControl(p *peer, pc *peerConn) {
	for {
		var m ctrlMsg
		if err := readMsg(pc.ctrl, &m); err != nil {
			if errors.Is(err, errMsgTooBig) {
				pc.qc.CloseWithError(codeFlood, "control message too large")
			}
			return
		}
		if !pc.allow(time.Now()) {
			e.log.Warn("control flood, closing", "peer", p.key.ShortString())
			pc.qc.CloseWithError(codeFlood, "too many control messages")
			return
		}
		e.handleCtrl(p, pc, &m)
	}
}

func (e *Engine) sendHello(pc *peerConn) {
	e.mu.Lock()
	m := &ctrlMsg{Type: msgHello, Versions: map[key.NetworkPublic]uint64{}, Standby: !e.dp.Up(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Version: buildinfo.Version}
	if pc.bulk != nil && !e.cfg.DisableBulk {
		m.Bulk = bulkVersion
	}
	for _, n := range e.state.Networks {
		m.Versions[n.ID] = n.Roster.Version
	}
	m.Endpoints = e.recordsForLocked(pc)
	e.mu.Unlock()
	e.writeCtrl(pc, m) // first on the stream, before any queued message
}

// recordsForLocked returns the endpoint records worth sending on pc: ours
// and those of members we share with the peer.
func (e *Engine) recordsForLocked(pc *peerConn) []netmap.EndpointRecord {
	recs := []netmap.EndpointRecord{e.myRecord}
	for k, r := range e.state.Endpoints {
		if _, ok := e.peers[k]; ok && len(recs) < 256 {
			recs = append(recs, r)
		}
	}
	return recs
}

// bulkVersion is what our hello advertises.
const bulkVersion = 1

// initBulk opens pc's bulk channel: it derives the receive keys of the
// first epochs from the connection's TLS session and registers them, so
// the peer may start sending as soon as it sees our hello. Without one,
// packets stay QUIC datagrams.
func (e *Engine) initBulk(p *peer, pc *peerConn) {
	if e.mc == nil {
		return
	}
	tls, initiator := pc.qc.ConnectionState().TLS, pc.initiator == e.self
	b, err := e.dp.NewBulk(p.dp, dataplane.BulkConfig{
		Writer: e.mc,
		Addr:   e.mc.PeerAddr(p.key),
		Derive: func(epoch uint32) (bulk.Keys, bulk.Keys, error) {
			return bulk.DeriveKeysEpoch(tls, initiator, epoch)
		},
		Fallback: pc.dgram,
	})
	if err != nil {
		e.log.Warn("bulk channel unavailable", "peer", p.key.ShortString(), "err", err)
		return
	}
	pc.bulk = b
}

// routineRecv reads datagrams from one connection: IP packets for the
// data plane, pings for us.
func (e *Engine) routineRecv(p *peer, pc *peerConn) {
	ctx := pc.qc.Context()
	for {
		d, err := pc.qc.ReceiveDatagram(ctx)
		if err != nil {
			return
		}
		if isIPPacket(d) {
			e.dp.Receive(p.dp, d)
			continue
		}
		e.handlePingDatagram(p, pc, d)
	}
}
