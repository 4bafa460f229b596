// Package portmap maps the daemon's UDP port on the default gateway, so
// that a node behind a home router can be reached directly from the
// internet.
//
// It speaks PCP (RFC 6887, our own small client), NAT-PMP (RFC 6886,
// github.com/jackpal/go-nat-pmp) and UPnP IGD (github.com/huin/goupnp),
// tried in that order: PCP and NAT-PMP answer in one round trip on the
// gateway's port 5351 (a NAT-PMP-only gateway rejects a PCP request at
// once), UPnP needs an SSDP search and HTTP. A Mapper keeps one mapping:
// it refreshes it halfway through its lease, maps again when the default
// gateway changes, and deletes it on Close. The external address it
// reports becomes one of the node's direct-path candidates.
//
// Everything the gateway sends is bounded before it is parsed; the
// responses' parsers are fuzzed.
package portmap

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Protocol names a port-mapping protocol.
type Protocol string

// The protocols, in the order a Mapper tries them by default.
const (
	PCP    Protocol = "pcp"
	NATPMP Protocol = "nat-pmp"
	UPnP   Protocol = "upnp"
)

// DefaultProtocols is the order protocols are tried in.
var DefaultProtocols = []Protocol{PCP, NATPMP, UPnP}

const (
	// DefaultLease is the lifetime we ask for.
	DefaultLease = 2 * time.Hour
	// permanentRefresh is how often a permanent UPnP mapping (lease 0)
	// is refreshed anyway, to notice a gateway that forgot it.
	permanentRefresh = 20 * time.Minute
	// minRefresh bounds how often we refresh, whatever a gateway grants.
	minRefresh = 5 * time.Second
	// callTimeout bounds one protocol's attempt.
	callTimeout = 3 * time.Second
	// unmapTimeout bounds the delete on Close.
	unmapTimeout = 2 * time.Second
	// gatewayPoll is how often the default gateway is checked.
	gatewayPoll = 10 * time.Second
	// retryMin and retryMax bound the wait after every protocol failed.
	retryMin = 30 * time.Second
	retryMax = 10 * time.Minute
)

// Mapping is a port mapping the gateway granted.
type Mapping struct {
	Protocol Protocol
	External netip.AddrPort // the gateway's public address and port
	Lease    time.Duration  // lifetime granted
}

// Status is what a Mapper holds now, for netcheck.
type Status struct {
	Mapping            // zero if there is no mapping
	Gateway netip.Addr // the default gateway, if known
	Err     string     // why there is no mapping; "" while trying the first time or when mapped
	// Renew is when the Mapper refreshes the mapping next (zero without
	// one); a failed refresh is retried until the lease lapses.
	Renew time.Time
}

// client is one protocol's client, bound to one gateway.
type client interface {
	protocol() Protocol
	// mapPort asks for (or refreshes) a mapping of internal, preferring
	// prev's external port.
	mapPort(ctx context.Context, internal uint16, prev netip.AddrPort, lease time.Duration) (Mapping, error)
	// unmapPort deletes m.
	unmapPort(ctx context.Context, internal uint16, m Mapping) error
}

// Config configures a Mapper.
type Config struct {
	// Port is our UDP port, the mapping's internal port.
	Port uint16
	// TCP maps TCP port Port instead of UDP (the relay a member serves).
	TCP bool
	// Seed makes the PCP mapping nonce: a secret that stays the same
	// across restarts (derived from the node key), so a node that
	// restarts after a crash refreshes its own old mapping instead of
	// being refused or getting a second one.
	Seed []byte
	// Protocols are tried in this order; DefaultProtocols if empty.
	Protocols []Protocol
	// Gateway returns the default IPv4 gateway and our address towards
	// it; DefaultGateway if nil.
	Gateway func() (gw, self netip.Addr, err error)
	// OnChange is called (from the Mapper's goroutine, never under its
	// lock) when the mapping or its state changes.
	OnChange func(Status)
	// Logger; nil discards.
	Logger *slog.Logger

	// newClient makes a protocol's client (tests: fakes).
	newClient func(p Protocol, gw, self netip.Addr) client
}

