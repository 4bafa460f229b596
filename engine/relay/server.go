// Package relay implements rayfish's relay: a server that forwards opaque
// packets between nodes by node key, for when no direct UDP path works, and
// the client that nodes use to talk through it.
//
// # Protocol
//
// A client opens TCP (TLS for https:// URLs) to the relay and sends an
// HTTP/1.1 "GET /relay" with "Upgrade: rayfish-relay" and "Connection:
// Upgrade"; the relay answers "101 Switching Protocols". From then on both
// sides exchange frames: a type byte, a 4-byte big-endian payload length and
// the payload (see FrameType). Frames longer than the receiver's limit
// (DefaultMaxFrame unless configured) close the connection.
//
// The relay sends a ServerChallenge of 32 random bytes. The client answers
// with ClientAuth: its node key and an ed25519 signature over a
// domain-separated message holding the challenge and, over TLS, 32 bytes of
// keying material exported from the TLS session (RFC 8446 section 7.5), so
// the proof is bound to this very session and cannot be relayed elsewhere.
// On plain http:// (LAN and tests) the signature binds to the challenge
// only. Because of the TLS binding, the relay must terminate TLS itself: a
// TLS-terminating proxy in front of it breaks authentication. A bad
// signature, any other frame before ClientAuth, a key refused by the
// server's Allow hook or a slow handshake close the connection, after an
// Error frame where possible. Otherwise the relay answers ServerInfo.
//
// Then the client sends SendPacket frames (destination key and packet) and
// receives RecvPacket frames (source key and packet). The relay tells a
// client with PeerGone when a node it sent to is not, or no longer,
// connected. Either side may Ping; the other answers Pong with the same 8
// bytes.
//
// # Server
//
// Server is an http.Handler, so a node can mount it on its own HTTP server
// and relay for the members of its networks (see ServerConfig.Allow); Serve
// and ListenAndServe run a standalone relay, with STUN on a UDP port. Each
// client has a bounded send queue (a full queue drops packets) and a token
// bucket limiting the bytes it may send (DefaultRateBytesPerSec unless
// configured); every drop is counted in Stats. Connections are
// capped in all and per source IP (DefaultMaxConns, DefaultMaxConnsPerIP). A
// newer connection for a key replaces the older one. SetHealth broadcasts a
// Health message; Revalidate re-applies the Allow hook to connected clients.
//
// # Client
//
// Dial makes one authenticated connection (Client). Conn keeps one alive:
// it reconnects with capped, jittered exponential backoff, pings to measure
// latency and detect dead connections, and reports state changes.
package relay

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/stun"
)

// upgradeProto is the HTTP Upgrade token of the relay protocol.
const upgradeProto = "rayfish-relay"

// DefaultPath is the HTTP path of the relay endpoint.
const DefaultPath = "/relay"

// Defaults for ServerConfig's zero fields.
const (
	DefaultQueueSize    = 256
	DefaultAuthTimeout  = 10 * time.Second
	DefaultIdleTimeout  = 2 * time.Minute
	DefaultWriteTimeout = 10 * time.Second
)

