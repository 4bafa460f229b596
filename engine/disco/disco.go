// Package disco encodes and decodes rayfish's path-discovery messages: the
// small signed probes (Ping, Pong, CallMeMaybe) that peers exchange on the
// UDP socket they also use for QUIC, and through the relay, to find and keep
// direct paths.
//
// # Telling probes from QUIC and STUN
//
// One UDP socket carries QUIC, STUN and disco packets, sorted by their first
// bytes. Every disco message starts with the 6-byte Magic
// "\x00rfd\x1f\x80":
//
//   - QUIC (RFC 9000, section 17) sets the top bit of the first byte in long
//     headers and the fixed bit 0x40 in short headers; a first byte with both
//     0x80 and 0x40 clear is never QUIC. (RFC 9287 lets peers that negotiate
//     it grease the fixed bit; quic-go does not, and rayfish's peers are all
//     quic-go.) Magic[0] is 0x00.
//   - STUN (RFC 5389) also has the two top bits clear, but carries the magic
//     cookie 0x2112A442 in bytes 4 to 7, where Magic has 0x1f 0x80; a disco
//     message is never a STUN message and vice versa.
//
// So a demultiplexer checks Looks, then stun.IsMessage, and hands the rest
// to QUIC.
//
// # Wire format
//
//	Magic (6) | sender node key (32) | ed25519 signature (64) | stamp (8) | type (1) | body
//
// The signature covers a domain-separation string, the receiver's node key,
// the sender's node key, the stamp, the type and the body. Binding the
// receiver's key means a captured message cannot be reflected to another
// node: it only verifies for the node it was sent to. Ping and Pong carry a
// random transaction id that the pinger matches, so a replayed Pong answers
// no outstanding Ping. Bodies have fixed layouts and must have exactly the
// expected length.
//
// # Freshness
//
// The stamp is the sender's clock in Unix nanoseconds, strictly increasing
// across the messages of one process. A receiver keeps a Window per
// sender: it refuses a message stamped more than MaxClockSkew from its own
// clock, and one it accepted before (or too far behind the newest it
// accepted), so a captured ping or call-me-maybe replayed from another
// address, or later, is ignored.
//
// Verifying a signature costs tens of microseconds, so a receiver facing a
// flood can first look at Sender and drop messages from keys it does not
// know before calling Decode.
package disco

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/rayfish/rayfish/engine/key"
)

// Magic starts every disco message. See the package documentation for why
// QUIC and STUN never produce it.
const Magic = "\x00rfd\x1f\x80"

// sigDomain separates disco signatures from every other use of node keys.
const sigDomain = "rayfish disco v2\x00"

const (
	keyLen    = len(key.NodePublic{})
	stampLen  = 8
	stampOff  = len(Magic) + keyLen + ed25519.SignatureSize
	headerLen = stampOff + stampLen + 1
	addrLen   = 18 // 16-byte IPv6 (IPv4 mapped) address and 2-byte port
)

// MaxEndpoints is the most endpoints one CallMeMaybe carries.
const MaxEndpoints = 16

// MaxMessageLen is the length of the longest disco message.
const MaxMessageLen = headerLen + MaxEndpoints*addrLen

// Message types on the wire.
const (
	typePing        = 0x01
	typePong        = 0x02
	typeCallMeMaybe = 0x03
)

// TxID identifies a Ping and the Pong that answers it.
type TxID [12]byte

// NewTxID returns a random transaction id.
func NewTxID() TxID {
	var id TxID
	rand.Read(id[:]) // crypto/rand.Read never fails
	return id
}

// Message is a disco message: *Ping, *Pong or *CallMeMaybe.
type Message interface {
	msgType() byte
	appendBody(b []byte) []byte
}

// Ping asks the receiver to answer with a Pong on the path it arrived on.
// The pinger's key is the message's sender key, returned by Decode.
type Ping struct {
	TxID TxID
}

// Pong answers a Ping.
type Pong struct {
	TxID TxID
	// Src is the source address the Ping arrived from, as the ponger saw
	// it: the pinger's reflexive address on that path.
	Src netip.AddrPort
}

// CallMeMaybe, sent through the relay, asks the receiver to ping the
// sender's endpoints now; the sender pings the receiver's at the same time,
// which opens the NAT mappings on both sides.
type CallMeMaybe struct {
	// Endpoints are the sender's candidate UDP endpoints; at most
	// MaxEndpoints are encoded, the rest are dropped.
	Endpoints []netip.AddrPort
}

func (*Ping) msgType() byte        { return typePing }
func (*Pong) msgType() byte        { return typePong }
func (*CallMeMaybe) msgType() byte { return typeCallMeMaybe }

func (m *Ping) appendBody(b []byte) []byte { return append(b, m.TxID[:]...) }

func (m *Pong) appendBody(b []byte) []byte {
	b = append(b, m.TxID[:]...)
	return appendAddr(b, m.Src)
}

func (m *CallMeMaybe) appendBody(b []byte) []byte {
	for i, ep := range m.Endpoints {
		if i == MaxEndpoints {
			break
		}
		b = appendAddr(b, ep)
	}
	return b
}

