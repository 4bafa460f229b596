package natlab

import (
	"fmt"
	"net/netip"
	"time"
)

// Behavior is how a NAT's mapping or filtering depends on the remote
// endpoint (RFC 4787 sections 4.1 and 5).
type Behavior int

const (
	// EndpointIndependent: the same for every remote endpoint.
	EndpointIndependent Behavior = iota
	// AddressDependent: depends on the remote IP address.
	AddressDependent
	// AddressAndPortDependent: depends on the remote IP address and port.
	AddressAndPortDependent
)

// String names the behaviour.
func (b Behavior) String() string {
	switch b {
	case EndpointIndependent:
		return "endpoint-independent"
	case AddressDependent:
		return "address-dependent"
	case AddressAndPortDependent:
		return "address-and-port-dependent"
	}
	return fmt.Sprintf("Behavior(%d)", int(b))
}

// NATConfig describes a NAT.
type NATConfig struct {
	Mapping   Behavior
	Filtering Behavior
	// MappingTimeout is how long a mapping lives without outbound
	// traffic. Default DefaultMappingTimeout.
	MappingTimeout time.Duration
}

// DefaultMappingTimeout is the default lifetime of an idle mapping.
const DefaultMappingTimeout = 2 * time.Minute

// Presets of the usual NATs.
var (
	// EasyNAT maps and filters independently of the endpoint ("full
	// cone"): anything can reach a mapping once it exists.
	EasyNAT = NATConfig{Mapping: EndpointIndependent, Filtering: EndpointIndependent}
	// PortRestrictedNAT keeps one mapping per socket but lets in only
	// endpoints the socket sent to ("port-restricted cone", most home
	// routers).
	PortRestrictedNAT = NATConfig{Mapping: EndpointIndependent, Filtering: AddressAndPortDependent}
	// AddressDependentNAT opens a new mapping per destination IP and
	// filters by IP.
	AddressDependentNAT = NATConfig{Mapping: AddressDependent, Filtering: AddressDependent}
	// SymmetricNAT opens a new mapping per destination ip:port and
	// filters by ip:port (carrier-grade and enterprise NATs).
	SymmetricNAT = NATConfig{Mapping: AddressAndPortDependent, Filtering: AddressAndPortDependent}
)

// NAT translates between a LAN of private IPv4 addresses and one public
// IPv4 address.
type NAT struct {
	net    *Network
	name   string
	public netip.Addr
	cfg    NATConfig

	// Guarded by net.mu.
	lan            map[netip.Addr]*Host
	byKey          map[natKey]*mapping
	byPort         map[uint16]*mapping
	nextPort       uint16
	nextStreamPort uint16
	resets         int
}

type natKey struct {
	inside netip.AddrPort
	remote netip.AddrPort // zeroed in part or whole by the mapping behaviour
}

type mapping struct {
	inside    netip.AddrPort
	port      uint16
	lastOut   time.Time
	sentIPs   map[netip.Addr]struct{}
	sentPorts map[netip.AddrPort]struct{}
}

// firstPort is where a NAT starts allocating outside ports.
const firstPort = 20000

// NewNAT adds a NAT with the routable IPv4 address public.
func (n *Network) NewNAT(name string, public netip.Addr, cfg NATConfig) *NAT {
	if cfg.MappingTimeout <= 0 {
		cfg.MappingTimeout = DefaultMappingTimeout
	}
	nat := &NAT{
		net:      n,
		name:     name,
		public:   public.Unmap(),
		cfg:      cfg,
		lan:      make(map[netip.Addr]*Host),
		byKey:    make(map[natKey]*mapping),
		byPort:   make(map[uint16]*mapping),
		nextPort: firstPort,
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nats[nat.public] = nat
	return nat
}

// Public returns the NAT's public address.
func (nat *NAT) Public() netip.Addr { return nat.public }

// NewHost adds a host on the NAT's LAN with the given addresses: private
// IPv4 ones are translated, others (IPv6) are routed as they are.
func (nat *NAT) NewHost(name string, ips ...netip.Addr) *Host {
	h := &Host{net: nat.net, name: name, conns: make(map[uint16]*Conn), nextPort: 40000}
	nat.net.mu.Lock()
	defer nat.net.mu.Unlock()
	h.attachLocked(nat, ips)
	return h
}

// Reset forgets every mapping and allocates new ports from now on, as a
// NAT that rebooted or a changed mobile network would: every inside
// socket appears at a new outside port.
func (nat *NAT) Reset() {
	nat.net.mu.Lock()
	defer nat.net.mu.Unlock()
	nat.resets++
	clear(nat.byKey)
	clear(nat.byPort)
	nat.nextPort = firstPort + uint16(nat.resets)*1000
}

// Mappings returns how many live mappings the NAT holds.
func (nat *NAT) Mappings() int {
	nat.net.mu.Lock()
	defer nat.net.mu.Unlock()
	return len(nat.byPort)
}

func (nat *NAT) keyFor(inside, remote netip.AddrPort) natKey {
	k := natKey{inside: inside}
	switch nat.cfg.Mapping {
	case AddressDependent:
		k.remote = netip.AddrPortFrom(remote.Addr(), 0)
	case AddressAndPortDependent:
		k.remote = remote
	}
	return k
}

func (nat *NAT) expired(m *mapping, now time.Time) bool {
	return now.Sub(m.lastOut) > nat.cfg.MappingTimeout
}

// outboundLocked translates the source of a packet leaving the LAN.
func (nat *NAT) outboundLocked(src, dst netip.AddrPort, now time.Time) netip.AddrPort {
	k := nat.keyFor(src, dst)
	m := nat.byKey[k]
	if m != nil && nat.expired(m, now) {
		delete(nat.byKey, k)
		delete(nat.byPort, m.port)
		m = nil
	}
	if m == nil {
		m = &mapping{
			inside:    src,
			port:      nat.allocPortLocked(),
			sentIPs:   make(map[netip.Addr]struct{}),
			sentPorts: make(map[netip.AddrPort]struct{}),
		}
		nat.byKey[k] = m
		nat.byPort[m.port] = m
	}
	m.lastOut = now
	m.sentIPs[dst.Addr()] = struct{}{}
	m.sentPorts[dst] = struct{}{}
	return netip.AddrPortFrom(nat.public, m.port)
}

func (nat *NAT) allocPortLocked() uint16 {
	for {
		p := nat.nextPort
		nat.nextPort++
		if nat.nextPort == 0 {
			nat.nextPort = firstPort
		}
		if nat.byPort[p] == nil {
			return p
		}
	}
}

// inboundLocked returns the inside address a packet from src to the
// public address dst goes to, if the NAT lets it in.
func (nat *NAT) inboundLocked(src, dst netip.AddrPort, now time.Time) (netip.AddrPort, bool) {
	m := nat.byPort[dst.Port()]
	if m == nil || nat.expired(m, now) {
		return netip.AddrPort{}, false
	}
	switch nat.cfg.Filtering {
	case AddressDependent:
		if _, ok := m.sentIPs[src.Addr()]; !ok {
			return netip.AddrPort{}, false
		}
	case AddressAndPortDependent:
		if _, ok := m.sentPorts[src]; !ok {
			return netip.AddrPort{}, false
		}
	}
	return m.inside, true
}
