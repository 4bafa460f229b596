package magicconn

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rayfish/rayfish/engine/disco"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/stun"
)

// VirtualPrefix holds the virtual addresses PeerAddr hands out. It is a
// subnet of rayfish's ULA /48 that no node address falls in (node
// addresses use subnet 0); the addresses never leave the process.
var VirtualPrefix = netip.MustParsePrefix("fd72:6179:6669:ffff::/64")

// vaddrPort is the port of every virtual address.
const vaddrPort = 1

// Path kinds, as in PathInfo.Kind.
const (
	PathDirect = "direct"
	PathRelay  = "relay"
	PathNone   = "none"
)

// PathInfo describes how packets to a peer travel now.
type PathInfo struct {
	// Kind is PathDirect, PathRelay or PathNone.
	Kind string
	// Remote is the peer's ip:port on a direct path, the relay URL on a
	// relay path.
	Remote string
	// Reason says, in one plain line, why the path is not direct.
	Reason string
	// RTT is the direct path's round-trip time, from disco pings.
	RTT time.Duration
	// LastPong is when the peer last answered a ping on any address.
	LastPong time.Time
}

// peer is what the Conn knows about one remote key.
type peer struct {
	// Set at creation, then read-only.
	key   key.NodePublic
	vip   netip.Addr
	vaddr *net.UDPAddr // handed to quic-go; never modified

	// The data path reads these without the lock.
	route         atomic.Pointer[route]
	lastSend      atomic.Int64 // mono of the last QUIC packet sent
	lastRecv      atomic.Int64 // mono of the last QUIC packet received
	lastData      atomic.Int64 // mono of the last data: a bulk packet, or a QUIC packet of dataMin bytes or more
	lastRelayData atomic.Int64 // mono of the last data received through a relay
	lastFullPing  atomic.Int64 // mono of the last round of pings to every candidate

	// Guarded by Conn.mu.
	known        bool   // told by SetPeer or PeerAddr; else kept in the unknown LRU
	member       bool   // told by SetPeer: we may contact what it names (see SetPeer)
	created      mono   // when the Conn first heard of the peer
	homeRelay    string // from SetPeer
	learnedRelay string // the relay the peer's last relayed packet came through
	told         []netip.AddrPort
	cands        map[netip.AddrPort]*candidate
	best         *candidate // the direct path in use, nil if none
	lostAt       mono       // when the last direct path went quiet
	pathSince    mono       // when best last changed
	wasBusy      bool       // busy at the last maintenance
	busySince    mono       // when it last became busy
	busyEnd      mono       // the last data, once it stopped being busy
	probeSince   mono       // when we began looking for a direct path
	lastCMM      mono       // last call-me-maybe sent
	lastCMMRx    mono       // last call-me-maybe handled
	restUntil    mono       // maintenance may skip the peer until then (maintain.go); 0: not
	restActive   bool       // whether the peer was active when restUntil was set
	replay       disco.Window
	reflexive    reflexive // our address as the peer's last pong said
}

// candidate is one underlay address of a peer.
type candidate struct {
	addr         netip.AddrPort
	ua           *net.UDPAddr // addr, for sockets without WriteToUDPAddrPort
	told         bool         // from SetPeer (the peer's endpoint record)
	added        mono
	lastHeard    mono          // last verified disco message from addr
	lastPing     mono          // last ping sent to addr
	lastPingBack mono          // last ping sent in answer to the peer's
	lastPong     mono          // last pong for a ping sent to addr
	rtt          time.Duration // smoothed
}

// route is what the data path needs to send to a peer, replaced as a
// whole whenever it changes.
type route struct {
	direct     netip.AddrPort // trusted direct path, if valid
	directUA   *net.UDPAddr
	trustUntil mono
	relayURL   string        // the relay to use; relays[0] is nil until connected to it
	relays     [2]*relayConn // the peer's home relay, then the one it last used
	spray      []candTarget  // every candidate, when there is no direct path
}

type candTarget struct {
	addr netip.AddrPort
	ua   *net.UDPAddr
}

var emptyRoute = &route{}

