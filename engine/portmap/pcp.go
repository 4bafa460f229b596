package portmap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// PCP (RFC 6887) on the wire. Only the MAP opcode is used: a request asks
// the gateway to forward an external port to our internal one; a
// lifetime of 0 deletes the mapping.

const (
	pcpPort        = 5351
	pcpVersion     = 2
	pcpOpMap       = 1
	pcpHeaderLen   = 24
	pcpMapLen      = 36
	pcpMapMsgLen   = pcpHeaderLen + pcpMapLen // request and minimal response
	pcpMaxMsgLen   = 1100                     // RFC 6887 §7: no PCP message is longer
	pcpResponseBit = 0x80
	protoUDP       = 17
	protoTCP       = 6
)

// PCP result codes (RFC 6887 §7.4).
var pcpResults = [...]string{
	0:  "SUCCESS",
	1:  "UNSUPP_VERSION",
	2:  "NOT_AUTHORIZED",
	3:  "MALFORMED_REQUEST",
	4:  "UNSUPP_OPCODE",
	5:  "UNSUPP_OPTION",
	6:  "MALFORMED_OPTION",
	7:  "NETWORK_FAILURE",
	8:  "NO_RESOURCES",
	9:  "UNSUPP_PROTOCOL",
	10: "USER_EX_QUOTA",
	11: "CANNOT_PROVIDE_EXTERNAL",
	12: "ADDRESS_MISMATCH",
	13: "EXCESSIVE_REMOTE_PEERS",
}

// errUnsupportedVersion says the gateway speaks another version (a
// NAT-PMP-only gateway answers a PCP request with version 0).
var errUnsupportedVersion = errors.New("PCP: gateway does not speak PCP version 2")

// pcpError is a PCP response with a non-zero result code.
type pcpError uint8

func (e pcpError) Error() string {
	if int(e) < len(pcpResults) {
		return fmt.Sprintf("PCP: gateway refused: %s (%d)", pcpResults[e], uint8(e))
	}
	return fmt.Sprintf("PCP: gateway refused: result %d", uint8(e))
}

// pcpMapRequest builds a MAP request for transport proto (protoUDP or
// protoTCP): client is our address as the gateway sees it, lifetime in
// seconds (0 deletes), and the suggested external address (invalid =
// any).
func pcpMapRequest(client netip.Addr, nonce [12]byte, proto byte, internal uint16, suggest netip.AddrPort, lifetime uint32) []byte {
	b := make([]byte, pcpMapMsgLen)
	b[0] = pcpVersion
	b[1] = pcpOpMap
	binary.BigEndian.PutUint32(b[4:8], lifetime)
	ip16 := client.As16()
	copy(b[8:24], ip16[:])
	p := b[pcpHeaderLen:]
	copy(p[0:12], nonce[:])
	p[12] = proto
	binary.BigEndian.PutUint16(p[16:18], internal)
	if suggest.IsValid() {
		binary.BigEndian.PutUint16(p[18:20], suggest.Port())
		s16 := suggest.Addr().As16()
		copy(p[20:36], s16[:])
	} else {
		// The all-zeros IPv4 address (::ffff:0.0.0.0): "any external
		// IPv4 address" (RFC 6887 §11.1).
		p[30], p[31] = 0xff, 0xff
	}
	return b
}

// pcpMapResponse is a parsed MAP response.
type pcpMapResponse struct {
	Lifetime uint32 // seconds
	Epoch    uint32
	Nonce    [12]byte
	Proto    byte // protoUDP or protoTCP
	Internal uint16
	External netip.AddrPort
}

