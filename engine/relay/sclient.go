package relay

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// A server-side client connection runs two goroutines:
//
//	conn ──► reader (routineRead, on the ServeHTTP goroutine) ── forward ──► batch per destination
//	         │                     (flushed when the read buffer runs dry) ──► other client's sendq
//	         └─ Pong/PeerGone ─► own ctrlq
//	own sendq, ctrlq ──► writer (routineWrite) ──► bufio ──► conn
//
// The reader owns the read side, the rate limiter, the pending batches and
// sentTo. The writer
// owns the bufio.Writer and is the only goroutine that writes to conn once
// the handshake is over; it writes the final Error frame and closes conn.
// fail, callable from anywhere, starts the teardown by closing done.

// Bounds on the reader's bookkeeping maps; reaching one clears the map,
// which only costs some repeated work.
const (
	maxSentTo   = 4096
	maxGoneTold = 1024
)

// sclient is one authenticated client connection on the server.
type sclient struct {
	s    *Server
	key  key.NodePublic
	conn net.Conn
	bw   *bufio.Writer // owned by the writer

	sendq      chan outBatch  // encoded RecvPacket frames
	queued     atomic.Int32   // packets in sendq, at most the server's QueueSize
	ctrlq      chan ctrlFrame // small frames: Pong, PeerGone
	done       chan struct{}  // closed by fail
	writerDone chan struct{}  // closed when the writer has exited
	failOnce   sync.Once
	reason     atomic.Pointer[string] // why fail was called; written before done is closed

	mu      sync.Mutex                  // guards senders
	senders map[key.NodePublic]*sclient // clients that sent to this one; nil once gone

	// Owned by the reader.
	pend     []pendingBatch // RecvPacket frames gathered per destination
	limiter  tokenBucket
	sentTo   map[key.NodePublic]*sclient // destinations this client registered with
	goneTold map[key.NodePublic]bool     // unknown destinations already answered with PeerGone
}

// ctrlFrame is a small frame for the writer: data[:n], or text for
// Health.
type ctrlFrame struct {
	typ  FrameType
	n    int
	data [keyLen]byte
	text string
}

const ctrlQueueSize = 64

// outBatch is one or more encoded RecvPacket frames for a client's writer:
// the reader hands over what it gathered from one read of the socket in
// one queue operation, not one per packet (each operation wakes the
// writer, and per packet those wake-ups cost more than the copying).
type outBatch struct {
	bp    *[]byte
	n     int    // packets
	bytes uint64 // packet bytes, without frame headers and keys
}

// pendingBatch is a batch the reader is gathering for d.
type pendingBatch struct {
	d *sclient
	outBatch
}

// batchBufSize bounds a batch: ~11 full-size packets. A batch starts in a
// small pooled buffer and moves to one of this size when a second packet
// joins it, so a queue of single packets stays small.
const batchBufSize = 16 << 10

// serveConn runs the handshake and then the client's reader on an upgraded
// connection.
func (s *Server) serveConn(conn net.Conn, br *bufio.Reader, binding []byte) {
	conn.SetDeadline(time.Now().Add(s.cfg.AuthTimeout))
	bw := bufio.NewWriterSize(conn, 16<<10)
	bw.WriteString("HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: " + upgradeProto + "\r\n" +
		"Connection: Upgrade\r\n\r\n")
	challenge := newChallenge()
	writeFrame(bw, FrameServerChallenge, challenge, nil)
	if err := bw.Flush(); err != nil {
		s.ctr.authFailures.Add(1)
		return
	}

	// Frames are read into a small buffer; the rare larger frame gets
	// one of its own (see routineRead), so an idle client costs little.
	buf := make([]byte, pooledBufSize)
	refuse := func(reason string, err error) {
		s.ctr.authFailures.Add(1)
		s.log.Debug("relay: authentication failed", "remote", conn.RemoteAddr().String(), "err", err)
		if reason != "" {
			writeFrame(bw, FrameError, []byte(reason), nil)
			bw.Flush()
		}
	}
	typ, p, err := ReadFrame(br, buf)
	if err != nil {
		refuse("", err)
		return
	}
	if typ != FrameClientAuth {
		refuse("expected ClientAuth", errors.New("got "+typ.String()+" before ClientAuth"))
		return
	}
	k, err := verifyClientAuth(p, challenge, binding)
	if err != nil {
		refuse("authentication failed", err)
		return
	}
	if s.cfg.Allow != nil && !s.cfg.Allow(k) {
		refuse("node not allowed on this relay", errors.New("refused by Allow"))
		return
	}

	now := time.Now()
	c := &sclient{
		s:          s,
		key:        k,
		conn:       conn,
		bw:         bw,
		sendq:      make(chan outBatch, s.cfg.QueueSize),
		ctrlq:      make(chan ctrlFrame, ctrlQueueSize),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		senders:    make(map[key.NodePublic]*sclient),
		limiter:    newTokenBucket(s.cfg.RateBytesPerSec, s.cfg.RateBurst, now),
		sentTo:     make(map[key.NodePublic]*sclient),
		goneTold:   make(map[key.NodePublic]bool),
	}
	// Register before ServerInfo, so that once the client knows it is
	// connected, packets to it are queued rather than dropped.
	if !s.register(c) {
		return
	}
	info := ServerInfo{MaxFrame: s.cfg.MaxFrame, RateBytesPerSec: s.cfg.RateBytesPerSec, RateBurst: s.cfg.RateBurst}
	writeFrame(bw, FrameServerInfo, info.appendTo(make([]byte, 0, serverInfoLen)), nil)
	s.mu.RLock()
	health := s.health
	s.mu.RUnlock()
	if health != "" {
		writeFrame(bw, FrameHealth, []byte(health), nil)
	}
	conn.SetWriteDeadline(now.Add(s.cfg.WriteTimeout))
	err = bw.Flush()
	conn.SetDeadline(time.Time{})
	if err != nil {
		c.fail("")
		close(c.writerDone)
		s.wg.Done() // the writer's, never started
	} else {
		go c.routineWrite()
		err = c.routineRead(br, buf)
		c.fail(failReason(err))
	}
	s.unregister(c)
	<-c.writerDone
}

