package natlab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/rayfish/rayfish/engine/magicconn/internal/deadline"
)

// Streams are TCP-like connections between hosts, for servers such as a
// relay that tests run in memory (and so inside a testing/synctest
// bubble, which cannot use real sockets). A dial is routed like a
// datagram when it is set up: rules that drop the first packet make the
// dial wait for its context; a NAT translates the dialer's IPv4 source
// but lets no dial in. Once set up, a stream carries its bytes in order
// and ignores later rules, moves and NAT resets. Each Write takes the
// network's latency (SetLatency) before its bytes can be read: a link
// with a delay and no pipelining. Every wait is on a
// channel, so a goroutine blocked on a stream is durably blocked.

// streamBuf is how many bytes wait in one direction of a stream before
// Write blocks, like a socket's send and receive buffers together.
const streamBuf = 256 << 10

// acceptBacklog is how many set-up streams wait for Accept before more
// dials are refused.
const acceptBacklog = 128

// ErrRefused is returned by DialStream when nothing listens on the port
// or the listener's backlog is full.
var ErrRefused = syscall.ECONNREFUSED

// Listener accepts streams on a host's port. It implements net.Listener.
type Listener struct {
	host      *Host
	port      uint16
	backlog   chan *StreamConn
	done      chan struct{}
	closeOnce sync.Once
}

var _ net.Listener = (*Listener)(nil)

// ListenStream opens a stream listener on port (0 picks a free one) on all
// the host's addresses.
func (h *Host) ListenStream(port uint16) (*Listener, error) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	if h.streams == nil {
		h.streams = make(map[uint16]*Listener)
	}
	if port == 0 {
		for h.streams[h.nextPort] != nil {
			h.nextPort++
		}
		port = h.nextPort
		h.nextPort++
	}
	if h.streams[port] != nil {
		return nil, fmt.Errorf("natlab: %s: listen stream on %d: %w", h.name, port, ErrPortInUse)
	}
	l := &Listener{
		host:    h,
		port:    port,
		backlog: make(chan *StreamConn, acceptBacklog),
		done:    make(chan struct{}),
	}
	h.streams[port] = l
	return l, nil
}

// Accept waits for the next stream.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.backlog:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// Close stops accepting and closes the streams not yet accepted. It is
// idempotent.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.host.net.mu.Lock()
		if l.host.streams[l.port] == l {
			delete(l.host.streams, l.port)
		}
		close(l.done)
		l.host.net.mu.Unlock()
		for {
			select {
			case c := <-l.backlog:
				c.Close()
			default:
				return
			}
		}
	})
	return nil
}

// Addr returns the host's first address with the listener's port.
func (l *Listener) Addr() net.Addr {
	ips := l.host.IPs()
	ap := netip.AddrPortFrom(netip.IPv4Unspecified(), l.port)
	if len(ips) > 0 {
		ap = netip.AddrPortFrom(ips[0], l.port)
	}
	return net.TCPAddrFromAddrPort(ap)
}

// DialContext dials a stream to addr ("ip:port"; network must be tcp,
// tcp4 or tcp6). Its signature is that of net.Dialer.DialContext, to
// plug into clients that take a dial function.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	dst, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("natlab: no DNS, want ip:port: %w", err)}
	}
	return h.DialStream(ctx, dst)
}

// DialStream opens a stream to dst. It fails with ErrRefused when
// nothing listens there and waits for ctx when a rule drops the dial or
// no host owns dst.
func (h *Host) DialStream(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(dst), Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(err)
	}
	c, ok, err := h.connectStream(dst)
	if err != nil {
		return nil, opErr(err)
	}
	if !ok {
		<-ctx.Done() // lost on the way: the dial times out
		return nil, opErr(ctx.Err())
	}
	return c, nil
}

// connectStream sets up a stream to dst; ok is false when the dial is
// lost on the way.
func (h *Host) connectStream(dst netip.AddrPort) (c *StreamConn, ok bool, err error) {
	n := h.net
	n.mu.Lock()
	defer n.mu.Unlock()
	ip, found := h.sourceLocked(dst.Addr())
	if !found {
		return nil, false, ErrNoRoute
	}
	h.nextStreamPort++
	src := netip.AddrPortFrom(ip, 50000+h.nextStreamPort%10000)
	seen := src // the source the listener sees
	to := n.ifaces[dst.Addr()]
	if nat := h.nat; nat != nil && ip.Is4() {
		if lan := nat.lan[dst.Addr()]; lan != nil {
			to = lan
		} else {
			nat.nextStreamPort++
			seen = netip.AddrPortFrom(nat.public, 30000+nat.nextStreamPort%10000)
		}
	}
	if n.dropLocked(seen, dst) || to == nil {
		return nil, false, nil
	}
	l := to.streams[dst.Port()]
	if l == nil {
		return nil, false, ErrRefused
	}
	a, b := newStreamPair(n, src, dst, seen)
	select {
	case l.backlog <- b:
		return a, true, nil
	default:
		return nil, false, ErrRefused
	}
}

