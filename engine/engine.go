// Package engine is the rayfish node: its lifecycle, the per-peer QUIC
// connections, the membership state and the control protocol. The data
// plane (engine/dataplane) moves the packets: the engine tells it who the
// peers are, which addresses route to them, and how to reach each one.
//
// The control plane (rosters, joins, leaves, endpoint records) runs on a
// QUIC stream per connection and never touches the data path's locks
// except to install a new routing table.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/engine/dataplane"
	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/history"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/magicconn"
	"github.com/rayfish/rayfish/engine/magicdns"
	"github.com/rayfish/rayfish/engine/mdns"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/engine/portmap"
	"github.com/rayfish/rayfish/engine/relay"
)

// DefaultPort is rayfish's UDP port.
const DefaultPort = 41383

// QUIC packet sizing. Every QUIC packet is at least initialPacketSize
// bytes of UDP payload (1448 bytes on IPv6, inside a 1500 or PPPoE 1492
// link), and quic-go reserves datagramOverhead of it for the short header,
// the largest connection id, the AEAD tag and the DATAGRAM frame header.
// The TUN MTU is what is left, so every packet the TUN accepts fits one
// datagram from the first packet on.
const (
	initialPacketSize = 1400
	datagramOverhead  = 1 + 20 + 16 + 3
	// TUNMTU is the MTU of the TUN device.
	TUNMTU = initialPacketSize - datagramOverhead
)

// NetConfigurator applies the overlay addresses to the OS. The daemon
// passes the platform implementation; tests pass nil.
type NetConfigurator interface {
	// Apply sets the TUN's addresses (each with its overlay prefix), MTU
	// and brings it up. It is called again when the set changes.
	Apply(addrs []netip.Prefix) error
	// Down takes the TUN down (standby): the OS answers "network
	// unreachable" instead of sending into a dead tunnel.
	Down() error
}

// Config configures an Engine.
type Config struct {
	// StateDir holds the node key and state; created 0700.
	StateDir string
	// ListenPort is the UDP port; DefaultPort if 0, and a random port if
	// that one is taken. -1 asks for a random port.
	ListenPort int
	// ListenAddr restricts the socket to one address (tests); empty = all.
	ListenAddr netip.Addr
	// ListenPacket, if set, opens the engine's UDP socket instead of the
	// OS, on the port ListenPort asks for (0: any): tests run engines on
	// a simulated network (magicconn/natlab) with it.
	ListenPacket func(port uint16) (net.PacketConn, error)
	// TUN is the tunnel device; the engine owns it from Start on.
	TUN tun.Device
	// Net applies addresses to the OS; nil skips it.
	Net NetConfigurator
	// Hostname overrides the OS hostname.
	Hostname string
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
	// Endpoints overrides the advertised direct addresses (tests); by
	// default the host's interface addresses with the listen port.
	Endpoints func() []netip.AddrPort
	// DisableBulk keeps IP packets in QUIC datagrams (no bulk channel).
	DisableBulk bool
	// DisableMDNS turns LAN discovery off whatever the preference says
	// (in-process tests must not send multicast on the host's links).
	DisableMDNS bool
	// PortMap lets the engine map its UDP port on the default gateway
	// when the portmap preference is on (`ray daemon` sets it unless
	// --no-portmap; off in in-process tests, which must never ask a real
	// gateway). PortMapGateway overrides how the gateway is found.
	PortMap        bool
	PortMapGateway func() (gw, self netip.Addr, err error)
	// Audit receives audit events (peer connects, membership); nil = off.
	Audit *audit.Log
	// LogLines returns the daemon's recent log lines, for reports.
	LogLines func() []string
	// DNSInfo describes the OS DNS integration, for reports.
	DNSInfo func() string
	// DNSHealth says whether the OS resolver points at magic DNS, for
	// status and netcheck (nil: not reported). It is called without
	// engine locks and must be cheap (cache what it reads).
	DNSHealth func() apitype.DNSHealth
	// Relays are relay URLs to use (`ray daemon --relay`), before the
	// ones set with `ray config set relay`.
	Relays []string
	// RelayOptions configure relay connections (tests: RootCAs, dialer).
	RelayOptions relay.ConnOptions
	// ServeRelay is the URL of the relay this node serves for members of
	// its networks (`ray daemon --serve-relay`), advertised in our
	// endpoint record; empty if it serves none.
	ServeRelay string
	// MappedRelayPort is the TCP port of the relay the daemon serves for
	// members when the gateway maps our ports (not a public address): the
	// engine maps it too and advertises the mapped URL (memberrelay.go).
	// 0: none.
	MappedRelayPort uint16
	// MemberRelayError says why the daemon serves no member relay
	// though this node would (its port is busy), for status.
	MemberRelayError string
	// DNSUpstreams are the resolvers magic DNS forwards other names to
	// (captured from the system before rayfish takes over DNS).
	DNSUpstreams []netip.AddrPort
	// SocketControl, when set, is applied to the UDP socket (the
	// daemon marks it so that an exit node's routes do not capture it).
	SocketControl func(network, address string, c syscall.RawConn) error
	// NoDHT keeps the node off the Mainline DHT (`--no-dht`); DHTBootstrap
	// replaces the public bootstrap nodes (`--dht-bootstrap`); DHTListen
	// is the DHT's UDP address ("" = any port). See dht.go.
	NoDHT        bool
	DHTBootstrap []string
	DHTListen    string
	// DHTSlot overrides the rendezvous slot (tests); 0 = dhtSlot.
	DHTSlot time.Duration
}

