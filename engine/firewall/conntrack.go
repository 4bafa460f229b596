package firewall

import (
	"sync"
	"sync/atomic"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

// Connection tracking.
//
// A flow is keyed from this host's side (local address and port, remote
// address and port, protocol), so a packet finds its flow the same way in
// either direction. Every flow belongs to the peer it was opened with; a
// packet that matches the key but comes from another peer does not belong
// to it (see Firewall).
//
// Flows live in a slab of fixed-size chunks addressed by int32 index, so a
// flow never moves and creating one does not allocate once the slab has
// grown to its working size. Two intrusive lists order the flows: one over
// all flows and one per peer. They are FIFO queues with a second chance
// (the CLOCK algorithm): when a cap is reached the flow at the head is
// evicted unless it carried traffic since it was queued, in which case it
// moves to the tail and the next one is considered. An attacker who opens
// many flows thus pushes out its own idle flows before anyone's busy ones.
//
// Locking: mu guards the index, the slab layout, the lists and the peer
// table. The per-packet path holds it for reading and updates a flow's
// atomic fields only; creating, re-owning and removing flows take it for
// writing.

const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
	// maxSecondChances bounds the flows one eviction may requeue.
	maxSecondChances = 8
	none             = int32(-1)
)

// flowKey identifies a flow from this host's side. IPv4 addresses are
// stored IPv4-mapped.
type flowKey struct {
	local, remote [16]byte
	lport, rport  uint16
	proto         uint8
}

// keyFor returns the key of the flow info belongs to; dir is the packet's
// direction.
func keyFor(dir Direction, info *packet.Info) flowKey {
	k := flowKey{proto: info.Proto}
	if dir == Out {
		k.local, k.remote = info.Src.As16(), info.Dst.As16()
		k.lport, k.rport = info.SrcPort, info.DstPort
	} else {
		k.local, k.remote = info.Dst.As16(), info.Src.As16()
		k.lport, k.rport = info.DstPort, info.SrcPort
	}
	return k
}

// flow state bits.
const (
	finLocal  = 1 << iota // this host sent a FIN
	finRemote             // the peer sent a FIN
	closing               // closeAt is set: the flow ends then
)

type link struct {
	prev, next int32
	// queued is when the flow entered its place in the queue.
	queued int64
}

type flow struct {
	// Set under the write lock, read under the read lock.
	key     flowKey
	peer    key.NodePublic
	origin  Direction // direction of the packet that opened the flow
	timeout int64     // idle timeout in nanoseconds
	inUse   bool
	all     link // in conntrack.all; all.next links the free list
	byPeer  link // in the peer's list

	// Updated by the per-packet path under the read lock.
	lastSeen atomic.Int64
	closeAt  atomic.Int64 // valid once state has closing
	state    atomic.Uint32
	gen      atomic.Uint64 // policy generation the flow was last checked against
}

func (f *flow) expired(now int64) bool {
	if f.state.Load()&closing != 0 && now >= f.closeAt.Load() {
		return true
	}
	return now-f.lastSeen.Load() >= f.timeout
}

// closeBy schedules the flow's end; an earlier schedule stands.
func (f *flow) closeBy(deadline int64) {
	if f.state.Load()&closing != 0 {
		return
	}
	f.closeAt.Store(deadline)
	f.state.Or(closing)
}

// touch records a packet of the flow going in direction dir.
func (f *flow) touch(dir Direction, info *packet.Info, now, linger int64) {
	if now > f.lastSeen.Load() {
		f.lastSeen.Store(now)
	}
	if info.Proto != packet.ProtoTCP {
		return
	}
	switch {
	case info.TCPFlags&packet.TCPRst != 0:
		f.closeBy(now + linger)
	case info.TCPFlags&packet.TCPFin != 0:
		bit := uint32(finRemote)
		if dir == Out {
			bit = finLocal
		}
		if (f.state.Or(bit)|bit)&(finLocal|finRemote) == finLocal|finRemote {
			f.closeBy(now + linger)
		}
	}
}

type list struct {
	head, tail int32
	n          int
}

func newList() list { return list{head: none, tail: none} }

type timeouts struct {
	tcp, udp, icmp, other, linger int64
}

