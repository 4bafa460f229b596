package mdns

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// refresh re-reads the interfaces, joining the groups on new ones and
// leaving them on those gone.
func (s *Service) refresh() {
	ifs, err := s.cfg.Interfaces()
	if err != nil {
		s.log.Warn("mdns: list interfaces", "err", err)
		return
	}
	type found struct {
		ifi      net.Interface
		has      [2]bool
		prefixes []netip.Prefix
	}
	var cur []found
	for _, ifi := range ifs {
		f := found{ifi: ifi}
		addrs, err := s.cfg.InterfaceAddrs(&ifi)
		if err != nil {
			s.log.Debug("mdns: interface addresses", "interface", ifi.Name, "err", err)
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
					ip = ip.Unmap()
					f.has[boolIndex(!ip.Is4())] = true
					ones, bits := ipn.Mask.Size()
					if bits == 128 && ip.Is4() {
						ones -= 96
					}
					if p, err := ip.Prefix(ones); err == nil && bits != 0 && len(f.prefixes) < maxPrefixes {
						f.prefixes = append(f.prefixes, p)
					}
				}
			}
		}
		cur = append(cur, f)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[int]bool, len(cur))
	for _, f := range cur {
		seen[f.ifi.Index] = true
		l := s.links[f.ifi.Index]
		if l == nil || l.ifi.Name != f.ifi.Name {
			if l != nil {
				s.leaveLocked(l)
			}
			l = &link{}
			s.links[f.ifi.Index] = l
		}
		l.ifi, l.has, l.prefixes = f.ifi, f.has, f.prefixes
		for i, c := range s.conns {
			if c == nil || !l.has[i] || l.joined[i] {
				continue
			}
			if err := c.join(&l.ifi); err != nil && !isAlreadyJoined(err) {
				s.log.Debug("mdns: join group", "interface", l.ifi.Name, "family", c.family(), "err", err)
				continue
			}
			l.joined[i] = true
			s.log.Debug("mdns: joined group", "interface", l.ifi.Name, "family", c.family())
		}
	}
	for idx, l := range s.links {
		if !seen[idx] {
			s.leaveLocked(l)
			delete(s.links, idx)
		}
	}
}

// leaveLocked leaves the groups joined on l. The interface may be gone,
// which leaves them too, so errors are ignored.
func (s *Service) leaveLocked(l *link) {
	for i, c := range s.conns {
		if c != nil && l.joined[i] {
			_ = c.leave(&l.ifi)
			l.joined[i] = false
		}
	}
}

// onLinkLocked reports whether src is on the link of interface ifIndex
// (any interface we use when the platform does not tell): inside one of
// its connected prefixes, or link-local. Packets that arrived on an
// interface we do not use (the TUN, loopback) are never on-link.
func (s *Service) onLinkLocked(ifIndex int, src netip.Addr) bool {
	src = src.WithZone("").Unmap()
	if !src.IsValid() || src.IsUnspecified() || src.IsMulticast() {
		return false
	}
	for idx, l := range s.links {
		if ifIndex != 0 && idx != ifIndex {
			continue
		}
		if src.IsLinkLocalUnicast() {
			return true
		}
		for _, p := range l.prefixes {
			if p.Contains(src) {
				return true
			}
		}
	}
	return false
}

// defaultInterfaces lists the interfaces that are up and multicast
// capable, leaving out loopback, point-to-point links and our own tunnel.
func defaultInterfaces() ([]net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := ifs[:0]
	for _, ifi := range ifs {
		if usableInterface(ifi) {
			out = append(out, ifi)
		}
	}
	return out, nil
}

func usableInterface(ifi net.Interface) bool {
	const want = net.FlagUp | net.FlagMulticast
	name := strings.ToLower(ifi.Name)
	return ifi.Flags&want == want &&
		ifi.Flags&(net.FlagLoopback|net.FlagPointToPoint) == 0 &&
		!strings.HasPrefix(name, "rayfish") && !strings.HasPrefix(name, "utun")
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