// Mapper keeps our port mapped. Its goroutine starts with New and stops
// with Close, which deletes the mapping.
type Mapper struct {
	cfg    Config
	log    *slog.Logger
	nonce  [12]byte
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu sync.Mutex // guards st
	st Status
}

// New starts a Mapper.
func New(cfg Config) *Mapper {
	if len(cfg.Protocols) == 0 {
		cfg.Protocols = DefaultProtocols
	}
	if cfg.Gateway == nil {
		cfg.Gateway = DefaultGateway
	}
	if cfg.newClient == nil {
		cfg.newClient = newClient
	}
	m := &Mapper{cfg: cfg, log: cfg.Logger, kick: make(chan struct{}, 1), done: make(chan struct{})}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	label := "rayfish portmap pcp nonce\x00"
	if cfg.TCP {
		label = "rayfish portmap pcp tcp nonce\x00"
	}
	h := sha256.Sum256(append([]byte(label), cfg.Seed...))
	copy(m.nonce[:], h[:])
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go m.routine(ctx)
	return m
}

func newClient(p Protocol, gw, self netip.Addr) client {
	switch p {
	case PCP:
		return &pcpClient{gw: netip.AddrPortFrom(gw, pcpPort), self: self}
	case NATPMP:
		return &natpmpClient{gw: gw, timeout: callTimeout}
	case UPnP:
		return &upnpClient{gw: gw, self: self}
	}
	return nil
}

