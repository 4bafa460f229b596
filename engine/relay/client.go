package relay

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// ClientOptions configure Dial.
type ClientOptions struct {
	// RootCAs verifies an https:// relay's certificate; nil means the
	// system roots. The certificate is always verified.
	RootCAs *x509.CertPool
	// DialContext opens the TCP connection; nil means a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// SendQueue is how many packets Send may queue before it reports
	// ErrSendQueueFull. Default DefaultQueueSize.
	SendQueue int
	// WriteTimeout closes the connection when the relay does not take
	// written data for this long. Default DefaultWriteTimeout.
	WriteTimeout time.Duration

	// OnPacket is called for each packet received through the relay,
	// from the client's reader goroutine, one call at a time. pkt is
	// valid only during the call: copy what must outlive it. OnPacket
	// must not block for long, since it holds up all relayed traffic,
	// and must not call Close.
	OnPacket func(src key.NodePublic, pkt []byte)
	// OnPeerGone is called, like OnPacket, when the relay reports that a
	// node this client sent to is not connected.
	OnPeerGone func(peer key.NodePublic)
	// OnHealth is called, like OnPacket, when the relay reports a problem
	// ("" means the problem cleared).
	OnHealth func(msg string)
}

// Errors returned by Client.Send and Conn.Send.
var (
	ErrSendQueueFull  = errors.New("relay: send queue full")
	ErrPacketTooLarge = errors.New("relay: packet too large")
	ErrClosed         = errors.New("relay: connection closed")
	ErrNotConnected   = errors.New("relay: not connected")
)

// ServerError is a reason the relay gave (in an Error frame) for refusing
// or closing the connection.
type ServerError struct {
	Msg string
}

func (e *ServerError) Error() string { return "relay: server closed the connection: " + e.Msg }

// Client is one authenticated connection to a relay. Its methods are safe
// for concurrent use. Create it with Dial; Conn wraps one that reconnects.
type Client struct {
	conn      net.Conn
	br        *bufio.Reader // owned by the reader
	bw        *bufio.Writer // owned by the writer
	info      ServerInfo
	opts      ClientOptions
	pool      sync.Pool // *[]byte of pooledBufSize capacity
	batchPool sync.Pool // *[]byte of clientBatchBufSize capacity
	// sendq holds every frame to write, in order: a Ping queued after
	// packets reaches the relay after them.
	sendq  chan outFrame
	queued atomic.Int32 // packets in sendq, at most opts.SendQueue

	done       chan struct{} // closed by closeWith
	closeOnce  sync.Once
	err        error // why the client closed; written before done is closed
	readerDone chan struct{}
	writerDone chan struct{}

	pingMu sync.Mutex
	pings  map[[pingLen]byte]chan struct{}
}

// aLongTimeAgo is a deadline that makes blocked I/O return at once.
var aLongTimeAgo = time.Unix(1, 0)

// Dial connects to the relay at rawURL (http:// or https://; the path
// defaults to DefaultPath) and authenticates as k. ctx bounds the
// connection setup only.
func Dial(ctx context.Context, rawURL string, k key.NodePrivate, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("relay: bad URL: %w", err)
	}
	var port string
	switch u.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return nil, fmt.Errorf("relay: URL %q: scheme must be http or https", rawURL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("relay: URL %q has no host", rawURL)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = DefaultPath
	}
	if opts.SendQueue <= 0 {
		opts.SendQueue = DefaultQueueSize
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	dial := opts.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("relay: dial %s: %w", u.Host, err)
	}
	c, err := handshake(ctx, conn, u, k, opts)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("relay: %s: %w", u.Host, err)
	}
	return c, nil
}

