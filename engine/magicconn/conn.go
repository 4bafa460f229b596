package magicconn

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rayfish/rayfish/engine/bulk"
	"github.com/rayfish/rayfish/engine/disco"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/magicconn/internal/deadline"
	"github.com/rayfish/rayfish/engine/relay"
	"github.com/rayfish/rayfish/engine/stun"
)

// Config configures a Conn.
type Config struct {
	// Key is this node's key: disco messages are sealed with keys
	// derived from it (package disco), and it authenticates to relays.
	Key key.NodePrivate
	// PacketConn is the UDP socket. The Conn owns it from New on and
	// closes it in Close. A *net.UDPConn in production; a simulated
	// socket (natlab) in tests. Sockets that have ReadFromUDPAddrPort
	// and WriteToUDPAddrPort, as *net.UDPConn does, keep the data path
	// free of allocations.
	PacketConn net.PacketConn
	// Relays are relay URLs in order of preference; the first that
	// connects becomes the home relay.
	Relays []string
	// RelayOptions configure every relay connection (RootCAs,
	// DialContext, timeouts). Its OnPacket, OnPeerGone and OnState
	// callbacks are replaced by the Conn's own.
	RelayOptions relay.ConnOptions
	// STUNServers are queried for our reflexive addresses; with two or
	// more of one address family at different IPs, the Conn also learns
	// how our NAT maps. Relays answer STUN on their --stun-port; the
	// caller lists those here.
	STUNServers []netip.AddrPort
	// Logger receives path changes and problems; nil discards them.
	Logger *slog.Logger
	// OnBulk receives bulk data-channel packets (engine/bulk), from the
	// socket or a relay, on the reader goroutine; pkt is only valid
	// during the call. Authentication is the caller's (the packet's
	// session id names the keys), so the source is not checked here.
	// Packets are at most bulk.MaxPacket+bulk.Overhead bytes; OnBulk
	// must check their size against its own buffers.
	OnBulk func(pkt []byte)
	// OnEndpointsChanged is called, from a goroutine of its own and
	// never on the data path, after Endpoints changed (our local or
	// reflexive addresses, or our home relay), so that the caller
	// re-signs its endpoint record. Calls do not overlap.
	OnEndpointsChanged func()

	// timing overrides the protocol timers; tests shrink them.
	timing *timing
}

// timing holds the protocol's timers; defaultTiming has the production
// values.
type timing struct {
	hot            time.Duration // a peer with data this recent is hot: a dead path must be left fast
	hotTrust       time.Duration // trust, for a hot peer
	hotHeartbeat   time.Duration // ping the best path of a hot peer this often
	trust          time.Duration // a pong keeps a direct path trusted this long
	heartbeat      time.Duration // ping the best path of a peer with data this often
	quietHeartbeat time.Duration // ... of one with only QUIC keepalives lately
	idleHeartbeat  time.Duration // ... and of an idle peer
	quietTrust     time.Duration // trust, for a peer without data lately
	quietMax       time.Duration // the quiet heartbeat backs off up to this on a calm path (backoff.go); 0: no backoff
	quietSilence   time.Duration // no QUIC packet from a peer this long ends its calm (the engine's keepalives come every 15 s; 5 s more for a busy machine)
	retry          time.Duration // ping every candidate (and call-me-maybe) this often while on relay
	upgrade        time.Duration // ping every candidate this often while direct, to find a better path
	active         time.Duration // a peer with QUIC traffic this recent is active
	tick           time.Duration // the maintenance loop's period
	minPingGap     time.Duration // least time between two pings of one candidate in a full round
	pingBackGap    time.Duration // least time between pings answering a peer's ping or call-me-maybe
	pingTimeout    time.Duration // a ping without pong is forgotten after this
	candidateTTL   time.Duration // a learned candidate that stays silent this long is dropped
	lostReason     time.Duration // how long "direct path lost" stays the reason for relaying
	stunInterval   time.Duration // re-query STUN servers this often
	stunTimeout    time.Duration // give up on one STUN round after this
	relayIdle      time.Duration // close a relay connection (not the home one) unused this long
	homeFailover   time.Duration // try the next relay when the home one is down this long
	reflexiveTTL   time.Duration // forget a reflexive address learned from pongs after this
}