// vipFor derives k's virtual IP: VirtualPrefix and 64 bits of a keyed hash
// of k. The hash key is random per Conn, so nobody can pick a key that
// collides with another's address.
func (c *Conn) vipFor(k key.NodePublic) netip.Addr {
	h := sha256.New()
	h.Write(c.secret[:])
	h.Write(k[:])
	sum := h.Sum(nil)
	a := VirtualPrefix.Addr().As16()
	copy(a[8:], sum[:8])
	return netip.AddrFrom16(a)
}

// peerLocked returns the peer for k, creating it if needed. known marks
// it as told by the caller; unknown peers live in a bounded LRU. It
// returns nil for our own key or, with odds of 2^-64, when k's virtual
// address collides with another peer's.
func (c *Conn) peerLocked(k key.NodePublic, known bool, now mono) *peer {
	if p := c.peers[k]; p != nil {
		if known && !p.known {
			p.known = true
			c.unknown--
		}
		return p
	}
	if k == c.pub || k.IsZero() {
		return nil
	}
	vip := c.vipFor(k)
	if c.byVIP[vip] != nil {
		c.log.Error("virtual address collision; peer ignored", "peer", k.ShortString())
		return nil
	}
	if !known {
		if c.unknown >= maxUnknownPeers {
			c.evictUnknownLocked()
		}
		c.unknown++
	}
	p := &peer{
		key:     k,
		vip:     vip,
		vaddr:   &net.UDPAddr{IP: vip.AsSlice(), Port: vaddrPort},
		known:   known,
		created: now,
		cands:   make(map[netip.AddrPort]*candidate),
	}
	p.route.Store(emptyRoute)
	c.peers[k] = p
	c.peerList = append(c.peerList, p)
	c.byVIP[vip] = p
	return p
}

// lastActive returns when p last carried QUIC traffic, or was created.
func (p *peer) lastActive() mono {
	return max(p.created, mono(p.lastSend.Load()), mono(p.lastRecv.Load()))
}

func (c *Conn) evictUnknownLocked() {
	var victim *peer
	for _, p := range c.peers {
		if !p.known && (victim == nil || p.lastActive() < victim.lastActive()) {
			victim = p
		}
	}
	if victim != nil {
		c.removePeerLocked(victim)
	}
}

func (c *Conn) removePeerLocked(p *peer) {
	delete(c.peers, p.key)
	if i := slices.Index(c.peerList, p); i >= 0 {
		c.peerList = slices.Delete(c.peerList, i, i+1)
	}
	delete(c.byVIP, p.vip)
	for a := range p.cands {
		if c.byAddr[a] == p {
			delete(c.byAddr, a)
		}
	}
	for tx, pp := range c.pings {
		if pp.peer == p.key {
			delete(c.pings, tx)
		}
	}
	if !p.known {
		c.unknown--
	}
	p.route.Store(emptyRoute)
}

// candLocked returns p's candidate at a, adding it if needed and there is
// room (told candidates always make room). It returns nil if full.
func (c *Conn) candLocked(p *peer, a netip.AddrPort, told bool, now mono) *candidate {
	if cd := p.cands[a]; cd != nil {
		return cd
	}
	if len(p.cands) >= maxCandidates {
		var victim *candidate
		for _, cd := range p.cands {
			if cd.told || cd == p.best {
				continue
			}
			if victim == nil || cd.heard() < victim.heard() {
				victim = cd
			}
		}
		if victim == nil || !told && victim.heard() > now-mono(c.t.trust) {
			return nil
		}
		c.removeCandLocked(p, victim)
	}
	cd := &candidate{addr: a, ua: net.UDPAddrFromAddrPort(a), added: now}
	p.cands[a] = cd
	p.restUntil = 0
	return cd
}

// heard returns when the candidate last showed life, or was added.
func (cd *candidate) heard() mono { return max(cd.added, cd.lastHeard, cd.lastPong) }

func (c *Conn) removeCandLocked(p *peer, cd *candidate) {
	delete(p.cands, cd.addr)
	p.restUntil = 0
	if c.byAddr[cd.addr] == p {
		delete(c.byAddr, cd.addr)
	}
	if p.best == cd {
		p.best = nil
	}
}