// handshake upgrades conn and authenticates; the returned Client owns conn.
func handshake(ctx context.Context, conn net.Conn, u *url.URL, k key.NodePrivate, opts ClientOptions) (*Client, error) {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	// Cancelling ctx interrupts whatever I/O is blocked.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	defer stop()
	// ctxErr reports an I/O error caused by ctx as ctx's error.
	ctxErr := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			return context.DeadlineExceeded
		}
		return err
	}

	var binding []byte
	if u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{
			ServerName: u.Hostname(),
			RootCAs:    opts.RootCAs,
			MinVersion: tls.VersionTLS12,
			NextProtos: []string{"http/1.1"},
		})
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS handshake: %w", ctxErr(err))
		}
		cs := tc.ConnectionState()
		b, err := tlsBinding(&cs)
		if err != nil {
			return nil, err
		}
		binding, conn = b, tc
	}

	br := bufio.NewReaderSize(conn, 16<<10)
	bw := bufio.NewWriterSize(conn, 16<<10)
	fmt.Fprintf(bw, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: %s\r\nConnection: Upgrade\r\nUser-Agent: rayfish\r\n\r\n",
		u.RequestURI(), u.Host, upgradeProto)
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("send upgrade request: %w", ctxErr(err))
	}
	resp, err := http.ReadResponse(br, nil)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("relay closed the connection unanswered (over its connection caps?): %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("read upgrade response: %w", ctxErr(err))
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		return nil, fmt.Errorf("relay busy or shutting down: HTTP status %q", resp.Status)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols ||
		!strings.EqualFold(resp.Header.Get("Upgrade"), upgradeProto) {
		return nil, fmt.Errorf("not a relay: HTTP status %q", resp.Status)
	}

	buf := make([]byte, 1024)
	typ, p, err := ReadFrame(br, buf)
	if err != nil {
		return nil, fmt.Errorf("read challenge: %w", ctxErr(err))
	}
	if typ != FrameServerChallenge || len(p) != challengeLen {
		return nil, fmt.Errorf("expected a %d-byte ServerChallenge, got %v of %d bytes", challengeLen, typ, len(p))
	}
	writeFrame(bw, FrameClientAuth, clientAuth(k, p, binding), nil)
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("send auth: %w", ctxErr(err))
	}
	typ, p, err = ReadFrame(br, buf)
	if err != nil {
		return nil, fmt.Errorf("read server info: %w", ctxErr(err))
	}
	if typ == FrameError {
		return nil, &ServerError{Msg: errorText(p)}
	}
	if typ != FrameServerInfo {
		return nil, fmt.Errorf("expected ServerInfo, got %v", typ)
	}
	info, err := parseServerInfo(p)
	if err != nil {
		return nil, err
	}
	if !stop() {
		return nil, ctx.Err() // the AfterFunc ran: the deadline is poisoned
	}
	conn.SetDeadline(time.Time{})

	c := &Client{
		conn:       conn,
		br:         br,
		bw:         bw,
		info:       info,
		opts:       opts,
		sendq:      make(chan outFrame, opts.SendQueue),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
		pings:      make(map[[pingLen]byte]chan struct{}),
	}
	c.pool.New = func() any {
		b := make([]byte, 0, pooledBufSize)
		return &b
	}
	c.batchPool.New = func() any {
		b := make([]byte, 0, clientBatchBufSize)
		return &b
	}
	go c.routineRead()
	go c.routineWrite()
	return c, nil
}

// ServerInfo returns what the relay announced after authentication.
func (c *Client) ServerInfo() ServerInfo { return c.info }

// MaxPacket returns the largest packet Send accepts.
func (c *Client) MaxPacket() int { return c.info.MaxFrame - keyLen }

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is up.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close closes the connection and waits for the client's goroutines. It is
// idempotent. It must not be called from the On* callbacks.
func (c *Client) Close() error {
	c.closeWith(ErrClosed)
	<-c.readerDone
	<-c.writerDone
	return nil
}

func (c *Client) closeWith(err error) {
	c.closeOnce.Do(func() {
		c.err = err
		close(c.done)
		c.conn.Close()
	})
}

// Send queues pkt for dst and returns at once: ErrSendQueueFull if the
// queue is full (the packet is dropped, as UDP would), ErrClosed (wrapped
// with the reason) once the connection has ended. pkt may be reused when
// Send returns.
func (c *Client) Send(dst key.NodePublic, pkt []byte) error {
	if len(pkt) > c.MaxPacket() {
		return ErrPacketTooLarge
	}
	select {
	case <-c.done:
		return c.closedErr()
	default:
	}
	bp := c.getBuf(keyLen + len(pkt))
	b := append((*bp)[:0], dst[:]...)
	*bp = append(b, pkt...)
	return c.enqueue(outFrame{typ: FrameSendPacket, payload: bp, n: 1})
}

// clientBatchBufSize holds a 64 KB train of full-size packets with their
// frame headers and keys.
const clientBatchBufSize = 72 << 10

// SendSegments queues buf, cut into packets of segSize bytes (the last
// may be shorter), for dst, like one Send per packet but in one queue
// operation: the writer is woken once per train, not per packet. The
// train is dropped whole if the queue cannot take all of it.
func (c *Client) SendSegments(dst key.NodePublic, buf []byte, segSize int) error {
	if segSize <= 0 {
		return nil
	}
	n := (len(buf) + segSize - 1) / segSize
	if segSize > c.MaxPacket() {
		return ErrPacketTooLarge
	}
	if len(buf)+n*(frameHeaderLen+keyLen) > clientBatchBufSize {
		for len(buf) > 0 { // too long for one buffer: packet by packet
			k := min(segSize, len(buf))
			if err := c.Send(dst, buf[:k]); err != nil {
				return err
			}
			buf = buf[k:]
		}
		return nil
	}
	select {
	case <-c.done:
		return c.closedErr()
	default:
	}
	bp := c.batchPool.Get().(*[]byte)
	b := (*bp)[:0]
	for off := 0; off < len(buf); off += segSize {
		b = appendFrame(b, FrameSendPacket, dst[:], buf[off:min(off+segSize, len(buf))])
	}
	*bp = b
	return c.enqueue(outFrame{payload: bp, n: n, raw: true})
}