// ServerConfig configures a Server. Zero fields take defaults; `ray relay`
// fills it from its flags.
type ServerConfig struct {
	// Addr is the TCP address ListenAndServe listens on; empty means
	// ":443" with TLS and ":80" without.
	Addr string
	// CertFile and KeyFile, if set, make Serve and ListenAndServe
	// serve HTTPS with this certificate.
	CertFile, KeyFile string
	// TLSConfig, if set, is used instead of CertFile and KeyFile.
	TLSConfig *tls.Config
	// STUNPort, if positive, makes ListenAndServe answer STUN binding
	// requests on this UDP port, on Addr's host.
	STUNPort int

	// RateBytesPerSec limits the packet bytes each client may send per
	// second; packets over the limit are dropped. 0 means
	// DefaultRateBytesPerSec; NoRateLimit means unlimited.
	RateBytesPerSec uint64
	// RateBurst is the token bucket size in bytes; it is raised to at
	// least one second's worth of RateBytesPerSec and to MaxFrame.
	RateBurst uint64
	// QueueSize is how many packets may wait to be written to one
	// client; more are dropped. Default DefaultQueueSize.
	QueueSize int
	// MaxConns and MaxConnsPerIP cap the connections in all and from one
	// source IP: under Serve every TCP connection, closed at once over a
	// cap; mounted as a handler elsewhere, relay connections, refused
	// with HTTP 503. 0 means DefaultMaxConns and DefaultMaxConnsPerIP;
	// negative means no cap.
	MaxConns, MaxConnsPerIP int
	// MaxFrame is the largest frame payload accepted. Default
	// DefaultMaxFrame; values below 1 KiB are raised to 1 KiB, values
	// above MaxFrameLimit lowered to it.
	MaxFrame int

	// AuthTimeout bounds the handshake. Default DefaultAuthTimeout.
	AuthTimeout time.Duration
	// IdleTimeout closes a client that sent nothing (not even a Ping)
	// for this long. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// WriteTimeout closes a client that does not take written data for
	// this long. Default DefaultWriteTimeout.
	WriteTimeout time.Duration

	// Allow, if set, admits only the keys for which it returns true. A
	// node serving relay uses it to admit members of its networks. It is
	// called once per connection, from the connection's goroutine.
	Allow func(key.NodePublic) bool

	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

func (c *ServerConfig) setDefaults() {
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	c.MaxFrame = min(max(c.MaxFrame, minMaxFrame), MaxFrameLimit)
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = DefaultAuthTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	switch c.RateBytesPerSec {
	case 0:
		c.RateBytesPerSec = DefaultRateBytesPerSec
	case NoRateLimit:
		c.RateBytesPerSec = 0 // what the token bucket and ServerInfo call unlimited
	}
	c.MaxConns = capDefault(c.MaxConns, DefaultMaxConns)
	c.MaxConnsPerIP = capDefault(c.MaxConnsPerIP, DefaultMaxConnsPerIP)
	if c.RateBytesPerSec > 0 {
		// A packet larger than the bucket could never pass.
		c.RateBurst = max(c.RateBurst, c.RateBytesPerSec, uint64(c.MaxFrame))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// capDefault applies a cap's default (for 0); a negative cap becomes 0,
// no cap.
func capDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Stats are a Server's counters. Drops are counted per packet.
type Stats struct {
	Clients          int    // authenticated clients connected now
	Accepted         uint64 // authenticated connections since start
	Replaced         uint64 // connections closed for a newer one with the same key
	AuthFailures     uint64 // connections closed before authenticating
	ConnsRefused     uint64 // connections refused for MaxConns or MaxConnsPerIP
	PacketsForwarded uint64 // packets written to their destination
	BytesForwarded   uint64 // packet bytes written to their destination

	DropUnknownDest uint64 // destination not connected
	DropQueueFull   uint64 // destination's send queue full
	DropRateLimited uint64 // sender over its rate limit
	DropGone        uint64 // destination left with the packet still queued

	FramesTooLarge uint64 // clients closed for an oversized frame
	ProtocolErrors uint64 // clients closed for malformed or unexpected frames
}

type counters struct {
	accepted, replaced, authFailures         atomic.Uint64
	connsRefused                             atomic.Uint64
	packetsForwarded, bytesForwarded         atomic.Uint64
	dropUnknown, dropQueueFull, dropRate     atomic.Uint64
	dropGone, framesTooLarge, protocolErrors atomic.Uint64
}

// Server is a relay server. Create it with NewServer; stop it with Close.
type Server struct {
	cfg       ServerConfig
	log       *slog.Logger
	pool      sync.Pool // *[]byte of pooledBufSize capacity, for queued packets
	batchPool sync.Pool // *[]byte of batchBufSize capacity, for batches of them
	ctr       counters
	limits    *connLimiter
	wg        sync.WaitGroup // connection handlers, writers, STUN servers

	mu      sync.RWMutex // guards the fields below
	closed  bool
	health  string                      // see SetHealth
	clients map[key.NodePublic]*sclient // the current connection per key
	conns   map[net.Conn]struct{}       // every hijacked connection
	servers []*http.Server              // from Serve
	pcs     []net.PacketConn            // from ServeSTUN
	tlsOnce struct {
		sync.Once
		cfg *tls.Config
		err error
	}
}

// pooledBufSize is the capacity of pooled packet buffers: room for a key
// and a full-size IP packet. Larger packets get a buffer of their own.
const pooledBufSize = 2048

// NewServer returns a relay server with cfg, which it copies.
func NewServer(cfg ServerConfig) *Server {
	cfg.setDefaults()
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		clients: make(map[key.NodePublic]*sclient),
		conns:   make(map[net.Conn]struct{}),
		limits:  newConnLimiter(cfg.MaxConns, cfg.MaxConnsPerIP),
	}
	s.pool.New = func() any {
		b := make([]byte, 0, pooledBufSize)
		return &b
	}
	s.batchPool.New = func() any {
		b := make([]byte, 0, batchBufSize)
		return &b
	}
	return s
}

func (s *Server) getBatchBuf() *[]byte { return s.batchPool.Get().(*[]byte) }

func (s *Server) getBuf(n int) *[]byte {
	if n > pooledBufSize {
		b := make([]byte, 0, n)
		return &b
	}
	return s.pool.Get().(*[]byte)
}

func (s *Server) putBuf(b *[]byte) {
	switch cap(*b) {
	case pooledBufSize:
		*b = (*b)[:0]
		s.pool.Put(b)
	case batchBufSize:
		*b = (*b)[:0]
		s.batchPool.Put(b)
	}
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	s.mu.RLock()
	n := len(s.clients)
	s.mu.RUnlock()
	c := &s.ctr
	return Stats{
		Clients:          n,
		Accepted:         c.accepted.Load(),
		Replaced:         c.replaced.Load(),
		AuthFailures:     c.authFailures.Load(),
		ConnsRefused:     c.connsRefused.Load(),
		PacketsForwarded: c.packetsForwarded.Load(),
		BytesForwarded:   c.bytesForwarded.Load(),
		DropUnknownDest:  c.dropUnknown.Load(),
		DropQueueFull:    c.dropQueueFull.Load(),
		DropRateLimited:  c.dropRate.Load(),
		DropGone:         c.dropGone.Load(),
		FramesTooLarge:   c.framesTooLarge.Load(),
		ProtocolErrors:   c.protocolErrors.Load(),
	}
}

// Close stops the server: it closes the listeners and STUN sockets it
// serves, closes every relay connection, and waits for all goroutines it
// started. It is idempotent. An http.Server that mounts the Server as a
// handler is its owner's to close.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	servers, pcs := s.servers, s.pcs
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	var errs []error
	for _, hs := range servers {
		errs = append(errs, hs.Close())
	}
	for _, pc := range pcs {
		errs = append(errs, pc.Close())
	}
	for _, c := range conns {
		c.Close()
	}
	s.wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("relay: close: %w", err)
	}
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// tlsConfig returns the TLS configuration for Serve, nil for plain HTTP.
func (s *Server) tlsConfig() (*tls.Config, error) {
	t := &s.tlsOnce
	t.Do(func() {
		var cfg *tls.Config
		switch {
		case s.cfg.TLSConfig != nil:
			cfg = s.cfg.TLSConfig.Clone()
		case s.cfg.CertFile != "" || s.cfg.KeyFile != "":
			cert, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
			if err != nil {
				t.err = fmt.Errorf("relay: load certificate: %w", err)
				return
			}
			cfg = &tls.Config{Certificates: []tls.Certificate{cert}}
		default:
			return
		}
		// The upgrade needs HTTP/1.1: never negotiate h2.
		cfg.NextProtos = []string{"http/1.1"}
		cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
		t.cfg = cfg
	})
	return t.cfg, t.err
}

// Handler returns the handler Serve uses: the relay at DefaultPath, "ok"
// at /healthz, and a short banner at /.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(DefaultPath, s)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.isClosed() {
			http.Error(w, "closed", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "rayfish relay")
	})
	return mux
}

