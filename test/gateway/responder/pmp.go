package responder

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"time"
)

// NAT-PMP and PCP share UDP port 5351; the first byte (version) tells
// them apart.

const maxDatagram = 1100

// ServePMP answers NAT-PMP and PCP requests on conn until it is closed.
func (s *Server) ServePMP(conn *net.UDPConn) error {
	buf := make([]byte, maxDatagram+1)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if resp := s.HandlePMP(buf[:n], from); resp != nil {
			conn.WriteToUDPAddrPort(resp, from)
		}
	}
}

// HandlePMP answers one NAT-PMP or PCP request from src (nil: no
// answer).
func (s *Server) HandlePMP(b []byte, src netip.AddrPort) []byte {
	if len(b) < 2 || len(b) > maxDatagram {
		return nil
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	switch {
	case b[0] == 0 && s.cfg.NATPMP:
		return s.natpmp(b, src)
	case b[0] == 2 && s.cfg.PCP:
		return s.pcp(b, src)
	case s.cfg.NATPMP:
		// A NAT-PMP server answers other versions with its own
		// "unsupported version" (RFC 6887 §9).
		r := make([]byte, 8)
		r[1] = 0x80 | b[1]&0x7f
		binary.BigEndian.PutUint16(r[2:4], 1)
		binary.BigEndian.PutUint32(r[4:8], s.epoch())
		return r
	case s.cfg.PCP:
		if b[1]&0x80 != 0 {
			return nil
		}
		r := make([]byte, 24)
		r[0], r[1], r[3] = 2, 0x80|b[1]&0x7f, 1 // UNSUPP_VERSION
		binary.BigEndian.PutUint32(r[8:12], s.epoch())
		return r
	}
	return nil
}

func (s *Server) natpmp(b []byte, src netip.AddrPort) []byte {
	op := b[1]
	if op&0x80 != 0 {
		return nil
	}
	switch {
	case op == 0 && len(b) == 2:
		r := make([]byte, 12)
		r[1] = 0x80
		binary.BigEndian.PutUint32(r[4:8], s.epoch())
		a := s.cfg.External.As4()
		copy(r[8:12], a[:])
		return r
	case (op == 1 || op == 2) && len(b) == 12:
		r := make([]byte, 16)
		r[1] = 0x80 | op
		binary.BigEndian.PutUint32(r[4:8], s.epoch())
		copy(r[8:10], b[4:6])
		proto := "udp"
		if op == 2 {
			proto = "tcp"
		}
		in := netip.AddrPortFrom(src.Addr(), binary.BigEndian.Uint16(b[4:6]))
		want := binary.BigEndian.Uint16(b[6:8])
		life := binary.BigEndian.Uint32(b[8:12])
		if in.Port() == 0 {
			binary.BigEndian.PutUint16(r[2:4], 2)
			return r
		}
		if life == 0 {
			s.release("nat-pmp", proto, in, [12]byte{}, false)
			return r
		}
		m, err := s.grant("nat-pmp", proto, in, want, time.Duration(life)*time.Second, [12]byte{}, false)
		if err != nil {
			binary.BigEndian.PutUint16(r[2:4], 3)
			return r
		}
		binary.BigEndian.PutUint16(r[10:12], m.Ext)
		binary.BigEndian.PutUint32(r[12:16], uint32(time.Until(m.Expires)/time.Second+1))
		return r
	}
	r := make([]byte, 8)
	r[1] = 0x80 | op
	binary.BigEndian.PutUint16(r[2:4], 5) // unsupported opcode
	binary.BigEndian.PutUint32(r[4:8], s.epoch())
	return r
}

// PCP result codes used here.
const (
	pcpSuccess         = 0
	pcpUnsuppOpcode    = 4
	pcpMalformed       = 3
	pcpNotAuthorized   = 2
	pcpNoResources     = 8
	pcpUnsuppProtocol  = 9
	pcpAddressMismatch = 12
)

func (s *Server) pcp(b []byte, src netip.AddrPort) []byte {
	if b[1]&0x80 != 0 {
		return nil // a response: never answer one
	}
	op := b[1] & 0x7f
	resp := func(code byte, life uint32, payload []byte) []byte {
		r := make([]byte, 24+len(payload))
		r[0], r[1], r[3] = 2, 0x80|op, code
		binary.BigEndian.PutUint32(r[4:8], life)
		binary.BigEndian.PutUint32(r[8:12], s.epoch())
		copy(r[24:], payload)
		return r
	}
	if len(b) < 24 || len(b)%4 != 0 {
		return resp(pcpMalformed, 0, nil)
	}
	if op != 1 {
		return resp(pcpUnsuppOpcode, 0, nil)
	}
	if len(b) < 60 {
		return resp(pcpMalformed, 0, nil)
	}
	payload := append([]byte(nil), b[24:60]...)
	client := netip.AddrFrom16([16]byte(b[8:24])).Unmap()
	if client != src.Addr() {
		return resp(pcpAddressMismatch, 0, payload)
	}
	var proto string
	switch payload[12] {
	case 17:
		proto = "udp"
	case 6:
		proto = "tcp"
	default:
		return resp(pcpUnsuppProtocol, 0, payload)
	}
	nonce := [12]byte(payload[0:12])
	in := netip.AddrPortFrom(client, binary.BigEndian.Uint16(payload[16:18]))
	want := binary.BigEndian.Uint16(payload[18:20])
	life := binary.BigEndian.Uint32(b[4:8])
	if in.Port() == 0 {
		return resp(pcpMalformed, 0, payload)
	}
	if life == 0 {
		if err := s.release("pcp", proto, in, nonce, true); err != nil {
			return resp(pcpNotAuthorized, 0, payload)
		}
		return resp(pcpSuccess, 0, payload)
	}
	m, err := s.grant("pcp", proto, in, want, time.Duration(life)*time.Second, nonce, true)
	switch {
	case errors.Is(err, errNotAuthorized):
		return resp(pcpNotAuthorized, 0, payload)
	case err != nil:
		return resp(pcpNoResources, 0, payload)
	}
	binary.BigEndian.PutUint16(payload[18:20], m.Ext)
	ext := netip.AddrFrom4(s.cfg.External.As4()).As16()
	copy(payload[20:36], ext[:])
	return resp(pcpSuccess, uint32(time.Until(m.Expires)/time.Second+1), payload)
}