// enqueue queues f, holding f.n packets, unless the queue holds
// SendQueue packets already.
func (c *Client) enqueue(f outFrame) error {
	if int(c.queued.Add(int32(f.n))) > c.opts.SendQueue {
		c.queued.Add(-int32(f.n))
		c.putBuf(f.payload)
		return ErrSendQueueFull
	}
	select {
	case c.sendq <- f:
		return nil
	default: // full of control frames
		c.queued.Add(-int32(f.n))
		c.putBuf(f.payload)
		return ErrSendQueueFull
	}
}

// outFrame is a frame queued for the writer; the writer returns payload
// to the pool. A raw one is encoded frames already (SendSegments); n
// counts the packets it carries.
type outFrame struct {
	typ     FrameType
	payload *[]byte
	n       int
	raw     bool
}

func (c *Client) getBuf(n int) *[]byte {
	if n > pooledBufSize {
		b := make([]byte, 0, n)
		return &b
	}
	return c.pool.Get().(*[]byte)
}

func (c *Client) closedErr() error {
	if errors.Is(c.err, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("%w: %w", ErrClosed, c.err)
}

func (c *Client) putBuf(bp *[]byte) {
	switch cap(*bp) {
	case pooledBufSize:
		*bp = (*bp)[:0]
		c.pool.Put(bp)
	case clientBatchBufSize:
		*bp = (*bp)[:0]
		c.batchPool.Put(bp)
	}
}

// Ping sends a Ping and returns the round-trip time once the Pong arrives.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	var id [pingLen]byte
	rand.Read(id[:])
	ch := make(chan struct{}, 1)
	c.pingMu.Lock()
	c.pings[id] = ch
	c.pingMu.Unlock()
	defer func() {
		c.pingMu.Lock()
		delete(c.pings, id)
		c.pingMu.Unlock()
	}()

	bp := c.getBuf(pingLen)
	*bp = append((*bp)[:0], id[:]...)
	start := time.Now()
	select {
	case c.sendq <- outFrame{typ: FramePing, payload: bp}:
	case <-c.done:
		c.putBuf(bp)
		return 0, c.closedErr()
	case <-ctx.Done():
		c.putBuf(bp)
		return 0, fmt.Errorf("relay: ping: %w", ctx.Err())
	}
	select {
	case <-ch:
		return time.Since(start), nil
	case <-c.done:
		return 0, c.closedErr()
	case <-ctx.Done():
		return 0, fmt.Errorf("relay: ping: %w", ctx.Err())
	}
}

// routineRead reads frames from the relay and dispatches them.
func (c *Client) routineRead() {
	defer close(c.readerDone)
	buf := make([]byte, c.info.MaxFrame)
	for {
		typ, p, err := ReadFrame(c.br, buf)
		if err != nil {
			c.closeWith(fmt.Errorf("relay: read: %w", err))
			return
		}
		switch typ {
		case FrameRecvPacket:
			src, pkt, ok := splitKey(p)
			if !ok {
				c.closeWith(protocolError("short RecvPacket"))
				return
			}
			if c.opts.OnPacket != nil {
				c.opts.OnPacket(src, pkt)
			}
		case FramePeerGone:
			peer, _, ok := splitKey(p)
			if !ok {
				c.closeWith(protocolError("short PeerGone"))
				return
			}
			if c.opts.OnPeerGone != nil {
				c.opts.OnPeerGone(peer)
			}
		case FramePing:
			if len(p) != pingLen {
				c.closeWith(protocolError("Ping must carry 8 bytes"))
				return
			}
			bp := c.getBuf(pingLen)
			*bp = append((*bp)[:0], p...)
			select {
			case c.sendq <- outFrame{typ: FramePong, payload: bp}:
			default:
				c.putBuf(bp) // the queue is full: the relay will ping again
			}
		case FramePong:
			if len(p) == pingLen {
				c.pingMu.Lock()
				ch := c.pings[[pingLen]byte(p)]
				c.pingMu.Unlock()
				if ch != nil {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			}
		case FrameHealth:
			if c.opts.OnHealth != nil {
				c.opts.OnHealth(errorText(p))
			}
		case FrameError:
			c.closeWith(&ServerError{Msg: errorText(p)})
			return
		default:
			// Unknown frames are ignored, for forward compatibility.
		}
	}
}

// routineWrite writes queued frames, flushing when the queues run empty.
func (c *Client) routineWrite() {
	defer close(c.writerDone)
	var err error
	for err == nil {
		select {
		case <-c.done:
			return
		case f := <-c.sendq:
			err = c.write(f)
		}
	drain:
		for err == nil {
			select {
			case f := <-c.sendq:
				err = c.write(f)
			default:
				break drain
			}
		}
		if err == nil {
			c.conn.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
			err = c.bw.Flush()
		}
	}
	c.closeWith(fmt.Errorf("relay: write: %w", err))
}

func (c *Client) write(f outFrame) error {
	var err error
	if f.raw {
		_, err = c.bw.Write(*f.payload)
	} else {
		err = writeFrame(c.bw, f.typ, *f.payload, nil)
	}
	c.queued.Add(-int32(f.n))
	c.putBuf(f.payload)
	return err
}