func (t *timeouts) idle(proto uint8) int64 {
	switch proto {
	case packet.ProtoTCP:
		return t.tcp
	case packet.ProtoUDP:
		return t.udp
	case packet.ProtoICMPv4, packet.ProtoICMPv6:
		return t.icmp
	}
	return t.other
}

type conntrack struct {
	maxTotal, maxPerPeer int
	timeouts

	evicted atomic.Uint64

	mu     sync.RWMutex
	index  map[flowKey]int32
	chunks [][]flow
	size   int32 // slots ever handed out
	free   int32 // head of the free list
	all    list
	peers  map[key.NodePublic]*list
}

func newConntrack(maxTotal, maxPerPeer int, t timeouts) *conntrack {
	return &conntrack{
		maxTotal:   maxTotal,
		maxPerPeer: maxPerPeer,
		timeouts:   t,
		index:      make(map[flowKey]int32),
		free:       none,
		all:        newList(),
		peers:      make(map[key.NodePublic]*list),
	}
}

func (ct *conntrack) at(i int32) *flow { return &ct.chunks[i>>chunkBits][i&(chunkSize-1)] }

func (ct *conntrack) link(i int32, byPeer bool) *link {
	if byPeer {
		return &ct.at(i).byPeer
	}
	return &ct.at(i).all
}

func (ct *conntrack) pushBack(l *list, i int32, byPeer bool, now int64) {
	lk := ct.link(i, byPeer)
	lk.prev, lk.next, lk.queued = l.tail, none, now
	if l.tail != none {
		ct.link(l.tail, byPeer).next = i
	} else {
		l.head = i
	}
	l.tail = i
	l.n++
}

func (ct *conntrack) unlink(l *list, i int32, byPeer bool) {
	lk := ct.link(i, byPeer)
	if lk.prev != none {
		ct.link(lk.prev, byPeer).next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != none {
		ct.link(lk.next, byPeer).prev = lk.prev
	} else {
		l.tail = lk.prev
	}
	lk.prev, lk.next = none, none
	l.n--
}

// ctResult is what the per-packet lookup found.
type ctResult uint8

const (
	ctMiss      ctResult = iota // no live flow
	ctHit                       // the packet belongs to a live flow of its peer
	ctOtherPeer                 // a live flow with this key belongs to another peer
	ctRevoked                   // the flow's peer matches but the policy no longer allows it
	ctRestart                   // a new SYN on a closing TCP flow
)

// check looks the packet up and, on a hit, records it. dir is the
// packet's direction. It does not allocate.
func (ct *conntrack) check(k *flowKey, peer *key.NodePublic, dir Direction, info *packet.Info,
	now int64, pol *policy, nets NetSet) ctResult {
	ct.mu.RLock()
	defer ct.mu.RUnlock()
	i, ok := ct.index[*k]
	if !ok {
		return ctMiss
	}
	f := ct.at(i)
	if f.expired(now) {
		return ctMiss
	}
	if f.peer != *peer {
		return ctOtherPeer
	}
	if info.Proto == packet.ProtoTCP && info.TCPFlags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn &&
		f.state.Load()&closing != 0 {
		return ctRestart
	}
	if g := f.gen.Load(); g != pol.gen {
		if !pol.allowsFlow(f, peer, nets) {
			return ctRevoked
		}
		f.gen.Store(pol.gen)
	}
	f.touch(dir, info, now, ct.linger)
	return ctHit
}

// related reports whether the ICMP error info, going in direction dir,
// quotes a packet of a live flow of peer that the error's destination
// sent. It does not touch the flow: errors do not keep flows alive.
func (ct *conntrack) related(dir Direction, info *packet.Info, peer *key.NodePublic, now int64) bool {
	q := &info.Quote
	if !q.Valid || q.Src != info.Dst {
		return false
	}
	// The quoted packet went the other way: keyFor with dir reversed.
	k := flowKey{proto: q.Proto, local: q.Src.As16(), remote: q.Dst.As16(), lport: q.SrcPort, rport: q.DstPort}
	if dir == Out {
		k.local, k.remote, k.lport, k.rport = k.remote, k.local, k.rport, k.lport
	}
	ct.mu.RLock()
	defer ct.mu.RUnlock()
	i, ok := ct.index[k]
	if !ok {
		return false
	}
	f := ct.at(i)
	return f.peer == *peer && !f.expired(now)
}

// track records the packet as opening a flow of peer (or restarting the
// flow with its key), origin being the packet's direction. It fails only
// for an inbound packet whose key belongs to another peer's live flow.
func (ct *conntrack) track(k *flowKey, peer *key.NodePublic, origin Direction, info *packet.Info,
	now int64, gen uint64) bool {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if i, ok := ct.index[*k]; ok {
		f := ct.at(i)
		if origin == In && f.peer != *peer && !f.expired(now) {
			return false
		}
		ct.removeLocked(i)
	}
	if l := ct.peers[*peer]; l != nil && l.n >= ct.maxPerPeer {
		ct.evictLocked(l, true, now)
	}
	if ct.all.n >= ct.maxTotal {
		ct.evictLocked(&ct.all, false, now)
	}
	i := ct.allocLocked()
	f := ct.at(i)
	f.key = *k
	f.peer = *peer
	f.origin = origin
	f.timeout = ct.idle(k.proto)
	f.inUse = true
	f.lastSeen.Store(now)
	f.closeAt.Store(0)
	f.state.Store(0)
	f.gen.Store(gen)
	ct.index[*k] = i
	ct.pushBack(&ct.all, i, false, now)
	l := ct.peers[*peer]
	if l == nil {
		nl := newList()
		l = &nl
		ct.peers[*peer] = l
	}
	ct.pushBack(l, i, true, now)
	f.touch(origin, info, now, ct.linger)
	return true
}

// forget removes the flow with key k if it belongs to peer.
func (ct *conntrack) forget(k *flowKey, peer *key.NodePublic) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if i, ok := ct.index[*k]; ok && ct.at(i).peer == *peer {
		ct.removeLocked(i)
	}
}

