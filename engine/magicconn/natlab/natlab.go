// Package natlab simulates a small internet in memory, for tests of code
// that finds paths through NATs.
//
// A Network is one switch that every packet crosses. Hosts sit either
// directly on it, with routable addresses, or behind a NAT, on the NAT's
// LAN with private IPv4 addresses (their IPv6 addresses, if any, are
// routable: NATs here only translate IPv4). Host.Listen opens a UDP-like
// socket, a *Conn, which implements net.PacketConn and the allocation-free
// ReadFromUDPAddrPort and WriteToUDPAddrPort of *net.UDPConn.
//
// A NAT maps an inside socket to an outside port according to its
// Mapping behaviour (RFC 4787): endpoint-independent (one port for every
// destination), address-dependent (one port per destination IP) or
// address-and-port-dependent (one port per destination ip:port, "symmetric").
// Its Filtering behaviour decides which outside packets reach a mapping:
// any (endpoint-independent), only from IPs it sent to (address-dependent),
// or only from ip:ports it sent to (address-and-port-dependent). The
// presets EasyNAT, PortRestrictedNAT, AddressDependentNAT and SymmetricNAT
// cover the usual cases. Reset forgets every mapping and moves to new ports, as a
// rebooted NAT or a mobile network change would.
//
// Host.ListenStream and Host.DialContext carry TCP-like streams (see
// stream.go), so that servers such as a relay run in memory too. Every
// wait is on a channel, so tests can run the whole network inside a
// testing/synctest bubble, on virtual time.
//
// Rules (AddRule, Block) drop packets on the wire, to cut a path and
// restore it. A packet is routed in the sender's goroutine and queued on
// the receiving socket at once, or after the network's latency
// (SetLatency), and dropped when that queue is full, as a kernel would.
// Everything takes one lock; the simulation is for correctness, not speed.
package natlab

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxPayload is the largest UDP payload a Network carries by
// default: a 1500-byte IPv4 MTU minus 28 bytes of headers.
const DefaultMaxPayload = 1472

// rxQueueLen is how many datagrams wait on one socket before more are
// dropped.
const rxQueueLen = 512

// bufSize is the size of pooled packet buffers; larger packets are never
// carried (see DefaultMaxPayload).
const bufSize = 2048

// Errors returned by Conn methods.
var (
	// ErrNoRoute is returned when sending to an address family the host
	// has no address of.
	ErrNoRoute = errors.New("natlab: network is unreachable")
	// ErrPortInUse is returned by Listen for a port already open.
	ErrPortInUse = errors.New("natlab: port in use")
)

// Stats counts what a Network did with packets.
type Stats struct {
	Delivered      uint64 // queued on a socket
	DroppedRule    uint64 // matched a drop rule
	DroppedNoRoute uint64 // no host or NAT owns the destination, or no socket on the port
	DroppedFilter  uint64 // refused by a NAT's filtering, or no mapping for the port
	DroppedQueue   uint64 // the receiving socket's queue was full
	DroppedTooBig  uint64 // larger than the network's maximum payload
}

type counters struct {
	delivered, rule, noRoute, filter, queue, tooBig atomic.Uint64
}

// Network is a simulated internet. Its methods are safe for concurrent use.
type Network struct {
	pool sync.Pool // *[]byte of bufSize
	ctr  counters

	mu         sync.Mutex // before Conn.wireMu
	maxPayload int
	latency    time.Duration
	ifaces     map[netip.Addr]*Host // routable addresses
	nats       map[netip.Addr]*NAT  // NAT public addresses
	rules      map[int]func(src, dst netip.AddrPort) bool
	nextRule   int
}

// NewNetwork returns an empty network that carries UDP payloads of up to
// DefaultMaxPayload bytes.
func NewNetwork() *Network {
	n := &Network{
		maxPayload: DefaultMaxPayload,
		ifaces:     make(map[netip.Addr]*Host),
		nats:       make(map[netip.Addr]*NAT),
		rules:      make(map[int]func(src, dst netip.AddrPort) bool),
	}
	n.pool.New = func() any {
		b := make([]byte, bufSize)
		return &b
	}
	return n
}

// SetMaxPayload changes the largest UDP payload carried (at most 2048).
func (n *Network) SetMaxPayload(size int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.maxPayload = min(size, bufSize)
}

// SetLatency makes every datagram take d from its socket to the one it
// is for (0, the default: delivered at once), and every stream Write take
// d. Links with no delay have round trips of zero on a synctest bubble's
// clock, which protocols that measure round trips do not expect.
func (n *Network) SetLatency(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.latency = max(d, 0)
}

// Latency returns the delay set by SetLatency.
func (n *Network) Latency() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.latency
}

// Stats returns the network's counters.
func (n *Network) Stats() Stats {
	return Stats{
		Delivered:      n.ctr.delivered.Load(),
		DroppedRule:    n.ctr.rule.Load(),
		DroppedNoRoute: n.ctr.noRoute.Load(),
		DroppedFilter:  n.ctr.filter.Load(),
		DroppedQueue:   n.ctr.queue.Load(),
		DroppedTooBig:  n.ctr.tooBig.Load(),
	}
}

// AddRule drops every packet for which drop returns true; drop sees
// the packet's source and destination as they are on the wire (after
// NAT translation for packets between the internet and a NAT, private for
// packets within a LAN). It is called with the network's lock held and
// must not call back into the network. The returned function removes the
// rule.
func (n *Network) AddRule(drop func(src, dst netip.AddrPort) bool) (remove func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	id := n.nextRule
	n.nextRule++
	n.rules[id] = drop
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.rules, id)
	}
}