func defaultTiming() timing {
	return timing{
		hot:            5 * time.Second,
		hotTrust:       2 * time.Second,
		hotHeartbeat:   500 * time.Millisecond,
		trust:          3 * time.Second,
		heartbeat:      time.Second,
		quietHeartbeat: 4 * time.Second,
		idleHeartbeat:  30 * time.Second,
		quietTrust:     9 * time.Second,
		quietMax:       20 * time.Second,
		quietSilence:   20 * time.Second,
		retry:          5 * time.Second,
		upgrade:        30 * time.Second,
		active:         45 * time.Second,
		tick:           250 * time.Millisecond,
		minPingGap:     time.Second,
		pingBackGap:    100 * time.Millisecond,
		pingTimeout:    5 * time.Second,
		candidateTTL:   2 * time.Minute,
		lostReason:     time.Minute,
		stunInterval:   30 * time.Second,
		stunTimeout:    3 * time.Second,
		relayIdle:      2 * time.Minute,
		homeFailover:   10 * time.Second,
		reflexiveTTL:   10 * time.Minute,
	}
}

// Limits.
const (
	// dataMin is the smallest QUIC packet that counts as data for the
	// heartbeat: QUIC keepalives and bare acknowledgements are smaller.
	dataMin = 100

	// rxQueueLen bounds the packets waiting for ReadFrom; more are dropped.
	rxQueueLen = 1024
	// bufSize is the size of pooled receive buffers. QUIC packets are at
	// most 1400 bytes here (quic-go reads into 1452-byte buffers), so a
	// bigger datagram is not ours.
	bufSize = 2048
	// maxUnknownPeers bounds the peers we keep that the caller did not
	// tell us about (learned from a disco message or a relayed packet).
	maxUnknownPeers = 128
	// maxCandidates bounds the candidate addresses kept per peer.
	maxCandidates = 32
	// maxPendingPings bounds the pings awaiting a pong.
	maxPendingPings = 4096
	// maxPongReflexive bounds our reflexive addresses learned from pongs.
	maxPongReflexive = 4
	// unknownRate and unknownBurst limit disco messages from unknown
	// keys (each costs a signature check) per second.
	unknownRate  = 100
	unknownBurst = 200
)

// Conn is a net.PacketConn for quic-go that gives every peer key one
// stable virtual address and carries packets to it over the best path:
// a direct UDP path confirmed by disco pings, or a relay. Its methods are
// safe for concurrent use. See the package documentation.
type Conn struct {
	// Set by New, then read-only.
	cfg       Config
	t         timing
	key       key.NodePrivate
	pub       key.NodePublic
	dk        *disco.Keys // members' disco pairs; its lock comes after mu
	pc        net.PacketConn
	pcR       addrPortReader // pc's allocation-free read, or nil
	pcW       addrPortWriter // pc's allocation-free write, or nil
	gso       *gsoWriter     // UDP GSO sends, nil where unsupported
	gsoOK     gsoState       // false once the path refused GSO
	log       *slog.Logger
	epoch     time.Time // mono times count from here
	secret    [32]byte  // keys the virtual address hash
	localPort uint16

	// The data path: no lock.
	rxq       chan rxPacket
	pool      sync.Pool // *[]byte of bufSize
	rd        *deadline.Deadline
	wdl       atomic.Int64 // write deadline, Unix nanoseconds; 0 for none
	ctr       counters
	done      chan struct{} // closed by Close
	ctx       context.Context
	cancel    context.CancelFunc // cancels ctx, in Close
	closeOnce sync.Once
	wg        sync.WaitGroup // the Conn's goroutines
	wake      chan struct{}  // wakes routineMaintain
	epChanged chan struct{}  // wakes routineNotify
	stunKick  chan struct{}  // wakes routineSTUN

	limMu       sync.Mutex // guards the unknown-key token bucket
	limTokens   float64
	limLastFill mono

	mu sync.RWMutex // guards everything below
	// closed is set by Close; no relay connection is created after.
	closed bool
	peers  map[key.NodePublic]*peer
	// peerList holds peers' values, for maintenance to visit every tick
	// without ranging a map.
	peerList []*peer
	byVIP    map[netip.Addr]*peer
	// byAddr maps an underlay address to the peer a verified disco
	// message came from there; only those addresses deliver QUIC.
	byAddr      map[netip.AddrPort]*peer
	unknown     int // peers with known == false
	pings       map[disco.TxID]*pendingPing
	stunPending map[stun.TxID]*stunWait
	relays      map[string]*relayConn
	home        homeState
	meetRelay   string           // from SetMeetRelay
	local       []netip.AddrPort // from SetLocalEndpoints
	mapped      netip.AddrPort   // from SetMappedEndpoint (port mapping)
	stunAddrs   []netip.AddrPort // from the last successful STUN round
	pongAddrs   []reflexive      // from pongs, at most maxPongReflexive
	mappingV4   stun.Mapping
	mappingV6   stun.Mapping
	// announced is what OnEndpointsChanged last reported.
	announced     []netip.AddrPort
	announcedHome string
}

