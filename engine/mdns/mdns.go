// Package mdns finds other rayfish nodes on the local network with
// multicast DNS (RFC 6762), so that two nodes on one LAN learn each
// other's current addresses with no relay and no other member online,
// for instance after both got new DHCP leases.
//
// A Service announces the node's signed endpoint record (see
// netmap.EndpointRecord) as a TXT record of a DNS-SD style instance
// "<node id prefix>._rayfish._udp.local." on 224.0.0.251:5353 and
// [ff02::fb]:5353 of every LAN interface, at start, every Interval, and
// when asked to; it queries for other instances at start, a second later
// and when asked to, and answers their queries. What it hears is verified and handed to Config.OnRecord;
// whether the node is a member worth talking to is the caller's question.
//
// Announcing puts the node id and its addresses on the LAN. Both are
// public within rayfish (members gossip them), and records are signed,
// so a forged or replayed announcement can point a node at wrong
// addresses only until a newer record arrives, and the QUIC handshake,
// bound to the key, never reaches the wrong node.
//
// The receive path is bounded: packets over 9000 bytes are dropped, at
// most four records are looked at per packet, each sender is rate
// limited before any signature check, and so is signature checking as a
// whole.
package mdns

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Defaults for Config.
const (
	DefaultPort     = 5353
	DefaultInterval = 30 * time.Second
)

// Default multicast groups (RFC 6762 §3).
var (
	DefaultGroup4 = netip.MustParseAddr("224.0.0.251")
	DefaultGroup6 = netip.MustParseAddr("ff02::fb")
)

const (
	// startupRepeat is when the second announcement follows the first
	// (RFC 6762 §8.3 asks for at least two, a second apart).
	startupRepeat = time.Second
	// minSpacing separates consecutive announcements, however often
	// Announce is called.
	minSpacing = time.Second
	// replyInterval is the least time between two answers to queries on
	// one interface (RFC 6762 §6).
	replyInterval = time.Second

	// Per-sender and overall limits on records heard.
	senderRate   = 1.0 // records per second
	senderBurst  = 8
	verifyRate   = 20.0 // signature checks per second
	verifyBurst  = 64
	maxSenders   = 256
	maxVerified  = 256
	maxReplyKeys = 256
	// maxPrefixes bounds the connected prefixes kept per interface.
	maxPrefixes = 32
)

// Config configures a Service.
type Config struct {
	// Record returns our current signed endpoint record; it is called
	// for every announcement and answer, and must be cheap. A record
	// with a zero Node is not announced. Required.
	Record func() netmap.EndpointRecord
	// OnRecord receives each verified record heard on the LAN, except
	// our own, with the address of the packet that carried it (port is
	// the mDNS port, not the node's; IPv6 link-local addresses carry the
	// interface as zone). Records are repeated every Interval; OnRecord
	// must not block for long. Required.
	OnRecord func(rec netmap.EndpointRecord, from netip.AddrPort)
	// Interfaces lists the interfaces to use; it is called at start and
	// before every announcement, so new interfaces are picked up. The
	// default is every interface that is up and multicast capable and
	// neither loopback, point-to-point nor a rayfish tunnel (names
	// starting with "rayfish" or "utun").
	Interfaces func() ([]net.Interface, error)
	// InterfaceAddrs lists an interface's addresses; a family is used on
	// an interface only if it has an address of that family. The default
	// is (*net.Interface).Addrs.
	InterfaceAddrs func(*net.Interface) ([]net.Addr, error)
	// Interval is the period of announcements; default DefaultInterval.
	Interval time.Duration
	// Logger receives debug and warning messages; default discards.
	Logger *slog.Logger

	// Port and groups default to mDNS's; tests change them. An invalid
	// group means the default; DisableIPv4 or DisableIPv6 turns a family
	// off.
	Port        uint16
	Group4      netip.Addr
	Group6      netip.Addr
	DisableIPv4 bool
	DisableIPv6 bool
}

// Service announces our endpoint record and listens for others'. Create
// it with New and stop it with Close.
type Service struct {
	cfg   Config
	log   *slog.Logger
	conns [2]*mconn // IPv4, IPv6; nil if that family is off or failed
	query []byte
	now   func() time.Time

	kick      chan struct{}
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once

	// announced counts announcement rounds, for tests.
	announced atomic.Int64
	// offLink counts packets ignored because their sender is not on the
	// receiving link.
	offLink atomic.Int64

	// mu guards the fields below.
	mu        sync.Mutex
	links     map[int]*link // by interface index
	senders   *limiter
	verifies  bucket
	verified  map[key.NodePublic]string // last verified payload per node
	lastReply map[replyKey]time.Time
}

// link is an interface we use.
type link struct {
	ifi    net.Interface
	has    [2]bool // has an IPv4, IPv6 address
	joined [2]bool // joined the IPv4, IPv6 group
	// prefixes are the interface's connected prefixes: a packet from
	// outside them (and outside link-local space) is not from the link.
	prefixes []netip.Prefix
}