// Serve serves the relay (see Handler) on ln, over TLS if the config has a
// certificate, until Close. It returns http.ErrServerClosed after Close.
func (s *Server) Serve(ln net.Listener) error {
	tcfg, err := s.tlsConfig()
	if err != nil {
		ln.Close()
		return err
	}
	ln = &limitListener{Listener: ln, l: s.limits, refused: &s.ctr.connsRefused}
	if tcfg != nil {
		ln = tls.NewListener(ln, tcfg)
	}
	hs := &http.Server{
		ConnContext:       markCounted,
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.AuthTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.servers = append(s.servers, hs)
	s.mu.Unlock()
	return hs.Serve(ln)
}

// ServeSTUN answers STUN binding requests on pc until Close, which closes
// pc. It returns nil after Close.
func (s *Server) ServeSTUN(pc net.PacketConn) error {
	if !s.addPacketConn(pc) {
		return http.ErrServerClosed
	}
	defer s.wg.Done()
	return stun.Serve(pc)
}

// addPacketConn registers pc for Close and adds its server to the wait
// group. After Close it closes pc and reports false.
func (s *Server) addPacketConn(pc net.PacketConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		pc.Close()
		return false
	}
	s.pcs = append(s.pcs, pc)
	s.wg.Add(1)
	return true
}

// ListenAndServe listens on cfg.Addr (and cfg.STUNPort, if set) and serves
// until Close. It returns http.ErrServerClosed after Close.
func (s *Server) ListenAndServe() error {
	tcfg, err := s.tlsConfig()
	if err != nil {
		return err
	}
	addr := s.cfg.Addr
	if addr == "" {
		addr = ":80"
		if tcfg != nil {
			addr = ":443"
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("relay: listen: %w", err)
	}
	if s.cfg.STUNPort > 0 {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("relay: listen address %q: %w", addr, err)
		}
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(s.cfg.STUNPort)))
		if err != nil {
			ln.Close()
			return fmt.Errorf("relay: listen STUN: %w", err)
		}
		if !s.addPacketConn(pc) {
			ln.Close()
			return http.ErrServerClosed
		}
		go func() {
			defer s.wg.Done()
			if err := stun.Serve(pc); err != nil {
				s.log.Error("relay: STUN server stopped", "err", err)
			}
		}()
	}
	s.log.Info("relay: serving", "addr", ln.Addr().String(), "tls", tcfg != nil, "stun_port", s.cfg.STUNPort)
	return s.Serve(ln)
}