// claimAddrLocked records that disco messages from a come from p, so QUIC
// packets from a are p's. A ping (strong false) does not take an address
// another peer confirmed with a pong within the trust window: a spoofed
// ping must not divert a live path. A pong proves a round trip and
// always wins.
func (c *Conn) claimAddrLocked(a netip.AddrPort, p *peer, strong bool, now mono) {
	owner := c.byAddr[a]
	if owner == p {
		return
	}
	if owner != nil && !strong {
		if cd := owner.cands[a]; cd != nil && cd.lastPong != 0 && now-cd.lastPong < mono(c.t.trust) {
			return
		}
	}
	c.byAddr[a] = p
}

// trusted reports whether cd, a candidate of p, is trusted now: it had a
// pong within p's trust window, or data began lately on a path that was
// trusted then (trustUntil).
func (c *Conn) trusted(p *peer, cd *candidate, now mono) bool {
	return now < c.trustUntil(p, cd, now)
}

// trustUntil returns when cd, a candidate of p, stops being trusted, as
// things stand at now: a trust window after its last pong, and no
// earlier than a trust window after data began on it if it was trusted
// then. Data that begins on a calm path finds its last pong old (a
// backed-off heartbeat pings every 20 s); the shorter window of a busy
// path would drop it at once, so the path gets as long as a hot path
// does after a pong for the first heartbeats under data to be answered.
// The first answer ends that grace, so a path that dies while carrying
// data is left within the hot window like any other; one that died
// just before the data began is left a window after it began.
func (c *Conn) trustUntil(p *peer, cd *candidate, now mono) mono {
	if cd == nil || cd.lastPong == 0 {
		return 0
	}
	w := c.trustWindow(p, now)
	until := cd.lastPong + w
	if start, ok := c.dataBegan(p, w, now); ok && start < cd.lastPong+c.quietTrustWindow(p, start) {
		until = max(until, start+w)
	}
	return until
}

// dataBegan returns when data began to cross p's path, if p is busy and
// the data may be crossing it: a peer that sent us data through its relay
// within the trust window w of that moment does not trust our direct
// path, so its data is no reason to keep trusting the path either.
func (c *Conn) dataBegan(p *peer, w, now mono) (mono, bool) {
	if !c.busy(p, now) {
		return 0, false
	}
	start := now // maintenance has not seen the data yet: it began within a tick
	if p.wasBusy {
		start = p.busySince
	}
	if r := mono(p.lastRelayData.Load()); r != 0 && r > start-w {
		return 0, false
	}
	return start, true
}

// busy reports whether data (not only QUIC keepalives) crossed p's path
// lately.
func (c *Conn) busy(p *peer, now mono) bool {
	return now-mono(p.lastData.Load()) < mono(c.t.active)
}

// trustWindow is how long a pong keeps p's direct path trusted: short
// while data flows, shortest while it flows now, so a dead path is
// noticed within seconds; longer for
// a quiet peer, which is pinged less often (signing and checking disco
// messages is most of an idle node's CPU).
func (c *Conn) trustWindow(p *peer, now mono) mono {
	switch {
	case c.hot(p, now):
		return mono(c.t.hotTrust)
	case c.busy(p, now):
		return mono(c.t.trust)
	}
	return c.quietTrustWindow(p, now)
}

// hot reports whether data crossed p's path within the last few seconds
// (a transfer, a call): its path is pinged most often, so a dead one is
// left for the relay within 3 s.
func (c *Conn) hot(p *peer, now mono) bool {
	return c.t.hot > 0 && now-mono(p.lastData.Load()) < mono(c.t.hot)
}

// noteData records data to or from p; small QUIC packets (keepalives,
// acknowledgements) do not count. Data to a peer that was not busy
// kicks maintenance, whose tick may be long while every peer rests: the
// heartbeat under data starts at once.
func (c *Conn) noteData(p *peer, n int, now mono) {
	if n < dataMin {
		return
	}
	last := mono(p.lastData.Load())
	if last == now {
		return
	}
	p.lastData.Store(int64(now))
	if now-last >= mono(c.t.active) {
		c.kick()
	}
}