// replyKey identifies where an answer to a query goes.
type replyKey struct {
	v6      bool
	ifIndex int
	to      netip.Addr // for legacy unicast answers
}

// New opens the mDNS sockets, joins the groups and starts announcing and
// listening. It fails if neither IPv4 nor IPv6 could be opened.
func New(cfg Config) (*Service, error) {
	if cfg.Record == nil || cfg.OnRecord == nil {
		return nil, errors.New("mdns: Record and OnRecord are required")
	}
	if cfg.Interfaces == nil {
		cfg.Interfaces = defaultInterfaces
	}
	if cfg.InterfaceAddrs == nil {
		cfg.InterfaceAddrs = (*net.Interface).Addrs
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if !cfg.Group4.Is4() || !cfg.Group4.IsMulticast() {
		cfg.Group4 = DefaultGroup4
	}
	if !cfg.Group6.Is6() || !cfg.Group6.IsMulticast() {
		cfg.Group6 = DefaultGroup6
	}
	s := &Service{
		cfg:       cfg,
		log:       cfg.Logger,
		query:     buildQuery(),
		now:       time.Now,
		kick:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		links:     make(map[int]*link),
		senders:   newLimiter(senderRate, senderBurst, maxSenders),
		verified:  make(map[key.NodePublic]string),
		lastReply: make(map[replyKey]time.Time),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	for i, g := range []netip.Addr{cfg.Group4, cfg.Group6} {
		if (i == 0 && cfg.DisableIPv4) || (i == 1 && cfg.DisableIPv6) {
			continue
		}
		c, err := listen(netip.AddrPortFrom(g, cfg.Port))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.conns[i] = c
	}
	if s.conns[0] == nil && s.conns[1] == nil {
		if len(errs) == 0 {
			return nil, errors.New("mdns: both IPv4 and IPv6 are disabled")
		}
		return nil, errors.Join(errs...)
	}
	for _, err := range errs {
		s.log.Debug("mdns: family unavailable", "err", err)
	}
	for _, c := range s.conns {
		if c != nil {
			s.wg.Add(1)
			go s.runReader(c)
		}
	}
	s.wg.Add(1)
	go s.runAnnouncer()
	return s, nil
}

// Announce makes the Service announce soon (within about a second), and
// query for other nodes: call it when our endpoints or the network
// changed.
func (s *Service) Announce() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Close stops the Service, leaves the groups and closes the sockets. It
// is safe to call more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.mu.Lock()
		for _, l := range s.links {
			s.leaveLocked(l)
		}
		s.mu.Unlock()
		for _, c := range s.conns {
			if c != nil {
				c.close()
			}
		}
	})
	s.wg.Wait()
	return nil
}

// runAnnouncer announces at start, a second later, then every Interval
// and on Announce. It queries for other nodes at start, a second later
// (in case the first query was lost or answered by an announcement we
// could not hear yet) and on Announce. It exits when the Service closes.
func (s *Service) runAnnouncer() {
	defer s.wg.Done()
	s.refresh()
	s.announce()
	s.multicast(s.query)
	t := time.NewTimer(startupRepeat)
	defer t.Stop()
	spacing := time.NewTimer(0)
	defer spacing.Stop()
	for round := 1; ; round++ {
		query := round == 1
		select {
		case <-s.done:
			return
		case <-t.C:
		case <-s.kick:
			query = true
		}
		s.refresh()
		s.announce()
		if query {
			s.multicast(s.query)
		}
		t.Reset(s.cfg.Interval)
		spacing.Reset(minSpacing)
		select {
		case <-s.done:
			return
		case <-spacing.C:
		}
	}
}

// announce multicasts our record on every interface. Answers to queries
// wait a replyInterval after it, which also keeps us from answering our
// own query that follows.
func (s *Service) announce() {
	b, err := s.response(nil)
	if err != nil {
		s.log.Warn("mdns: cannot announce", "err", err)
		return
	}
	if b == nil {
		return
	}
	now := s.now()
	s.mu.Lock()
	if len(s.lastReply)+2*len(s.links)+2 > maxReplyKeys {
		clear(s.lastReply)
	}
	for idx := range s.links {
		for _, v6 := range []bool{false, true} {
			s.lastReply[replyKey{v6: v6, ifIndex: idx}] = now
			s.lastReply[replyKey{v6: v6}] = now // for platforms that do not tell the interface
		}
	}
	s.mu.Unlock()
	s.multicast(b)
	s.announced.Add(1)
}

// response returns the answer carrying our record, or nil if we have
// none yet. query is set for legacy unicast answers.
func (s *Service) response(query *dns.Msg) ([]byte, error) {
	rec := s.cfg.Record()
	if rec.Node.IsZero() {
		return nil, nil
	}
	return buildResponse(rec, query)
}