// Status returns the current mapping and state.
func (m *Mapper) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// Kick makes the Mapper check the gateway now (the network changed).
func (m *Mapper) Kick() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Close deletes the mapping (waiting at most a few seconds for the
// gateway) and stops the Mapper. It is idempotent.
func (m *Mapper) Close() {
	m.once.Do(m.cancel)
	<-m.done
}

// set records st and reports it.
func (m *Mapper) set(st Status) {
	m.mu.Lock()
	changed := m.st != st
	m.st = st
	m.mu.Unlock()
	if changed && m.cfg.OnChange != nil {
		m.cfg.OnChange(st)
	}
}

// routine owns the mapping: map, refresh at half the lease, re-map when
// the gateway changes, delete on stop.
func (m *Mapper) routine(ctx context.Context) {
	defer close(m.done)
	var (
		cl      client     // the protocol that holds the mapping
		cur     Mapping    // valid if cl != nil
		expires time.Time  // when cur lapses unless refreshed
		gw      netip.Addr // the gateway cl talks to
		retry   = retryMin
	)
	defer func() {
		if cl != nil {
			uctx, cancel := context.WithTimeout(context.Background(), unmapTimeout)
			err := cl.unmapPort(uctx, m.cfg.Port, cur)
			cancel()
			if err != nil {
				m.log.Warn("port mapping: delete", "protocol", cur.Protocol, "err", err)
			} else {
				m.log.Info("port mapping deleted", "protocol", cur.Protocol, "external", cur.External)
			}
			m.set(Status{Gateway: gw})
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var next time.Time // when the timer fires next for a refresh or retry
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-m.kick:
		}
		now := time.Now()
		g, self, gerr := m.cfg.Gateway()
		if gerr != nil {
			g = netip.Addr{}
		}
		if g != gw {
			// New gateway (or none): the old mapping is useless. Try
			// to delete it, briefly: the old gateway may be gone. Ask
			// the new one at once.
			if cl != nil {
				m.log.Info("port mapping: gateway changed", "from", gw, "to", g)
				uctx, cancel := context.WithTimeout(ctx, time.Second)
				cl.unmapPort(uctx, m.cfg.Port, cur)
				cancel()
				cl, cur = nil, Mapping{}
				m.set(Status{Gateway: g})
			}
			next, retry = time.Time{}, retryMin
		}
		gw = g
		switch {
		case gerr != nil:
			m.set(Status{Err: "no default gateway: " + gerr.Error()})
			next = now.Add(gatewayPoll)
		case cl != nil && !now.Before(next):
			nm, err := m.call(ctx, cl, cur.External)
			switch {
			case err == nil:
				cur, expires, retry = nm, now.Add(nm.Lease), retryMin
				next = now.Add(refreshAfter(nm.Lease))
				m.set(Status{Mapping: cur, Gateway: gw, Renew: next})
			case ctx.Err() != nil:
				return
			case !now.Before(expires.Add(-callTimeout)):
				m.log.Warn("port mapping lapsed", "protocol", cur.Protocol, "err", err)
				cl, cur = nil, Mapping{}
				m.set(Status{Gateway: gw, Err: err.Error()})
				next = now // try every protocol again at once
			default:
				m.log.Info("port mapping: refresh failed, retrying", "protocol", cur.Protocol, "err", err)
				next = now.Add(min(expires.Sub(now)/4, retryMin))
				m.set(Status{Mapping: cur, Gateway: gw, Renew: next})
			}
		case cl == nil && !now.Before(next):
			ncl, nm, err := m.mapAny(ctx, gw, self)
			if ctx.Err() != nil {
				// Stopped while asking: the gateway may have granted
				// the mapping without our hearing the answer (or we
				// heard it just now). The deferred delete asks it to
				// drop the port either way.
				cl = ncl
				return
			}
			if err != nil {
				m.set(Status{Gateway: gw, Err: err.Error()})
				m.log.Info("port mapping unavailable", "gateway", gw, "err", err)
				next = time.Now().Add(retry)
				retry = min(2*retry, retryMax)
				break
			}
			now = time.Now()
			cl, cur, expires, retry = ncl, nm, now.Add(nm.Lease), retryMin
			m.log.Info("port mapped", "protocol", nm.Protocol, "external", nm.External, "lease", nm.Lease)
			next = now.Add(refreshAfter(nm.Lease))
			m.set(Status{Mapping: cur, Gateway: gw, Renew: next})
		}
		timer.Reset(min(time.Until(next), gatewayPoll))
	}
}

// call runs one mapPort with callTimeout, checking what the gateway
// granted.
func (m *Mapper) call(ctx context.Context, cl client, prev netip.AddrPort) (Mapping, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	nm, err := cl.mapPort(cctx, m.cfg.Port, prev, DefaultLease)
	if err != nil {
		return Mapping{}, err
	}
	// What we advertise, members ping: never a loopback, multicast,
	// link-local or unspecified address, whatever the gateway says.
	if !nm.External.IsValid() || !nm.External.Addr().IsGlobalUnicast() || nm.External.Port() == 0 || nm.Lease <= 0 {
		return Mapping{}, fmt.Errorf("%s: gateway granted no usable mapping (%v)", cl.protocol(), nm.External)
	}
	nm.Lease = min(nm.Lease, 24*time.Hour)
	return nm, nil
}

// mapAny tries each protocol in order and returns the first that maps.
// When ctx ends during a request it returns that request's client with
// ctx's error.
func (m *Mapper) mapAny(ctx context.Context, gw, self netip.Addr) (client, Mapping, error) {
	var errs []string
	for _, p := range m.cfg.Protocols {
		cl := m.cfg.newClient(p, gw, self)
		switch c := cl.(type) {
		case nil:
			errs = append(errs, fmt.Sprintf("unknown protocol %q", p))
			continue
		case *pcpClient:
			c.nonce, c.tcp = m.nonce, m.cfg.TCP
		case *natpmpClient:
			c.tcp = m.cfg.TCP
		case *upnpClient:
			c.tcp = m.cfg.TCP
		}
		nm, err := m.call(ctx, cl, netip.AddrPort{})
		if err == nil {
			return cl, nm, nil
		}
		if ctx.Err() != nil {
			// The request may have been granted unheard: the caller
			// deletes through cl.
			return cl, Mapping{}, ctx.Err()
		}
		errs = append(errs, err.Error())
	}
	return nil, Mapping{}, fmt.Errorf("no port mapping on gateway %v: %s", gw, strings.Join(errs, "; "))
}

// refreshAfter is when to refresh a mapping granted for lease.
func refreshAfter(lease time.Duration) time.Duration {
	return max(lease/2, minRefresh)
}