// clearlyBetter reports whether a path with round-trip time rtt should
// replace the current one with cur: 20% lower and at least 100µs lower, so
// that jitter does not flip between two similar paths.
func clearlyBetter(rtt, cur time.Duration) bool {
	return rtt*5 <= cur*4 && cur-rtt >= 100*time.Microsecond
}

// chooseLocked picks p's direct path among its trusted candidates: the
// current one stays unless another is clearly better. It reports whether
// the choice changed.
func (c *Conn) chooseLocked(p *peer, now mono) bool {
	old := p.best
	cur := old
	if !c.trusted(p, cur, now) {
		cur = nil
	}
	var fastest *candidate
	for _, cd := range p.cands {
		if !c.trusted(p, cd, now) {
			continue
		}
		if fastest == nil || cd.rtt < fastest.rtt || cd.rtt == fastest.rtt && cd.addr.Compare(fastest.addr) < 0 {
			fastest = cd
		}
	}
	switch {
	case fastest == nil:
		cur = nil
	case cur == nil:
		cur = fastest
	case fastest != cur && clearlyBetter(fastest.rtt, cur.rtt):
		cur = fastest
	}
	p.best = cur
	if old != cur {
		p.pathSince = now
		p.restUntil = 0
	}
	switch {
	case old == cur:
		return false
	case cur == nil:
		p.lostAt = now
		p.probeSince = now
		// An idle peer's trust runs out between its rare heartbeats:
		// not worth more than a debug line.
		level := slog.LevelDebug
		if now-p.lastActive() < mono(c.t.active) {
			level = slog.LevelInfo
		}
		c.log.Log(context.Background(), level, "direct path lost", "peer", p.key.ShortString(), "was", old.addr.String())
	case old == nil:
		p.lostAt = 0
		p.probeSince = 0
		c.log.Info("direct path", "peer", p.key.ShortString(), "addr", cur.addr.String(), "rtt", cur.rtt)
	default:
		c.log.Info("better direct path", "peer", p.key.ShortString(), "addr", cur.addr.String(), "rtt", cur.rtt, "was", old.addr.String())
	}
	return true
}

// updateRouteLocked publishes p's route for the data path.
func (c *Conn) updateRouteLocked(p *peer) {
	p.restUntil = 0 // something changed: maintenance looks again
	r := &route{}
	if b := p.best; b != nil {
		r.direct = b.addr
		r.directUA = b.ua
		r.trustUntil = c.trustUntil(p, b, c.now())
	} else if !p.member {
		// A non-member is answered only where it last spoke from.
		var last *candidate
		for _, cd := range p.cands {
			if last == nil || cd.lastHeard > last.lastHeard {
				last = cd
			}
		}
		if last != nil {
			r.spray = []candTarget{{last.addr, last.ua}}
		}
	} else {
		r.spray = make([]candTarget, 0, len(p.cands))
		for _, a := range p.told {
			if cd := p.cands[a]; cd != nil {
				r.spray = append(r.spray, candTarget{cd.addr, cd.ua})
			}
		}
		for _, cd := range p.cands {
			if !cd.told && len(r.spray) < disco.MaxEndpoints {
				r.spray = append(r.spray, candTarget{cd.addr, cd.ua})
			}
		}
	}
	primary, fallback := c.relayURLsLocked(p)
	r.relayURL = primary
	if primary != "" {
		r.relays[0] = c.relays[primary]
	}
	if fallback != "" {
		r.relays[1] = c.relays[fallback]
	}
	p.route.Store(r)
}

// relayURLsLocked returns the relays to reach p through, in order: its
// home relay (from SetPeer), then the one its packets last came through.
// A member with neither gets the meet relay (SetMeetRelay).
func (c *Conn) relayURLsLocked(p *peer) (primary, fallback string) {
	primary, fallback = p.homeRelay, p.learnedRelay
	if primary == "" {
		primary, fallback = fallback, ""
	}
	if fallback == primary {
		fallback = ""
	}
	if primary == "" && p.member {
		primary = c.meetRelay
	}
	return primary, fallback
}