// multicast sends b on every interface, in each family it has.
func (s *Service) multicast(b []byte) {
	s.mu.Lock()
	links := make([]*link, 0, len(s.links))
	for _, l := range s.links {
		links = append(links, l)
	}
	s.mu.Unlock()
	for _, l := range links {
		s.multicastOn(b, l, 0)
		s.multicastOn(b, l, 1)
	}
}

// multicastOn sends b on l in family i (0 IPv4, 1 IPv6), if l has it.
func (s *Service) multicastOn(b []byte, l *link, i int) {
	s.mu.Lock()
	ok, ifi := l.joined[i], l.ifi
	s.mu.Unlock()
	if !ok {
		return
	}
	if err := s.conns[i].multicast(b, &ifi); err != nil {
		s.log.Debug("mdns: send failed", "err", err)
	}
}

// runReader reads c until the Service closes.
func (s *Service) runReader(c *mconn) {
	defer s.wg.Done()
	buf := make([]byte, maxPacket+1)
	for {
		n, ifIndex, from, err := c.read(buf)
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Debug("mdns: read", "family", c.family(), "err", err)
			continue
		}
		if n > maxPacket {
			continue
		}
		s.handle(c, buf[:n], ifIndex, from)
	}
}

// handle processes one received packet.
func (s *Service) handle(c *mconn, b []byte, ifIndex int, from netip.AddrPort) {
	s.mu.Lock()
	onLink := s.onLinkLocked(ifIndex, from.Addr())
	if onLink && from.Addr().Is6() && from.Addr().IsLinkLocalUnicast() {
		// The receiving interface is the zone, whatever the socket
		// layer's cache of interface names says.
		if l := s.links[ifIndex]; l != nil {
			from = netip.AddrPortFrom(from.Addr().WithZone(l.ifi.Name), from.Port())
		}
	}
	s.mu.Unlock()
	if !onLink {
		// RFC 6762 §11: mDNS is for the link. An off-link sender (a
		// unicast query routed to port 5353 from anywhere) gets nothing,
		// not even a parse.
		s.offLink.Add(1)
		s.log.Debug("mdns: ignoring packet from off-link", "from", from, "interface", ifIndex)
		return
	}
	msg, err := parse(b)
	if err != nil {
		return
	}
	if msg.query != nil {
		s.answer(c, msg.query, ifIndex, from)
	}
	for _, r := range msg.records {
		s.accept(r, from)
	}
}

// accept verifies r, heard from from, and hands it to OnRecord.
func (s *Service) accept(r netmap.EndpointRecord, from netip.AddrPort) {
	if r.Node == s.cfg.Record().Node {
		return
	}
	raw, err := encodeRecord(r)
	if err != nil {
		return
	}
	now := s.now()
	s.mu.Lock()
	if !s.senders.allow(from.Addr().WithZone(""), now) {
		s.mu.Unlock()
		s.log.Debug("mdns: sender rate limited", "from", from)
		return
	}
	known := s.verified[r.Node] == string(raw)
	if !known && !s.verifies.take(now, verifyRate, verifyBurst) {
		s.mu.Unlock()
		s.log.Debug("mdns: verification rate limited", "from", from)
		return
	}
	s.mu.Unlock()
	if !known {
		if err := r.Verify(); err != nil {
			s.log.Debug("mdns: bad record", "from", from, "err", err)
			return
		}
		s.mu.Lock()
		if len(s.verified) >= maxVerified {
			clear(s.verified)
		}
		s.verified[r.Node] = string(raw)
		s.mu.Unlock()
	}
	s.cfg.OnRecord(r, from)
}

// answer replies to a query for rayfish instances: by unicast to a
// legacy resolver (source port not the mDNS port, RFC 6762 §6.7), else
// by multicast on the interface the query came in on, at most once per
// replyInterval.
func (s *Service) answer(c *mconn, q *dns.Msg, ifIndex int, from netip.AddrPort) {
	legacy := from.Port() != s.cfg.Port
	k := replyKey{v6: c.v6, ifIndex: ifIndex}
	if legacy {
		k.to = from.Addr()
	}
	now := s.now()
	s.mu.Lock()
	if last, ok := s.lastReply[k]; ok && now.Sub(last) < replyInterval {
		s.mu.Unlock()
		return
	}
	if len(s.lastReply) >= maxReplyKeys {
		clear(s.lastReply)
	}
	s.lastReply[k] = now
	var targets []*link
	for idx, l := range s.links {
		if ifIndex == 0 || idx == ifIndex {
			targets = append(targets, l)
		}
	}
	s.mu.Unlock()

	if legacy {
		b, err := s.response(q)
		if err == nil && b != nil {
			err = c.unicast(b, from)
		}
		if err != nil {
			s.log.Debug("mdns: answer", "to", from, "err", err)
		}
		return
	}
	b, err := s.response(nil)
	if err != nil || b == nil {
		return
	}
	i := boolIndex(c.v6)
	for _, l := range targets {
		s.multicastOn(b, l, i)
	}
}