// failReason maps the error that stopped the reader to the text of the
// Error frame, empty when none should be sent.
func failReason(err error) string {
	var pe protocolError
	switch {
	case errors.Is(err, ErrFrameTooLarge):
		return "frame too large"
	case errors.As(err, &pe):
		return string(pe)
	}
	return ""
}

type protocolError string

func (e protocolError) Error() string { return "relay: protocol error: " + string(e) }

// fail starts tearing c down: the writer sends an Error frame with reason
// (if not empty and the connection still works), closes the connection,
// and the reader then stops. Only the first call's reason counts.
func (c *sclient) fail(reason string) {
	c.failOnce.Do(func() {
		c.reason.Store(&reason)
		close(c.done)
	})
}

func (c *sclient) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// routineRead reads the client's frames until an error.
func (c *sclient) routineRead(br *bufio.Reader, buf []byte) error {
	s := c.s
	idle := s.cfg.IdleTimeout
	var deadlineSet time.Time
	defer c.flushPending()
	for {
		now := time.Now()
		// Moving the deadline on every frame is wasteful; once a
		// second is precise enough.
		if now.Sub(deadlineSet) > time.Second {
			c.conn.SetReadDeadline(now.Add(idle))
			deadlineSet = now
		}
		if br.Buffered() == 0 {
			c.flushPending() // the read below may wait
		}
		typ, p, err := ReadFrame(br, c.frameBuf(br, buf))
		if err != nil {
			if errors.Is(err, ErrFrameTooLarge) {
				s.ctr.framesTooLarge.Add(1)
			}
			return err
		}
		switch typ {
		case FrameSendPacket:
			dst, pkt, ok := splitKey(p)
			if !ok {
				s.ctr.protocolErrors.Add(1)
				return protocolError("short SendPacket")
			}
			c.forward(dst, pkt, now)
		case FramePing:
			if len(p) != pingLen {
				s.ctr.protocolErrors.Add(1)
				return protocolError("Ping must carry 8 bytes")
			}
			f := ctrlFrame{typ: FramePong, n: pingLen}
			copy(f.data[:], p)
			c.sendCtrl(f)
		case FrameClientAuth, FrameServerChallenge, FrameServerInfo, FrameRecvPacket, FramePeerGone, FrameHealth, FrameError:
			s.ctr.protocolErrors.Add(1)
			return protocolError("unexpected " + typ.String())
		default:
			// Pong and unknown types: ignored, for forward
			// compatibility.
		}
	}
}

// frameBuf returns the buffer to read the next frame into: small, or for
// a frame longer than small but within MaxFrame, a new one of its size.
func (c *sclient) frameBuf(br *bufio.Reader, small []byte) []byte {
	hdr, err := br.Peek(frameHeaderLen)
	if err != nil {
		return small // ReadFrame will report the error
	}
	n := int(binary.BigEndian.Uint32(hdr[1:]))
	if n <= len(small) || n > c.s.cfg.MaxFrame {
		return small
	}
	return make([]byte, n)
}

// forward routes a packet from c to dst.
func (c *sclient) forward(dst key.NodePublic, pkt []byte, now time.Time) {
	s := c.s
	if !c.limiter.allow(len(pkt), now) {
		s.ctr.dropRate.Add(1)
		return
	}
	d := s.lookup(dst)
	if d == nil || d.isDone() {
		s.ctr.dropUnknown.Add(1)
		if !c.goneTold[dst] {
			if len(c.goneTold) >= maxGoneTold {
				clear(c.goneTold)
			}
			c.goneTold[dst] = true
			c.sendPeerGone(dst)
		}
		return
	}
	if len(c.goneTold) > 0 {
		delete(c.goneTold, dst)
	}
	if c.sentTo[dst] != d {
		if len(c.sentTo) >= maxSentTo {
			clear(c.sentTo)
		}
		d.addSender(c)
		c.sentTo[dst] = d
	}
	c.addPending(d, pkt)
}