// send is WriteTo's work once the peer is known.
func (c *Conn) send(p *peer, b []byte) {
	now := c.now()
	p.lastSend.Store(int64(now))
	c.noteData(p, len(b), now)
	r := p.route.Load()
	if r.direct.IsValid() && now < r.trustUntil {
		if c.writeUDP(b, r.direct, r.directUA) == nil {
			c.ctr.directTx.add(len(b))
		}
		return
	}
	if now-mono(p.lastFullPing.Load()) >= mono(c.t.retry) {
		c.kick() // look for a direct path now
	}
	if r.relayURL != "" && r.relays[0] == nil {
		r = c.ensureRelay(p)
	}
	refused := false
	for _, rc := range r.relays {
		if rc == nil || !rc.connected.Load() {
			continue
		}
		if rc.send(p.key, b, now) == nil {
			c.ctr.relayTx.add(len(b))
			return
		}
		refused = true
	}
	if refused {
		// A connected relay's queue is full: a congested link drops,
		// it does not spray every candidate.
		c.ctr.dropRelayFull.Add(1)
		return
	}
	if len(r.spray) == 0 {
		c.ctr.dropNoPath.Add(1)
		return
	}
	// No trusted path and no working relay: ping every candidate, then
	// send the packet to all of them. The receiver learns our address
	// from the ping that arrives just before the packet.
	if now-mono(p.lastFullPing.Load()) >= mono(c.t.minPingGap) {
		var out outbox
		c.mu.Lock()
		if c.peers[p.key] == p {
			c.fullPingLocked(p, now, &out)
		}
		c.mu.Unlock()
		c.flush(out)
	}
	for _, t := range r.spray {
		if c.writeUDP(b, t.addr, t.ua) == nil {
			c.ctr.directTx.add(len(b))
		}
	}
}

// ensureRelay opens the connection to p's relay, if it is missing, and
// returns p's updated route.
func (c *Conn) ensureRelay(p *peer) *route {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := p.route.Load()
	if r.relayURL != "" && c.peers[p.key] == p {
		c.relayLocked(r.relayURL)
		c.updateRouteLocked(p)
	}
	return p.route.Load()
}

// PeerAddr returns k's virtual address, the address quic-go dials and
// sees for k. It is the same for the Conn's lifetime, even across
// RemovePeer. Calling it makes k a known peer, like SetPeer with no
// candidates, if it was not one. The result must not be modified.
func (c *Conn) PeerAddr(k key.NodePublic) net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.peerLocked(k, true, c.now()); p != nil {
		return p.vaddr
	}
	// Our own key, or a collision: an address that reaches nobody.
	return &net.UDPAddr{IP: c.vipFor(k).AsSlice(), Port: vaddrPort}
}

// PeerOf returns the key whose virtual address is a.
func (c *Conn) PeerOf(a net.Addr) (key.NodePublic, bool) {
	p := c.peerByAddr(a)
	if p == nil {
		return key.NodePublic{}, false
	}
	return p.key, true
}

// SetPeer tells the Conn about peer k: its candidate direct addresses and
// its home relay, from its endpoint record or an invite. It replaces what
// an earlier SetPeer said; addresses learned from the peer's own disco
// messages stay until they go quiet. New information starts probing at
// once.
//
// SetPeer is the gate for everything the Conn sends on its own: call it
// only for admitted members (and a node the user vouched for, such as
// the inviter of a code being redeemed), since the Conn pings those
// addresses, dials that relay and pings what the peer later names in
// call-me-maybes. Any other key is only answered: a pong where its ping
// came from, QUIC packets where it last spoke from or through the relay
// it used; it is never pinged, and what it names is never contacted.
func (c *Conn) SetPeer(k key.NodePublic, direct []netip.AddrPort, homeRelay string) {
	told := make([]netip.AddrPort, 0, len(direct))
	for _, a := range direct {
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		if a.IsValid() && a.Port() != 0 && !a.Addr().IsUnspecified() && !slices.Contains(told, a) && len(told) < disco.MaxEndpoints {
			told = append(told, a)
		}
	}
	if homeRelay != "" && checkRelayURL(homeRelay) != nil {
		c.log.Warn("ignoring bad relay URL for peer", "peer", k.ShortString(), "relay", homeRelay)
		homeRelay = ""
	}
	now := c.now()
	var out outbox
	c.mu.Lock()
	p := c.peerLocked(k, true, now)
	if p == nil {
		c.mu.Unlock()
		return
	}
	changed := p.homeRelay != homeRelay || !slices.Equal(p.told, told) || !p.member
	p.member = true
	p.homeRelay = homeRelay
	p.told = told
	for _, cd := range p.cands {
		cd.told = false
	}
	for _, a := range told {
		if cd := c.candLocked(p, a, true, now); cd != nil {
			cd.told = true
		}
	}
	for _, cd := range p.cands {
		if !cd.told && cd.lastHeard == 0 && cd.lastPong == 0 {
			c.removeCandLocked(p, cd) // a stale address from an older record
		}
	}
	c.chooseLocked(p, now)
	if changed {
		if p.best == nil && p.probeSince == 0 {
			p.probeSince = now
		}
		c.fullPingLocked(p, now, &out)
		c.callMeMaybeLocked(p, now, &out)
	}
	c.updateRouteLocked(p)
	c.mu.Unlock()
	c.flush(out)
}