// parsePCPMapResponse parses a MAP response. It checks the version, the
// opcode, the length bounds and the result code; options after the MAP
// payload are ignored.
func parsePCPMapResponse(b []byte) (pcpMapResponse, error) {
	var r pcpMapResponse
	if len(b) < 4 {
		return r, fmt.Errorf("PCP: response too short (%d bytes)", len(b))
	}
	if b[0] != pcpVersion {
		return r, errUnsupportedVersion
	}
	if len(b) > pcpMaxMsgLen || len(b)%4 != 0 {
		return r, fmt.Errorf("PCP: bad response length %d", len(b))
	}
	if b[1] != pcpResponseBit|pcpOpMap {
		return r, fmt.Errorf("PCP: unexpected opcode %#x", b[1])
	}
	if b[3] != 0 {
		return r, pcpError(b[3])
	}
	if len(b) < pcpMapMsgLen {
		return r, fmt.Errorf("PCP: MAP response too short (%d bytes)", len(b))
	}
	r.Lifetime = binary.BigEndian.Uint32(b[4:8])
	r.Epoch = binary.BigEndian.Uint32(b[8:12])
	p := b[pcpHeaderLen:]
	copy(r.Nonce[:], p[0:12])
	r.Proto = p[12]
	if r.Proto != protoUDP && r.Proto != protoTCP {
		return r, fmt.Errorf("PCP: response for protocol %d, not UDP or TCP", p[12])
	}
	r.Internal = binary.BigEndian.Uint16(p[16:18])
	ip := netip.AddrFrom16([16]byte(p[20:36])).Unmap()
	r.External = netip.AddrPortFrom(ip, binary.BigEndian.Uint16(p[18:20]))
	return r, nil
}

// pcpClient maps our port with PCP.
type pcpClient struct {
	gw    netip.AddrPort // the gateway's PCP server
	self  netip.Addr     // our address towards the gateway
	nonce [12]byte
	tcp   bool          // map a TCP port, not UDP
	wait  time.Duration // first retransmission; doubles
}

func (c *pcpClient) proto() byte {
	if c.tcp {
		return protoTCP
	}
	return protoUDP
}

func (c *pcpClient) protocol() Protocol { return PCP }

func (c *pcpClient) mapPort(ctx context.Context, internal uint16, prev netip.AddrPort, lease time.Duration) (Mapping, error) {
	req := pcpMapRequest(c.self, c.nonce, c.proto(), internal, prev, uint32(lease/time.Second))
	r, err := c.call(ctx, req)
	if err != nil {
		return Mapping{}, err
	}
	if r.Internal != internal || r.Nonce != c.nonce || r.Proto != c.proto() {
		return Mapping{}, errors.New("PCP: response is for another mapping")
	}
	if r.Lifetime == 0 || !r.External.Addr().IsValid() || r.External.Port() == 0 || r.External.Addr().IsUnspecified() {
		return Mapping{}, fmt.Errorf("PCP: gateway granted no usable mapping (%v, %d s)", r.External, r.Lifetime)
	}
	return Mapping{Protocol: PCP, External: r.External, Lease: time.Duration(r.Lifetime) * time.Second}, nil
}

func (c *pcpClient) unmapPort(ctx context.Context, internal uint16, _ Mapping) error {
	_, err := c.call(ctx, pcpMapRequest(c.self, c.nonce, c.proto(), internal, netip.AddrPort{}, 0))
	return err
}

// call sends req to the gateway, retransmitting with backoff until a
// response from the gateway parses or ctx ends.
func (c *pcpClient) call(ctx context.Context, req []byte) (pcpMapResponse, error) {
	return exchange(ctx, "PCP", c.gw, req, c.wait, parsePCPMapResponse)
}

// exchange sends req to gw (protocol name, for errors) over a fresh UDP socket, retransmitting after
// wait, 2×wait, ... until parse accepts a datagram from gw or ctx ends.
// Datagrams from anyone else are ignored; a datagram from gw that does
// not parse ends the exchange with parse's error.
func exchange[T any](ctx context.Context, name string, gw netip.AddrPort, req []byte, wait time.Duration, parse func([]byte) (T, error)) (T, error) {
	var zero T
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(gw))
	if err != nil {
		return zero, fmt.Errorf("%s: dial %v: %w", name, gw, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, pcpMaxMsgLen+4) // longer datagrams show as too long
	if wait <= 0 {
		wait = 250 * time.Millisecond
	}
	for {
		if ctx.Err() != nil {
			return zero, fmt.Errorf("%s: no answer from %v: %w", name, gw, ctx.Err())
		}
		if _, err := conn.Write(req); err != nil {
			return zero, fmt.Errorf("%s: send to %v: %w", name, gw, err)
		}
		conn.SetReadDeadline(time.Now().Add(wait))
		for {
			n, err := conn.Read(buf)
			if ctx.Err() != nil {
				return zero, fmt.Errorf("%s: no answer from %v: %w", name, gw, ctx.Err())
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			if err != nil {
				return zero, fmt.Errorf("%s: read from %v: %w", name, gw, err)
			}
			return parse(buf[:n])
		}
		wait = min(2*wait, 4*time.Second)
	}
}