// addrPortReader and addrPortWriter are the allocation-free methods of
// *net.UDPConn, which natlab's sockets also have.
type addrPortReader interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
}

type addrPortWriter interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// rxPacket is a QUIC packet waiting for ReadFrom.
type rxPacket struct {
	bp *[]byte
	n  int
	p  *peer
}

// mono is a monotonic time: nanoseconds since the Conn's epoch. Zero
// means never.
type mono int64

func (c *Conn) now() mono { return mono(time.Since(c.epoch)) }

func (c *Conn) wall(m mono) time.Time {
	if m == 0 {
		return time.Time{}
	}
	return c.epoch.Add(time.Duration(m))
}

var _ net.PacketConn = (*Conn)(nil)

// New starts a Conn on cfg.PacketConn, which it owns from now on.
func New(cfg Config) (*Conn, error) {
	if cfg.Key.IsZero() {
		return nil, errors.New("magicconn: no key")
	}
	if cfg.PacketConn == nil {
		return nil, errors.New("magicconn: no PacketConn")
	}
	for _, u := range cfg.Relays {
		if err := checkRelayURL(u); err != nil {
			return nil, fmt.Errorf("magicconn: %w", err)
		}
	}
	t := defaultTiming()
	if cfg.timing != nil {
		t = *cfg.timing
	}
	dk, err := disco.NewKeys(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("magicconn: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Conn{
		cfg:         cfg,
		t:           t,
		key:         cfg.Key,
		pub:         cfg.Key.Public(),
		dk:          dk,
		pc:          cfg.PacketConn,
		log:         log,
		epoch:       time.Now().Add(-time.Hour), // keep mono times of real events far from zero
		rxq:         make(chan rxPacket, rxQueueLen),
		rd:          deadline.New(),
		done:        make(chan struct{}),
		wake:        make(chan struct{}, 1),
		epChanged:   make(chan struct{}, 1),
		stunKick:    make(chan struct{}, 1),
		limTokens:   unknownBurst,
		peers:       make(map[key.NodePublic]*peer),
		byVIP:       make(map[netip.Addr]*peer),
		byAddr:      make(map[netip.AddrPort]*peer),
		pings:       make(map[disco.TxID]*pendingPing),
		stunPending: make(map[stun.TxID]*stunWait),
		relays:      make(map[string]*relayConn),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	rand.Read(c.secret[:])
	c.pool.New = func() any {
		b := make([]byte, bufSize)
		return &b
	}
	c.pcR, _ = cfg.PacketConn.(addrPortReader)
	c.pcW, _ = cfg.PacketConn.(addrPortWriter)
	if c.gso = newGSOWriter(cfg.PacketConn); c.gso != nil {
		c.gsoOK.Store(true)
	}
	if ua, ok := cfg.PacketConn.LocalAddr().(*net.UDPAddr); ok {
		c.localPort = uint16(ua.Port)
	}

	c.mu.Lock()
	c.homeLocked(c.now())
	c.mu.Unlock()

	c.wg.Add(3)
	go c.routineRead()
	go c.routineMaintain()
	go c.routineNotify()
	if len(cfg.STUNServers) > 0 {
		c.wg.Add(1)
		go c.routineSTUN()
	}
	return c, nil
}

func checkRelayURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("relay %q is not an http:// or https:// URL", s)
	}
	return nil
}

// Close stops the Conn: it closes the socket and every relay connection
// and waits for all its goroutines. It is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.cancel()
		c.pc.Close()
		c.mu.Lock()
		c.closed = true
		rcs := make([]*relayConn, 0, len(c.relays))
		for _, rc := range c.relays {
			rcs = append(rcs, rc)
		}
		clear(c.relays)
		c.mu.Unlock()
		for _, rc := range rcs {
			rc.conn.Close()
		}
		c.wg.Wait()
		for {
			select {
			case pkt := <-c.rxq:
				c.putBuf(pkt.bp)
			default:
				return
			}
		}
	})
	return nil
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kick wakes the maintenance loop.
func (c *Conn) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Conn) getBuf() *[]byte { return c.pool.Get().(*[]byte) }