// StreamConn is one end of a stream. It implements net.Conn; its methods
// are safe for concurrent use.
type StreamConn struct {
	net           *Network
	local, remote netip.AddrPort
	rx, tx        *pipe // rx: what this end reads; tx: what it writes
	rd, wd        *deadline.Deadline

	done      chan struct{}
	closeOnce sync.Once
}

var _ net.Conn = (*StreamConn)(nil)

// newStreamPair returns the dialer's end (from src to dst) and the
// listener's end, which sees the dialer at seen.
func newStreamPair(n *Network, src, dst, seen netip.AddrPort) (dialer, listener *StreamConn) {
	up, down := newPipe(), newPipe()
	dialer = &StreamConn{net: n, local: src, remote: dst, rx: down, tx: up,
		rd: deadline.New(), wd: deadline.New(), done: make(chan struct{})}
	listener = &StreamConn{net: n, local: dst, remote: seen, rx: up, tx: down,
		rd: deadline.New(), wd: deadline.New(), done: make(chan struct{})}
	return dialer, listener
}

// Read reads what the other end wrote; io.EOF once it closed and every
// byte was read.
func (c *StreamConn) Read(b []byte) (int, error) {
	if c.closed() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	for {
		n, wait, err := c.rx.read(b)
		if wait == nil {
			return n, err
		}
		select {
		case <-wait:
		case <-c.done:
			return 0, c.opErr("read", net.ErrClosed)
		case <-c.rd.Wait():
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		}
	}
}

// Write queues b for the other end, waiting while its buffer is full. It
// fails once either end closed.
func (c *StreamConn) Write(b []byte) (int, error) {
	if c.closed() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	if d := c.net.Latency(); d > 0 {
		time.Sleep(d)
	}
	written := 0
	for {
		n, wait, err := c.tx.write(b[written:])
		written += n
		if wait == nil {
			if err != nil {
				return written, c.opErr("write", err)
			}
			return written, nil
		}
		select {
		case <-wait:
		case <-c.done:
			return written, c.opErr("write", net.ErrClosed)
		case <-c.wd.Wait():
			return written, c.opErr("write", os.ErrDeadlineExceeded)
		}
	}
}

func (c *StreamConn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *StreamConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Close closes this end: the other end reads io.EOF after the bytes
// already sent, and its writes fail. It is idempotent.
func (c *StreamConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.tx.closeWriter()
		c.rx.closeReader()
	})
	return nil
}

// CloseWrite shuts down the sending direction: the other end reads
// io.EOF after the bytes already sent.
func (c *StreamConn) CloseWrite() error {
	c.tx.closeWriter()
	return nil
}

// LocalAddr returns this end's address.
func (c *StreamConn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(c.local) }

// RemoteAddr returns the other end's address as this end sees it (a NAT's
// public address for a dialer behind it).
func (c *StreamConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.remote) }

// SetDeadline sets both deadlines.
func (c *StreamConn) SetDeadline(t time.Time) error {
	c.rd.Set(t)
	c.wd.Set(t)
	return nil
}

// SetReadDeadline implements net.Conn.
func (c *StreamConn) SetReadDeadline(t time.Time) error {
	c.rd.Set(t)
	return nil
}

// SetWriteDeadline implements net.Conn.
func (c *StreamConn) SetWriteDeadline(t time.Time) error {
	c.wd.Set(t)
	return nil
}

// pipe is one direction of a stream: a bounded buffer, with a channel
// each to wake a waiting reader and writer. A wake-up is a token in a
// channel of capacity 1, so waking allocates nothing; a stale token only
// makes the waiter look again.
type pipe struct {
	mu         sync.Mutex
	buf        bytes.Buffer
	eof        bool // the writer closed
	readerGone bool // the reader closed
	readable   chan struct{}
	writable   chan struct{}
}

func newPipe() *pipe {
	return &pipe{readable: make(chan struct{}, 1), writable: make(chan struct{}, 1)}
}

// read copies buffered bytes into b; when there are none and no EOF, it
// returns a channel to wait on before trying again.
func (p *pipe) read(b []byte) (int, <-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.buf.Len() > 0 {
		n, _ := p.buf.Read(b)
		wake(p.writable)
		if p.buf.Len() > 0 {
			wake(p.readable) // for another reader
		}
		return n, nil, nil
	}
	if p.eof {
		return 0, nil, io.EOF
	}
	if len(b) == 0 {
		return 0, nil, nil
	}
	return 0, p.readable, nil
}

// write buffers what fits of b; when not all of it fits, it returns a
// channel to wait on before writing the rest.
func (p *pipe) write(b []byte) (int, <-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.eof {
		return 0, nil, net.ErrClosed
	}
	if p.readerGone {
		return 0, nil, syscall.EPIPE
	}
	if len(b) == 0 {
		return 0, nil, nil
	}
	n := min(len(b), streamBuf-p.buf.Len())
	if n > 0 {
		p.buf.Write(b[:n])
		wake(p.readable)
	}
	if n < len(b) {
		return n, p.writable, nil
	}
	return n, nil, nil
}

func (p *pipe) closeWriter() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.eof = true
	wake(p.readable)
}

func (p *pipe) closeReader() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.readerGone = true
	p.buf.Reset()
	wake(p.writable)
}

// wake leaves a token in ch unless one is there.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