// addPending appends pkt, as a RecvPacket frame from c, to the batch
// gathered for d.
func (c *sclient) addPending(d *sclient, pkt []byte) {
	s := c.s
	need := frameHeaderLen + keyLen + len(pkt)
	var pb *pendingBatch
	for i := range c.pend {
		if c.pend[i].d == d {
			pb = &c.pend[i]
			break
		}
	}
	if pb != nil && len(*pb.bp)+need > cap(*pb.bp) {
		if cap(*pb.bp) < batchBufSize && len(*pb.bp)+need <= batchBufSize {
			big := s.getBatchBuf()
			*big = append(*big, *pb.bp...)
			s.putBuf(pb.bp)
			pb.bp = big
		} else {
			c.queue(d, pb.outBatch)
			pb.outBatch = outBatch{}
		}
	}
	if pb == nil {
		c.pend = append(c.pend, pendingBatch{d: d})
		pb = &c.pend[len(c.pend)-1]
	}
	if pb.bp == nil {
		pb.bp = s.getBuf(need)
	}
	*pb.bp = appendFrame(*pb.bp, FrameRecvPacket, c.key[:], pkt)
	pb.n++
	pb.bytes += uint64(len(pkt))
}

// flushPending queues every gathered batch for its destination.
func (c *sclient) flushPending() {
	for i := range c.pend {
		c.queue(c.pend[i].d, c.pend[i].outBatch)
		c.pend[i] = pendingBatch{}
	}
	c.pend = c.pend[:0]
}

// queue hands b to d's writer, or drops it when d's queue holds
// QueueSize packets already.
func (c *sclient) queue(d *sclient, b outBatch) {
	s := c.s
	if d.isDone() { // left while the batch was gathered
		s.putBuf(b.bp)
		s.ctr.dropGone.Add(uint64(b.n))
		return
	}
	if d.queued.Add(int32(b.n)) > int32(s.cfg.QueueSize) {
		d.queued.Add(-int32(b.n))
		s.putBuf(b.bp)
		s.ctr.dropQueueFull.Add(uint64(b.n))
		return
	}
	d.sendq <- b // cannot block: sendq holds QueueSize batches of at least one packet
}

func (c *sclient) addSender(sc *sclient) {
	c.mu.Lock()
	if c.senders != nil { // nil once c is gone
		c.senders[sc.key] = sc
	}
	c.mu.Unlock()
}

func (c *sclient) removeSender(sc *sclient) {
	c.mu.Lock()
	if c.senders[sc.key] == sc {
		delete(c.senders, sc.key)
	}
	c.mu.Unlock()
}

func (c *sclient) sendPeerGone(k key.NodePublic) {
	f := ctrlFrame{typ: FramePeerGone, n: keyLen, data: k}
	c.sendCtrl(f)
}

// sendCtrl queues a small frame without blocking; if the control queue is
// full the client is not reading and the frame is dropped.
func (c *sclient) sendCtrl(f ctrlFrame) {
	select {
	case c.ctrlq <- f:
	default:
	}
}

// routineWrite writes queued frames, flushing whenever the queues run
// empty, until fail is called or a write fails.
func (c *sclient) routineWrite() {
	s := c.s
	defer s.wg.Done()
	defer close(c.writerDone)
	var err error
	for err == nil {
		select {
		case <-c.done:
			c.finish()
			return
		case f := <-c.ctrlq:
			err = c.writeCtrl(f)
		case b := <-c.sendq:
			err = c.writeBatch(b)
		}
	drain:
		for err == nil {
			select {
			case f := <-c.ctrlq:
				err = c.writeCtrl(f)
			case b := <-c.sendq:
				err = c.writeBatch(b)
			default:
				break drain
			}
		}
		if err == nil {
			c.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			err = c.bw.Flush()
		}
	}
	s.log.Debug("relay: write failed", "node", c.key.ShortString(), "err", err)
	c.fail("")
	c.conn.Close() // stops the reader
	c.dropQueued()
}

// finish writes the Error frame for fail's reason, if any, and closes the
// connection.
func (c *sclient) finish() {
	if reason := *c.reason.Load(); reason != "" {
		c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		writeFrame(c.bw, FrameError, []byte(reason), nil)
		c.bw.Flush()
	}
	c.conn.Close()
	c.dropQueued()
}

// dropQueued frees the packets still queued for c, counting them.
func (c *sclient) dropQueued() {
	for {
		select {
		case b := <-c.sendq:
			c.queued.Add(-int32(b.n))
			c.s.putBuf(b.bp)
			c.s.ctr.dropGone.Add(uint64(b.n))
		default:
			return
		}
	}
}

func (c *sclient) writeBatch(b outBatch) error {
	c.queued.Add(-int32(b.n))
	_, err := c.bw.Write(*b.bp)
	if err == nil {
		c.s.ctr.packetsForwarded.Add(uint64(b.n))
		c.s.ctr.bytesForwarded.Add(b.bytes)
	}
	c.s.putBuf(b.bp)
	return err
}

func (c *sclient) writeCtrl(f ctrlFrame) error {
	if f.typ == FrameHealth {
		return writeFrame(c.bw, f.typ, []byte(f.text), nil)
	}
	return writeFrame(c.bw, f.typ, f.data[:f.n], nil)
}