func (c *Conn) putBuf(bp *[]byte) { c.pool.Put(bp) }

// LocalAddr returns the socket's local address.
func (c *Conn) LocalAddr() net.Addr { return c.pc.LocalAddr() }

// SetReadBuffer sets the socket's receive buffer, if it has one; quic-go
// calls it.
func (c *Conn) SetReadBuffer(n int) error {
	if s, ok := c.pc.(interface{ SetReadBuffer(int) error }); ok {
		return s.SetReadBuffer(n)
	}
	return nil
}

// SetWriteBuffer sets the socket's send buffer, if it has one; quic-go
// calls it.
func (c *Conn) SetWriteBuffer(n int) error {
	if s, ok := c.pc.(interface{ SetWriteBuffer(int) error }); ok {
		return s.SetWriteBuffer(n)
	}
	return nil
}

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline makes ReadFrom return os.ErrDeadlineExceeded once t
// has passed; the zero time clears it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rd.Set(t)
	return nil
}

// SetWriteDeadline makes WriteTo fail with os.ErrDeadlineExceeded once t
// has passed (WriteTo never blocks, so it matters only then).
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		c.wdl.Store(0)
	} else {
		c.wdl.Store(t.UnixNano())
	}
	return nil
}

// ReadFrom returns the next QUIC packet from a peer, with the peer's
// virtual address. It does not allocate.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	if c.isClosed() {
		return 0, nil, net.ErrClosed
	}
	select {
	case pkt := <-c.rxq:
		n := copy(b, (*pkt.bp)[:pkt.n])
		c.putBuf(pkt.bp)
		return n, pkt.p.vaddr, nil
	case <-c.done:
		return 0, nil, net.ErrClosed
	case <-c.rd.Wait():
		return 0, nil, os.ErrDeadlineExceeded
	}
}

// WriteTo sends the QUIC packet b to the peer whose virtual address is
// addr, over the best path it has. Like UDP it never blocks and loses
// packets silently (they are counted): it fails only once the Conn is
// closed or its write deadline has passed, since quic-go ends a
// connection on any write error. It does not allocate on a direct or
// relay path.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	if wd := c.wdl.Load(); wd != 0 && time.Now().UnixNano() >= wd {
		return 0, os.ErrDeadlineExceeded
	}
	p := c.peerByAddr(addr)
	if p == nil {
		c.ctr.dropNoPeer.Add(1)
		return len(b), nil
	}
	c.send(p, b)
	return len(b), nil
}

// peerByAddr returns the peer whose virtual address is addr.
func (c *Conn) peerByAddr(addr net.Addr) *peer {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || ua.Port != vaddrPort {
		return nil
	}
	ip, ok := netip.AddrFromSlice(ua.IP)
	if !ok {
		return nil
	}
	c.mu.RLock()
	p := c.byVIP[ip]
	c.mu.RUnlock()
	return p
}

// writeUDP sends b to ap on the socket; ua, if not nil, is ap as a
// *net.UDPAddr for sockets without WriteToUDPAddrPort.
func (c *Conn) writeUDP(b []byte, ap netip.AddrPort, ua *net.UDPAddr) error {
	var err error
	if c.pcW != nil {
		_, err = c.pcW.WriteToUDPAddrPort(b, ap)
	} else {
		if ua == nil {
			ua = net.UDPAddrFromAddrPort(ap)
		}
		_, err = c.pc.WriteTo(b, ua)
	}
	if err != nil {
		c.ctr.dropWriteError.Add(1)
	}
	return err
}

// routineRead reads the socket and sorts what arrives: disco, STUN, or
// QUIC for a peer.
func (c *Conn) routineRead() {
	defer c.wg.Done()
	var backoff time.Duration
	gro := newGROReader(c.pc)
	// The datagrams of one GRO read share a sender: its peer is looked
	// up once per read.
	var readPeer *peer
	var readSrc netip.AddrPort
	split := func(b []byte, src netip.AddrPort) {
		if c.cfg.OnBulk != nil && bulk.Looks(b) {
			// Handled in place: OnBulk copies out what it keeps.
			if src != readSrc {
				readSrc = src
				from := netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
				c.mu.RLock()
				readPeer = c.byAddr[from]
				c.mu.RUnlock()
			}
			c.receiveBulk(b, readPeer)
			return
		}
		if len(b) > bufSize {
			c.ctr.dropTooLarge.Add(1)
			return
		}
		bp := c.getBuf()
		n := copy(*bp, b)
		c.receiveUDP(bp, n, src)
	}
	for {
		if gro != nil {
			readSrc, readPeer = netip.AddrPort{}, nil
			err := gro.read(split)
			if err == nil {
				backoff = 0
			} else if !c.pauseAfterReadError(err, &backoff) {
				return
			}
			continue
		}
		bp := c.getBuf()
		n, src, err := c.readUDP(*bp)
		if err != nil {
			c.putBuf(bp)
			if !c.pauseAfterReadError(err, &backoff) {
				return
			}
			continue
		}
		backoff = 0
		c.receiveUDP(bp, n, src)
	}
}