// Engine is one rayfish node.
//
// Locks, in the order they may be taken (never the reverse):
//
//  0. refreshMu: serializes re-reading our addresses (refreshEndpoints).
//  1. e.mu: membership state, peers, preferences, our endpoint record.
//     Code under it only computes and records; it does no OS, disk or
//     network I/O and never blocks on a peer. What it decides is applied
//     outside it: OS configuration (addresses, DNS, mDNS) by
//     routineReconfig (reconf), files by flushSaved (stateFile,
//     prefsFile, fwFile), control messages and the closing of a removed
//     peer's connections by that peer's control writer (routineCtrl).
//  2. Taken under e.mu, and taking nothing of the engine's: reconf.mu,
//     a file writer's stageMu (then the firewall's lock, for fwFile),
//     watchers.mu, the firewall's and magicconn's own locks.
//
// Never held while taking e.mu: a file writer's writeMu (held while
// writing; taken before its stageMu) and a connection's ctrlMu (held
// while writing the control stream). The data path, verifyIncoming and
// SharesNetwork take no engine lock: they read atomics (the data
// plane's routes, members, peer.cur).
type Engine struct {
	cfg     Config
	log     *slog.Logger
	nodeKey key.NodePrivate
	self    key.NodePublic
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	udp      net.PacketConn
	mc       *magicconn.Conn
	portmap  atomic.Pointer[portmap.Mapper] // the running Mapper, if any
	relayMap atomic.Pointer[portmap.Mapper] // the member relay's TCP Mapper, if any
	// mappedRelay is the member relay our port mappings make reachable
	// (nil: none); pmMu (a leaf lock) guards the statuses it comes from.
	mappedRelay  atomic.Pointer[mappedRelay]
	pmMu         sync.Mutex
	pmUDP, pmTCP portmap.Status
	tr           *quic.Transport
	ln           *quic.Listener
	meshTLS      *tlsConfigs
	quicConf     *quic.Config

	// dp is the data plane; it owns the TUN from Start on.
	dp     *dataplane.Plane
	relays func() map[string]bool // relay connection states (magicconn)
	// members is the set of peers (nodes sharing a network with us),
	// replaced by recomputeLocked; handshakes check it without e.mu.
	members atomic.Pointer[map[key.NodePublic]bool]
	// ctrlDrops counts control messages dropped from full peer queues.
	ctrlDrops atomic.Uint64

	// reconf applies OS configuration (routineReconfig); the writers
	// persist snapshots staged under e.mu (flushSaved).
	reconf    reconfig
	stateFile fileWriter
	prefsFile fileWriter
	fwFile    fileWriter

	watchers watchers
	joins    joinLimiter            // join connections being served
	tunErr   atomic.Pointer[string] // why there is no TUN yet (tunerror.go)

	// Firewall and magic DNS; the data path uses them without e.mu.
	fw     *firewall.Firewall
	fwPath string
	dns    *magicdns.Resolver
	fwd    *magicdns.Forwarder
	// recordSeq numbers our endpoint records; its lock is a leaf, taken
	// under e.mu.
	recordSeq *recordSeq
	closeOnce sync.Once
	closeErr  error

	// refreshMu serializes refreshEndpoints; taken before e.mu.
	refreshMu sync.Mutex

	// standby: which peers are down (ray down); standby.go.
	standby standbyPeers
	// joinWaits: this node's own join requests; joinwait.go.
	joinWaits joinWaits
	// lanSeen: nodes heard on the LAN, for joining open networks by id.
	lanSeen lanRecords
	// dht: DHT discovery and discovered_via; dht.go.
	dht dhtState

	// mu guards the fields below it.
	mu        sync.Mutex
	state     *netmap.State
	statePath string
	prefsPath string
	prefs     prefs
	peers     map[key.NodePublic]*peer
	hostname  string
	myRecord  netmap.EndpointRecord
	requests  map[requestKey]*pendingRequest
	// inviters maps the inviting nodes told to magicconn for a join to
	// when; a removed peer's control writer must not make magicconn
	// forget one of them (a removed node joining again at once).
	inviters map[key.NodePublic]time.Time
	// removalAsks maps peers that refused our handshake to when we last
	// asked them why (removalproof.go).
	removalAsks map[key.NodePublic]time.Time
	// staleAnswers maps peers to when we last answered a roster of theirs
	// under a replaced key with ours (rekey.go).
	staleAnswers map[key.NodePublic]time.Time
	tunAddrs     []netip.Prefix
	selfV4       []netip.Addr // our overlay IPv4 addresses (recomputeLocked)
	mdns         *mdns.Service
	// hist: each peer's round trip and throughput history (history.go).
	hist map[key.NodePublic]*history.Ring
}