func (ct *conntrack) allocLocked() int32 {
	if ct.free != none {
		i := ct.free
		ct.free = ct.at(i).all.next
		return i
	}
	i := ct.size
	if int(i>>chunkBits) == len(ct.chunks) {
		ct.chunks = append(ct.chunks, make([]flow, chunkSize))
	}
	ct.size++
	return i
}

func (ct *conntrack) removeLocked(i int32) {
	f := ct.at(i)
	ct.unlink(&ct.all, i, false)
	if l := ct.peers[f.peer]; l != nil {
		ct.unlink(l, i, true)
		if l.n == 0 {
			delete(ct.peers, f.peer)
		}
	}
	delete(ct.index, f.key)
	f.inUse = false
	f.all.next = ct.free
	ct.free = i
}

// evictLocked makes room in l (the list of all flows, or a peer's): it
// removes the first expired or idle flow from the head, giving busy flows
// a bounded number of second chances.
func (ct *conntrack) evictLocked(l *list, byPeer bool, now int64) {
	for tries := 0; l.n > 0; tries++ {
		i := l.head
		f := ct.at(i)
		if f.expired(now) {
			ct.removeLocked(i)
			return
		}
		if lk := ct.link(i, byPeer); tries < maxSecondChances && f.lastSeen.Load() > lk.queued {
			ct.unlink(l, i, byPeer)
			ct.pushBack(l, i, byPeer, now)
			continue
		}
		ct.removeLocked(i)
		ct.evicted.Add(1)
		return
	}
}

// expire removes every expired flow and returns how many it removed.
func (ct *conntrack) expire(now int64) int {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	n := 0
	for i := ct.all.head; i != none; {
		next := ct.at(i).all.next
		if ct.at(i).expired(now) {
			ct.removeLocked(i)
			n++
		}
		i = next
	}
	return n
}

// forgetPeer removes every flow of peer.
func (ct *conntrack) forgetPeer(peer key.NodePublic) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	l := ct.peers[peer]
	for l != nil && l.n > 0 {
		ct.removeLocked(l.head)
	}
}

func (ct *conntrack) len() int {
	ct.mu.RLock()
	defer ct.mu.RUnlock()
	return ct.all.n
}
