// Package responder is a test gateway: it grants port mappings over
// NAT-PMP (RFC 6886), PCP (RFC 6887, MAP only) and UPnP IGD (SSDP, the
// device description, and the WANIPConnection:1 SOAP actions
// GetExternalIPAddress, AddPortMapping and DeletePortMapping), and hands
// each mapping to a Forwarder (in the lab: nftables DNAT in the router
// namespace), removing it on delete or expiry. It is for tests and labs
// only; rayfish itself never runs it.
package responder

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Forwarder applies mappings: traffic to the external port (of transport
// proto, "udp" or "tcp") goes to the internal address.
type Forwarder interface {
	Add(proto string, ext uint16, to netip.AddrPort) error
	Remove(proto string, ext uint16) error
}

// Config configures a Server.
type Config struct {
	// External is the WAN address mappings are on.
	External netip.Addr
	// NATPMP, PCP and UPnP turn the protocols on.
	NATPMP, PCP, UPnP bool
	// Forward applies the mappings; nil keeps them only in memory.
	Forward Forwarder
	// MaxLease caps the lifetimes NAT-PMP and PCP grant (0: 2 h).
	MaxLease time.Duration
	// Logf logs; nil discards.
	Logf func(format string, args ...any)
}

// Mapping is one granted mapping.
type Mapping struct {
	Proto    string // "udp" or "tcp"
	Ext      uint16
	Internal netip.AddrPort
	Via      string    // protocol that made it
	Expires  time.Time // zero: permanent (UPnP lease 0)
	nonce    [12]byte  // PCP
}

// Server holds the mappings. Its methods are safe for concurrent use.
type Server struct {
	cfg   Config
	start time.Time

	mu   sync.Mutex
	maps map[portKey]*Mapping // by transport and external port
}

// portKey is a transport ("udp", "tcp") and an external port.
type portKey struct {
	proto string
	ext   uint16
}

// New makes a Server.
func New(cfg Config) *Server {
	if cfg.MaxLease <= 0 {
		cfg.MaxLease = 2 * time.Hour
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Server{cfg: cfg, start: time.Now(), maps: map[portKey]*Mapping{}}
}

// Mappings returns the current mappings by external port.
func (s *Server) Mappings() []Mapping {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Mapping
	for _, m := range s.maps {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Mapping) int {
		if a.Proto != b.Proto {
			return strings.Compare(a.Proto, b.Proto)
		}
		return int(a.Ext) - int(b.Ext)
	})
	return out
}

func (s *Server) epoch() uint32 { return uint32(time.Since(s.start) / time.Second) }

// Expire removes lapsed mappings; call it periodically.
func (s *Server) Expire(now time.Time) {
	s.mu.Lock()
	var gone []portKey
	for k, m := range s.maps {
		if !m.Expires.IsZero() && now.After(m.Expires) {
			delete(s.maps, k)
			gone = append(gone, k)
		}
	}
	s.mu.Unlock()
	for _, k := range gone {
		s.cfg.Logf("mapping %s %d expired", k.proto, k.ext)
		s.unforward(k)
	}
}

// byInternalLocked finds the proto mapping of in. Caller holds s.mu.
func (s *Server) byInternalLocked(proto string, in netip.AddrPort) *Mapping {
	for _, m := range s.maps {
		if m.Proto == proto && m.Internal == in {
			return m
		}
	}
	return nil
}

// errConflict: the external port belongs to another internal address.
var errConflict = fmt.Errorf("external port in use")

// grant creates or refreshes the proto mapping of in (NAT-PMP and PCP:
// one per transport, internal address and port), preferring external
// port want.
func (s *Server) grant(via, proto string, in netip.AddrPort, want uint16, lease time.Duration, nonce [12]byte, checkNonce bool) (Mapping, error) {
	lease = min(lease, s.cfg.MaxLease)
	s.mu.Lock()
	m := s.byInternalLocked(proto, in)
	if m != nil && checkNonce && m.Via == "pcp" && m.nonce != nonce {
		s.mu.Unlock()
		return Mapping{}, errNotAuthorized
	}
	isNew := m == nil
	if isNew {
		ext := want
		if ext == 0 {
			ext = in.Port()
		}
		for s.maps[portKey{proto, ext}] != nil || ext < 1024 {
			ext++
			if ext == 0 {
				ext = 1024
			}
		}
		m = &Mapping{Proto: proto, Ext: ext, Internal: in}
		s.maps[portKey{proto, ext}] = m
	}
	m.Via, m.nonce, m.Expires = via, nonce, time.Now().Add(lease)
	out := *m
	s.mu.Unlock()
	if isNew {
		s.cfg.Logf("%s: map %s %d -> %v for %v", via, proto, out.Ext, in, lease)
		if err := s.forward(portKey{proto, out.Ext}, in); err != nil {
			s.remove(portKey{proto, out.Ext})
			return Mapping{}, err
		}
	} else {
		s.cfg.Logf("%s: refresh %s %d -> %v for %v", via, proto, out.Ext, in, lease)
	}
	return out, nil
}

var errNotAuthorized = fmt.Errorf("mapping belongs to another nonce")

// release deletes the proto mapping of in, if any.
func (s *Server) release(via, proto string, in netip.AddrPort, nonce [12]byte, checkNonce bool) error {
	s.mu.Lock()
	m := s.byInternalLocked(proto, in)
	if m == nil {
		s.mu.Unlock()
		return nil
	}
	if checkNonce && m.Via == "pcp" && m.nonce != nonce {
		s.mu.Unlock()
		return errNotAuthorized
	}
	k := portKey{proto, m.Ext}
	delete(s.maps, k)
	s.mu.Unlock()
	s.cfg.Logf("%s: delete %s %d -> %v", via, proto, k.ext, in)
	s.unforward(k)
	return nil
}

// remove deletes the mapping on k.
func (s *Server) remove(k portKey) bool {
	s.mu.Lock()
	_, ok := s.maps[k]
	delete(s.maps, k)
	s.mu.Unlock()
	if ok {
		s.unforward(k)
	}
	return ok
}

func (s *Server) forward(k portKey, to netip.AddrPort) error {
	if s.cfg.Forward == nil {
		return nil
	}
	return s.cfg.Forward.Add(k.proto, k.ext, to)
}

func (s *Server) unforward(k portKey) {
	if s.cfg.Forward == nil {
		return
	}
	if err := s.cfg.Forward.Remove(k.proto, k.ext); err != nil {
		s.cfg.Logf("remove forward %s %d: %v", k.proto, k.ext, err)
	}
}

// Close removes every mapping's forward.
func (s *Server) Close() {
	s.mu.Lock()
	keys := make([]portKey, 0, len(s.maps))
	for k := range s.maps {
		keys = append(keys, k)
	}
	s.maps = map[portKey]*Mapping{}
	s.mu.Unlock()
	for _, k := range keys {
		s.unforward(k)
	}
}