// Block drops every packet between the addresses a and b, both ways, and
// returns the function that lifts the block.
func (n *Network) Block(a, b netip.Addr) (remove func()) {
	return n.AddRule(func(src, dst netip.AddrPort) bool {
		s, d := src.Addr(), dst.Addr()
		return (s == a && d == b) || (s == b && d == a)
	})
}

// NewHost adds a host reachable at ips, which must be unused routable
// addresses.
func (n *Network) NewHost(name string, ips ...netip.Addr) *Host {
	h := &Host{net: n, name: name, conns: make(map[uint16]*Conn), nextPort: 40000}
	n.mu.Lock()
	defer n.mu.Unlock()
	h.attachLocked(nil, ips)
	return h
}

// dropLocked applies the rules.
func (n *Network) dropLocked(src, dst netip.AddrPort) bool {
	for _, drop := range n.rules {
		if drop(src, dst) {
			n.ctr.rule.Add(1)
			return true
		}
	}
	return false
}

// routeLocked carries a packet sent by from, from its socket address src.
func (n *Network) routeLocked(from *Host, src, dst netip.AddrPort, b []byte, now time.Time) {
	if nat := from.nat; nat != nil && src.Addr().Is4() {
		if h := nat.lan[dst.Addr()]; h != nil {
			if !n.dropLocked(src, dst) {
				n.deliverLocked(h, src, dst, b, now)
			}
			return
		}
		src = nat.outboundLocked(src, dst, now)
	}
	if n.dropLocked(src, dst) {
		return
	}
	if h := n.ifaces[dst.Addr()]; h != nil {
		n.deliverLocked(h, src, dst, b, now)
		return
	}
	nat := n.nats[dst.Addr()]
	if nat == nil {
		n.ctr.noRoute.Add(1)
		return
	}
	inside, ok := nat.inboundLocked(src, dst, now)
	if !ok {
		n.ctr.filter.Add(1)
		return
	}
	h := nat.lan[inside.Addr()]
	if h == nil {
		n.ctr.noRoute.Add(1)
		return
	}
	n.deliverLocked(h, src, inside, b, now)
}

// deliverLocked queues a copy of b on h's socket at dst's port, at once
// or once the network's latency has passed.
func (n *Network) deliverLocked(h *Host, src, dst netip.AddrPort, b []byte, now time.Time) {
	c := h.conns[dst.Port()]
	if c == nil {
		n.ctr.noRoute.Add(1)
		return
	}
	bp := n.pool.Get().(*[]byte)
	d := datagram{bp: bp, n: copy(*bp, b), src: src}
	if n.latency > 0 {
		c.arriveAt(d, now.Add(n.latency))
		return
	}
	n.enqueue(c, d)
}

// enqueue puts d on c's queue, or drops it when the queue is full.
func (n *Network) enqueue(c *Conn, d datagram) {
	select {
	case c.rx <- d:
		n.ctr.delivered.Add(1)
	default:
		n.pool.Put(d.bp)
		n.ctr.queue.Add(1)
	}
}

// Host is a machine with one or more addresses, on the internet or behind
// a NAT.
type Host struct {
	net  *Network
	name string

	// Guarded by net.mu.
	ips            []netip.Addr
	nat            *NAT // nil when on the internet
	conns          map[uint16]*Conn
	streams        map[uint16]*Listener
	nextPort       uint16
	nextStreamPort uint16
}

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// IPs returns the host's addresses.
func (h *Host) IPs() []netip.Addr {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	return append([]netip.Addr(nil), h.ips...)
}

// Move detaches the host from where it was and attaches it to nat (nil:
// the internet) with the addresses ips. Its sockets stay open with their
// ports; packets sent to its old addresses are lost from now on.
func (h *Host) Move(nat *NAT, ips ...netip.Addr) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	h.detachLocked()
	h.attachLocked(nat, ips)
}

func (h *Host) attachLocked(nat *NAT, ips []netip.Addr) {
	h.nat = nat
	h.ips = nil
	for _, ip := range ips {
		ip = ip.Unmap()
		h.ips = append(h.ips, ip)
		if nat != nil && ip.Is4() {
			nat.lan[ip] = h
		} else {
			h.net.ifaces[ip] = h
		}
	}
}

func (h *Host) detachLocked() {
	for _, ip := range h.ips {
		if h.nat != nil && ip.Is4() {
			delete(h.nat.lan, ip)
		} else {
			delete(h.net.ifaces, ip)
		}
	}
	h.ips = nil
	h.nat = nil
}

// sourceLocked returns the host's first address of dst's family.
func (h *Host) sourceLocked(dst netip.Addr) (netip.Addr, bool) {
	for _, ip := range h.ips {
		if ip.Is4() == dst.Is4() {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// Listen opens a socket on port (0 picks a free one) on all the host's
// addresses.
func (h *Host) Listen(port uint16) (*Conn, error) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	if port == 0 {
		for h.conns[h.nextPort] != nil {
			h.nextPort++
		}
		port = h.nextPort
		h.nextPort++
	}
	if h.conns[port] != nil {
		return nil, fmt.Errorf("natlab: %s: listen on %d: %w", h.name, port, ErrPortInUse)
	}
	c := newConn(h, port)
	h.conns[port] = c
	return c, nil
}

func (h *Host) removeConn(c *Conn) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	if h.conns[c.port] == c {
		delete(h.conns, c.port)
	}
}