// New loads or creates the node's identity and state. It does not touch
// the network until Start.
func New(cfg Config) (*Engine, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("engine: no state dir")
	}
	if err := ensureDir(cfg.StateDir); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	statePath := filepath.Join(cfg.StateDir, "state.json")
	loaded, err := netmap.LoadOrRestore(statePath, time.Now())
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if loaded.Restored != nil {
		log.Error("STATE FILE DAMAGED: running on the previous good version", "err", loaded.Restored)
	}
	st := loaded.State
	nk, err := loadOrCreateNodeKey(filepath.Join(cfg.StateDir, "node.key"), statePath, len(st.Networks), log)
	if err != nil {
		return nil, err
	}
	hn := cfg.Hostname
	if hn == "" {
		hn, _ = os.Hostname()
	}
	e := &Engine{
		cfg:       cfg,
		log:       log,
		nodeKey:   nk,
		self:      nk.Public(),
		state:     st,
		statePath: statePath,
		prefsPath: filepath.Join(cfg.StateDir, "prefs.json"),
		peers:     map[key.NodePublic]*peer{},
		hostname:  netmap.SanitizeHostname(hn),
		requests:  map[requestKey]*pendingRequest{},
		inviters:  map[key.NodePublic]time.Time{},
	}
	e.stateFile.path, e.prefsFile.path = e.statePath, e.prefsPath
	e.stateFile.backup, e.stateFile.good = true, loaded.Data
	e.stateFile.log, e.prefsFile.log, e.fwFile.log = log, log, log
	e.reconf.init()
	e.prefs, err = loadPrefs(e.prefsPath)
	if err != nil {
		return nil, err
	}
	if e.recordSeq, err = loadRecordSeq(filepath.Join(cfg.StateDir, "record-seq"), time.Now()); err != nil {
		log.Warn("endpoint record sequence", "err", err)
	}
	if err := e.initFilter(); err != nil {
		return nil, err
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

// Self returns the node's public key.
func (e *Engine) Self() key.NodePublic { return e.self }

// Start opens the socket, starts the data plane (if the saved state says
// up) and connects to peers.
func (e *Engine) Start() error {
	if err := e.listen(); err != nil {
		return err
	}
	e.dp.Start()
	e.reconf.mu.Lock()
	e.reconf.started = true
	e.reconf.mu.Unlock()
	e.goRoutine(e.routineReconfig)
	e.refreshEndpoints()
	e.mu.Lock()
	e.recomputeLocked()
	e.setMDNSLocked(e.prefs.MDNS)
	e.setPortMapLocked(e.prefs.PortMap)
	up := e.prefs.Up
	e.mu.Unlock()
	e.flushSaved()
	if err := e.setUp(up); err != nil {
		e.log.Warn("initial state", "err", err)
	}
	e.goRoutine(e.routineAccept)
	e.goRoutine(e.routineMaintain)
	e.goRoutine(e.routineDHT)
	return nil
}

// Close stops every goroutine, closes all connections and the TUN. It is
// idempotent.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.watchers.broadcastStopping()
		e.mu.Lock()
		var conns []*peerConn
		for _, p := range e.peers {
			conns = append(conns, p.conns...)
		}
		e.mu.Unlock()
		closeConns(conns, codeShutdown, "shutting down")
		e.cancel() // routineReconfig stops LAN discovery
		if e.ln != nil {
			e.ln.Close()
		}
		if e.tr != nil {
			e.tr.Close()
		}
		if e.mc != nil {
			e.mc.Close() // closes the UDP socket
		} else if e.udp != nil {
			e.udp.Close()
		}
		e.closeErr = e.dp.Close() // and the TUN
		if e.fwd != nil {
			e.fwd.Close()
		}
		e.wg.Wait()
		e.mu.Lock()
		for _, p := range e.peers {
			p.stop()
		}
		e.mu.Unlock()
		e.flushSaved()
	})
	return e.closeErr
}

func (e *Engine) goRoutine(f func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
}

// saveLocked stages a snapshot of the membership state; flushSaved,
// after e.mu is released, writes it.
func (e *Engine) saveLocked() {
	data, err := e.state.Marshal()
	if err != nil {
		e.log.Error("save state", "err", err)
		return
	}
	e.stateFile.stage(data)
}

func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("engine: state dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("engine: state dir: %w", err)
	}
	return nil
}
