package stun

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Serve answers binding requests arriving on pc until pc is closed; the
// caller owns pc and stops Serve by closing it. Anything that is not a
// binding request is ignored. Serve returns nil once pc is closed, or the
// read error that stopped it.
func Serve(pc net.PacketConn) error {
	buf := make([]byte, 1500)
	out := make([]byte, MaxResponseLen)
	udp, _ := pc.(*net.UDPConn)
	for {
		var (
			n   int
			src netip.AddrPort
			err error
		)
		if udp != nil {
			n, src, err = udp.ReadFromUDPAddrPort(buf)
		} else {
			var a net.Addr
			n, a, err = pc.ReadFrom(buf)
			if ua, ok := a.(*net.UDPAddr); ok {
				src = ua.AddrPort()
			}
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("stun: serve: %w", err)
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		m, ok := HandleRequest(buf[:n], src, out)
		if !ok {
			continue
		}
		if udp != nil {
			_, err = udp.WriteToUDPAddrPort(out[:m], src)
		} else {
			_, err = pc.WriteTo(out[:m], net.UDPAddrFromAddrPort(src))
		}
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		// Other write errors concern one client only; keep serving.
	}
}

// Query sends binding requests from pc to server until a matching response
// arrives or ctx is done, and returns the reflexive address it reports.
// Requests are retransmitted with backoff (100 ms, doubling, up to 1.6 s).
// Query reads from pc itself, so nothing else may read pc meanwhile; it
// leaves pc's read deadline cleared.
func Query(ctx context.Context, pc net.PacketConn, server netip.AddrPort) (netip.AddrPort, error) {
	id := NewTxID()
	req := BuildRequest(id)
	dst := net.UDPAddrFromAddrPort(server)
	defer pc.SetReadDeadline(time.Time{})

	buf := make([]byte, 1500)
	wait := 100 * time.Millisecond
	for {
		if _, err := pc.WriteTo(req, dst); err != nil {
			return netip.AddrPort{}, fmt.Errorf("stun: query %v: %w", server, err)
		}
		resend := time.Now().Add(wait)
		if wait < 1600*time.Millisecond {
			wait *= 2
		}
		for {
			deadline := resend
			if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
				deadline = d
			}
			if err := ctx.Err(); err != nil {
				return netip.AddrPort{}, fmt.Errorf("stun: query %v: %w", server, err)
			}
			pc.SetReadDeadline(deadline)
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					if err := ctx.Err(); err != nil {
						return netip.AddrPort{}, fmt.Errorf("stun: query %v: %w", server, err)
					}
					if time.Now().Before(resend) {
						continue
					}
					break // retransmit
				}
				return netip.AddrPort{}, fmt.Errorf("stun: query %v: %w", server, err)
			}
			got, addr, err := ParseResponse(buf[:n])
			if got != id || err != nil {
				if got == id && err != nil {
					return netip.AddrPort{}, fmt.Errorf("stun: query %v: %w", server, err)
				}
				continue // stray packet or answer to an older query
			}
			return addr, nil
		}
	}
}

// Mapping classifies how a NAT maps one local socket to public endpoints.
type Mapping int

const (
	// MappingUnknown means there were not enough observations.
	MappingUnknown Mapping = iota
	// MappingEndpointIndependent means every server saw the same
	// address and port: the mapping does not depend on the destination,
	// so hole punching with the learned endpoint usually works.
	MappingEndpointIndependent
	// MappingAddressDependent means servers saw different endpoints: the
	// mapping varies with the destination (address-dependent or
	// address-and-port-dependent; two servers cannot tell which), so
	// peers cannot reach this socket at an endpoint learned from a
	// server, and traffic usually needs the relay.
	MappingAddressDependent
)

// String returns a short name for logs and status output.
func (m Mapping) String() string {
	switch m {
	case MappingEndpointIndependent:
		return "endpoint-independent"
	case MappingAddressDependent:
		return "address-dependent"
	}
	return "unknown"
}

// MappingBehavior classifies a NAT's mapping from the reflexive addresses
// that STUN servers at different addresses reported for the same local
// socket. Invalid addresses (failed queries) are skipped; fewer than two
// valid observations give MappingUnknown. Observations of different address
// families are not comparable and are classified separately by the caller.
func MappingBehavior(observed ...netip.AddrPort) Mapping {
	var first netip.AddrPort
	n := 0
	for _, ap := range observed {
		if !ap.IsValid() {
			continue
		}
		n++
		if n == 1 {
			first = ap
			continue
		}
		if ap != first {
			return MappingAddressDependent
		}
	}
	if n < 2 {
		return MappingUnknown
	}
	return MappingEndpointIndependent
}