// pauseAfterReadError handles a failed socket read: false once the Conn
// is closed; otherwise (a transient error, such as an ICMP error surfacing
// on some systems) it waits a little, longer if errors repeat, and
// reports true to keep reading.
func (c *Conn) pauseAfterReadError(err error, backoff *time.Duration) bool {
	if c.isClosed() || errors.Is(err, net.ErrClosed) {
		return false
	}
	c.log.Debug("UDP read error", "err", err)
	*backoff = min(max(*backoff*2, time.Millisecond), 100*time.Millisecond)
	select {
	case <-c.done:
		return false
	case <-time.After(*backoff):
		return true
	}
}

func (c *Conn) readUDP(b []byte) (int, netip.AddrPort, error) {
	if c.pcR != nil {
		return c.pcR.ReadFromUDPAddrPort(b)
	}
	n, a, err := c.pc.ReadFrom(b)
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return 0, netip.AddrPort{}, nil // not UDP: dropped by receiveUDP
	}
	return n, ua.AddrPort(), nil
}

// receiveUDP handles one datagram read from the socket into *bp, whose
// ownership it takes.
func (c *Conn) receiveUDP(bp *[]byte, n int, src netip.AddrPort) {
	b := (*bp)[:n]
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	switch {
	case n == 0 || !src.IsValid():
		c.putBuf(bp)
	case disco.Looks(b):
		c.handleDiscoUDP(b, src)
		c.putBuf(bp)
	case c.cfg.OnBulk != nil && bulk.Looks(b):
		// Before STUN: a bulk header can look like STUN's cookie.
		c.mu.RLock()
		p := c.byAddr[src]
		c.mu.RUnlock()
		c.receiveBulk(b, p)
		c.putBuf(bp)
	case stun.IsMessage(b):
		c.handleSTUN(b, src)
		c.putBuf(bp)
	default:
		c.mu.RLock()
		p := c.byAddr[src]
		c.mu.RUnlock()
		if p == nil {
			c.ctr.dropUnknownSource.Add(1)
			c.putBuf(bp)
			return
		}
		now := c.now()
		p.lastRecv.Store(int64(now))
		c.noteData(p, n, now)
		c.ctr.directRx.add(n)
		c.deliver(bp, n, p)
	}
}

// maxBulkLen bounds the bulk packets handed to OnBulk: nothing longer
// can be a sealed packet (bulk.MaxPacket). A GRO read or a relay frame
// can carry more; OnBulk bounds them further to its own buffers.
const maxBulkLen = bulk.MaxPacket + bulk.Overhead

// receiveBulk hands a bulk packet from the socket to OnBulk; p is the
// peer its source address belongs to, if any.
func (c *Conn) receiveBulk(b []byte, p *peer) {
	if len(b) > maxBulkLen {
		c.ctr.dropTooLarge.Add(1)
		return
	}
	if p != nil {
		now := c.now()
		p.lastRecv.Store(int64(now))
		c.noteData(p, len(b), now)
	}
	c.ctr.directRx.add(len(b))
	c.cfg.OnBulk(b)
}

// deliver queues a QUIC packet from p for ReadFrom, taking *bp.
func (c *Conn) deliver(bp *[]byte, n int, p *peer) {
	select {
	case c.rxq <- rxPacket{bp: bp, n: n, p: p}:
	default:
		c.ctr.dropQueueFull.Add(1)
		c.putBuf(bp)
	}
}

// allowUnknown reports whether a disco message from a key we do not know
// may be checked now.
func (c *Conn) allowUnknown(now mono) bool {
	c.limMu.Lock()
	defer c.limMu.Unlock()
	c.limTokens += time.Duration(now-c.limLastFill).Seconds() * unknownRate
	c.limLastFill = now
	c.limTokens = min(c.limTokens, unknownBurst)
	if c.limTokens < 1 {
		return false
	}
	c.limTokens--
	return true
}