func appendAddr(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr().As16() // the zero Addr encodes as ::
	b = append(b, a[:]...)
	return binary.BigEndian.AppendUint16(b, ap.Port())
}

func parseAddr(b []byte) netip.AddrPort {
	ip := netip.AddrFrom16([16]byte(b[:16])).Unmap()
	port := binary.BigEndian.Uint16(b[16:18])
	if ip.IsUnspecified() && port == 0 {
		return netip.AddrPort{} // what appendAddr writes for the zero AddrPort
	}
	return netip.AddrPortFrom(ip, port)
}

// Looks reports whether b starts with Magic, that is whether a packet on
// the shared UDP socket is meant for disco rather than QUIC or STUN.
func Looks(b []byte) bool {
	return len(b) >= len(Magic) && string(b[:len(Magic)]) == Magic
}

// Sender returns the sender key claimed by the disco message b without
// verifying anything, so a receiver can drop messages from unknown keys
// before paying for signature verification.
func Sender(b []byte) (key.NodePublic, bool) {
	var from key.NodePublic
	if len(b) < headerLen || !Looks(b) {
		return from, false
	}
	copy(from[:], b[len(Magic):])
	return from, true
}

// signedBytes returns what a message's signature covers; stampType is
// the stamp and the type byte.
func signedBytes(to, from key.NodePublic, stampType, body []byte) []byte {
	s := make([]byte, 0, len(sigDomain)+2*keyLen+len(stampType)+len(body))
	s = append(s, sigDomain...)
	s = append(s, to[:]...)
	s = append(s, from[:]...)
	s = append(s, stampType...)
	return append(s, body...)
}

// Encode returns msg from k to the node to, stamped now and signed by k.
func Encode(k key.NodePrivate, to key.NodePublic, msg Message) []byte {
	return encodeAt(k, to, msg, nextStamp())
}

func encodeAt(k key.NodePrivate, to key.NodePublic, msg Message, stamp Stamp) []byte {
	from := k.Public()
	body := msg.appendBody(make([]byte, 0, MaxMessageLen-headerLen))
	st := binary.BigEndian.AppendUint64(make([]byte, 0, stampLen+1), uint64(stamp))
	st = append(st, msg.msgType())
	sig := k.Sign(signedBytes(to, from, st, body))

	b := make([]byte, 0, headerLen+len(body))
	b = append(b, Magic...)
	b = append(b, from[:]...)
	b = append(b, sig...)
	b = append(b, st...)
	return append(b, body...)
}

// Errors returned by Decode.
var (
	ErrNotDisco     = errors.New("disco: not a disco message")
	ErrBadSignature = errors.New("disco: bad signature or wrong receiver")
	ErrUnknownType  = errors.New("disco: unknown message type")
	ErrBadLength    = errors.New("disco: bad message length")
)

// Header is what Decode learns besides the message: who sent it, and
// when by its clock. Check Stamp with the sender's Window.
type Header struct {
	From  key.NodePublic
	Stamp Stamp
}

// Decode verifies and parses the disco message b received by the node to.
// It returns the sender's key and stamp, and the message. A message
// signed for another receiver, tampered with or truncated is rejected;
// freshness is the caller's to check (Window).
func Decode(b []byte, to key.NodePublic) (Header, Message, error) {
	from, ok := Sender(b)
	if !ok {
		return Header{}, nil, ErrNotDisco
	}
	h := Header{From: from, Stamp: Stamp(binary.BigEndian.Uint64(b[stampOff:]))}
	sig := b[len(Magic)+keyLen : stampOff]
	typ := b[headerLen-1]
	body := b[headerLen:]

	// Check the layout before the (expensive) signature.
	var want int
	switch typ {
	case typePing:
		want = len(TxID{})
	case typePong:
		want = len(TxID{}) + addrLen
	case typeCallMeMaybe:
		if len(body)%addrLen != 0 || len(body) > MaxEndpoints*addrLen {
			return Header{}, nil, fmt.Errorf("%w: call-me-maybe body of %d bytes", ErrBadLength, len(body))
		}
		want = len(body)
	default:
		return Header{}, nil, fmt.Errorf("%w: %#x", ErrUnknownType, typ)
	}
	if len(body) != want {
		return Header{}, nil, fmt.Errorf("%w: type %#x body of %d bytes, want %d", ErrBadLength, typ, len(body), want)
	}
	if !from.Verify(signedBytes(to, from, b[stampOff:headerLen], body), sig) {
		return Header{}, nil, ErrBadSignature
	}

	switch typ {
	case typePing:
		return h, &Ping{TxID: TxID(body)}, nil
	case typePong:
		return h, &Pong{TxID: TxID(body[:12]), Src: parseAddr(body[12:])}, nil
	default:
		m := &CallMeMaybe{}
		if len(body) > 0 {
			m.Endpoints = make([]netip.AddrPort, 0, len(body)/addrLen)
		}
		for ; len(body) > 0; body = body[addrLen:] {
			m.Endpoints = append(m.Endpoints, parseAddr(body))
		}
		return h, m, nil
	}
}