// RemovePeer forgets k. Packets to its virtual address are dropped until
// it is set again.
func (c *Conn) RemovePeer(k key.NodePublic) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.peers[k]; p != nil {
		c.removePeerLocked(p)
		c.kick() // maintenance forgets its disco pairs
	}
}

// Path describes how packets to k travel now.
func (c *Conn) Path(k key.NodePublic) PathInfo {
	now := c.now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := c.peers[k]
	if p == nil {
		return PathInfo{Kind: PathNone, Reason: "unknown peer"}
	}
	var lastPong mono
	for _, cd := range p.cands {
		lastPong = max(lastPong, cd.lastPong)
	}
	info := PathInfo{LastPong: c.wall(lastPong)}
	if b := p.best; c.trusted(p, b, now) {
		info.Kind = PathDirect
		info.Remote = b.addr.String()
		info.RTT = b.rtt
		return info
	}
	info.Reason = c.reasonLocked(p, now)
	r := p.route.Load()
	switch {
	case r.relayURL != "":
		info.Kind = PathRelay
		info.Remote = r.relayURL
		if rc := c.relays[r.relayURL]; rc == nil || !rc.connected.Load() {
			info.Reason += "; relay not connected yet"
		}
	default:
		info.Kind = PathNone
		if len(p.cands) > 0 {
			info.Reason += "; no relay, trying every address"
		} else {
			info.Reason += "; no relay"
		}
	}
	return info
}

// reasonLocked explains, in one line, why p has no direct path.
func (c *Conn) reasonLocked(p *peer, now mono) string {
	if len(p.cands) == 0 {
		return "peer has no direct addresses"
	}
	// p.best is set while its trust ran out just now, before the
	// maintenance loop noticed.
	if p.best != nil || p.lostAt != 0 && now-p.lostAt < mono(c.t.lostReason) {
		return fmt.Sprintf("direct path lost (no pong for %v)", time.Duration(c.trustWindow(p, now)))
	}
	selfAD := c.mappingV4 == stun.MappingAddressDependent
	peerAD := addressDependent(p.told)
	switch {
	case selfAD && peerAD:
		return "both nodes are behind address-dependent NATs"
	case peerAD:
		return "peer behind address-dependent NAT"
	case selfAD:
		return "this node is behind an address-dependent NAT"
	}
	if p.probeSince == 0 || now-p.probeSince < mono(2*c.t.retry) {
		return "no direct path answered yet"
	}
	return fmt.Sprintf("no direct path answered (%d addresses tried)", len(p.cands))
}

// addressDependent reports whether a peer's advertised addresses show an
// address-dependent NAT: one public IP seen with different ports by
// different STUN servers or peers.
func addressDependent(eps []netip.AddrPort) bool {
	for i, a := range eps {
		if a.Addr().IsPrivate() || a.Addr().IsLoopback() || a.Addr().IsLinkLocalUnicast() {
			continue
		}
		for _, b := range eps[i+1:] {
			if a.Addr() == b.Addr() && a.Port() != b.Port() {
				return true
			}
		}
	}
	return false
}