// ServeHTTP upgrades the request to a relay connection and serves it until
// it ends. It answers 426 Upgrade Required to anything else.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.ProtoMajor != 1 ||
		!strings.EqualFold(r.Header.Get("Upgrade"), upgradeProto) {
		w.Header().Set("Upgrade", upgradeProto)
		w.Header().Set("Connection", "Upgrade")
		http.Error(w, "rayfish relay: HTTP/1.1 GET with Upgrade: "+upgradeProto+" required", http.StatusUpgradeRequired)
		return
	}
	if s.isClosed() {
		http.Error(w, "rayfish relay: shutting down", http.StatusServiceUnavailable)
		return
	}
	if !counted(r) { // mounted on another server: count relay connections here
		ip := remoteIP(r.RemoteAddr)
		if !s.limits.acquire(ip) {
			s.ctr.connsRefused.Add(1)
			http.Error(w, "rayfish relay: too many connections", http.StatusServiceUnavailable)
			return
		}
		defer s.limits.release(ip)
	}
	binding, err := tlsBinding(r.TLS)
	if err != nil {
		http.Error(w, "rayfish relay: TLS session without exporter", http.StatusInternalServerError)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "rayfish relay: connection cannot be upgraded", http.StatusInternalServerError)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		s.log.Debug("relay: hijack failed", "err", err)
		return
	}
	if !s.track(conn) {
		conn.Close()
		return
	}
	defer s.untrack(conn)
	s.serveConn(conn, brw.Reader, binding)
}

// track registers a hijacked connection so Close can close it, and counts
// its handler in the wait group. It reports false after Close.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// register makes c the current connection for its key, replacing (and
// closing) an older one. The older one's senders move over, so they still
// learn when the key goes away.
func (s *Server) register(c *sclient) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	old := s.clients[c.key]
	s.clients[c.key] = c
	s.wg.Add(1) // for c's writer, started by the caller
	s.mu.Unlock()
	s.ctr.accepted.Add(1)
	if old != nil {
		s.ctr.replaced.Add(1)
		old.mu.Lock()
		senders := old.senders
		old.senders = nil
		old.mu.Unlock()
		c.mu.Lock()
		for k, sc := range senders {
			c.senders[k] = sc
		}
		c.mu.Unlock()
		old.fail("replaced by a newer connection for the same key")
	}
	s.log.Debug("relay: client connected", "node", c.key.ShortString(), "replaced", old != nil)
	return true
}

// unregister removes c if it is still the current connection for its key,
// and then tells the clients that had sent to it that it is gone.
func (s *Server) unregister(c *sclient) {
	s.mu.Lock()
	current := s.clients[c.key] == c
	if current {
		delete(s.clients, c.key)
	}
	s.mu.Unlock()

	c.mu.Lock()
	senders := c.senders
	c.senders = nil
	c.mu.Unlock()
	if current {
		for _, sc := range senders {
			if s.lookup(sc.key) == sc {
				sc.sendPeerGone(c.key)
			}
		}
	}
	// Forget c in the sender sets of the clients it sent to.
	for _, d := range c.sentTo {
		d.removeSender(c)
	}
	s.log.Debug("relay: client disconnected", "node", c.key.ShortString())
}

// SetHealth tells every client, now and on connecting, about a problem
// with the relay (for example that it is shutting down); "" means healthy.
// Clients see it through ClientOptions.OnHealth.
func (s *Server) SetHealth(msg string) {
	s.mu.Lock()
	s.health = msg
	clients := make([]*sclient, 0, len(s.clients))
	for _, c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.sendCtrl(ctrlFrame{typ: FrameHealth, text: msg})
	}
}

// Revalidate applies the Allow hook again to every connected client and
// disconnects those it now refuses, returning how many. A node serving
// relay calls it when a member leaves its networks.
func (s *Server) Revalidate() int {
	if s.cfg.Allow == nil {
		return 0
	}
	s.mu.RLock()
	clients := make([]*sclient, 0, len(s.clients))
	for _, c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.RUnlock()
	n := 0
	for _, c := range clients {
		if !s.cfg.Allow(c.key) {
			c.fail("node no longer allowed on this relay")
			n++
		}
	}
	return n
}

func (s *Server) lookup(k key.NodePublic) *sclient {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clients[k]
}

// newChallenge returns a fresh random challenge.
func newChallenge() []byte {
	b := make([]byte, challengeLen)
	rand.Read(b) // crypto/rand.Read never fails
	return b
}
