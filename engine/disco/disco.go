// Package disco encodes and decodes rayfish's path-discovery messages: the
// small authenticated probes (Ping, Pong, CallMeMaybe) that peers exchange
// on the UDP socket they also use for QUIC, and through the relay, to find
// and keep direct paths.
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
//	Magic (6) | sender node key (32) | nonce (24) | stamp (8) | type (1) | sealed body | tag (16)
//
// The body is sealed with XChaCha20-Poly1305 under the key of the ordered
// pair (sender, receiver); the header before it (magic, sender, nonce,
// stamp, type) is the additional data, so nothing in the message can be
// changed without the tag failing. Bodies have fixed layouts and must have
// exactly the expected length, checked before any cryptography. Ping and
// Pong carry a random transaction id that the pinger matches, so a
// replayed Pong answers no outstanding Ping. Sealing also hides the
// addresses in Pongs and CallMeMaybes from relays and the LAN.
//
// # Keys: one Diffie-Hellman per pair, not a signature per message
//
// Until v2 every message was signed with the sender's ed25519 node key,
// and verifying a signature (tens of microseconds) was half of an idle
// node's CPU with 50 peers. Now two nodes derive their pair keys once
// from their node keys (Keys.Pair): each converts its ed25519 key to X25519
// (key.NodePrivate.X25519, key.NodePublic.X25519), the X25519
// Diffie-Hellman of the two gives a secret only these two nodes can
// compute, and HKDF-SHA256 of it with both public keys, in order, gives
// one key per direction. A Keys caches the pairs of members, so a
// message costs one AEAD open (about a microsecond) instead of a
// signature check.
//
// What the signature gave, the pair key gives too: only the holder of
// the sender's (or the receiver's) private key can seal a message that
// opens, and the receiver knows the sender's key the moment it reads the
// header, so first contact (a joiner pinging the node that invited it,
// any key not yet vouched for) needs no signature either: the receiver
// derives the pair for that key on the spot, at about the cost of the old
// verification and only behind the caller's rate limit. The sender's and
// receiver's keys are in the key derivation, in order, so a message
// opens only for the receiver it was sealed for and only as coming from
// its sender: it cannot be reflected back to its sender or sent on to a
// third node. Low-order keys give no secret (crypto/ecdh refuses the
// all-zero result) and are refused. What the pair key does not give is
// proof to a third party, which disco never needs; and a node whose
// private key leaked can be sent forged disco by the thief, who can
// impersonate that node entirely anyway. Using one key for ed25519 and
// X25519 is the libsodium construction, shown safe for signatures
// alongside Diffie-Hellman (Thormarker, 2021).
//
// The nonce is a random 16-byte prefix drawn once per process and a
// 64-bit counter, so it never repeats for a pair key, which lives as long
// as the node keys: not within one process (the counter), not across
// restarts (the prefix), whatever the clock does.
//
// # Freshness
//
// The stamp is the sender's clock in Unix nanoseconds, strictly increasing
// across the messages of one process. A receiver keeps a Window per
// sender: it refuses a message stamped more than MaxClockSkew from its own
// clock, and one it accepted before (or too far behind the newest it
// accepted), so a captured ping or call-me-maybe replayed from another
// address, or later, is ignored.
package disco

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/rayfish/rayfish/engine/key"
)

// Magic starts every disco message. See the package documentation for why
// QUIC and STUN never produce it.
const Magic = "\x00rfd\x1f\x80"

const (
	keyLen     = len(key.NodePublic{})
	nonceOff   = len(Magic) + keyLen
	nonceLen   = chacha20poly1305.NonceSizeX
	stampOff   = nonceOff + nonceLen
	stampLen   = 8
	headerLen  = stampOff + stampLen + 1
	tagLen     = chacha20poly1305.Overhead
	addrLen    = 18 // 16-byte IPv6 (IPv4 mapped) address and 2-byte port
	maxBodyLen = MaxEndpoints * addrLen
)

// MaxEndpoints is the most endpoints one CallMeMaybe carries.
const MaxEndpoints = 16

// MaxMessageLen is the length of the longest disco message.
const MaxMessageLen = headerLen + maxBodyLen + tagLen

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
}

// Ping asks the receiver to answer with a Pong on the path it arrived on.
// The pinger's key is the message's sender key, returned by Open.
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

// appendBody appends msg's body to b. A type switch rather than a method
// keeps b on the caller's stack.
func appendBody(b []byte, msg Message) []byte {
	switch m := msg.(type) {
	case *Ping:
		return append(b, m.TxID[:]...)
	case *Pong:
		b = append(b, m.TxID[:]...)
		return appendAddr(b, m.Src)
	case *CallMeMaybe:
		for i, ep := range m.Endpoints {
			if i == MaxEndpoints {
				break
			}
			b = appendAddr(b, ep)
		}
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

// bodyLen checks that n is a valid body length for type typ.
func bodyLen(typ byte, n int) error {
	var want int
	switch typ {
	case typePing:
		want = len(TxID{})
	case typePong:
		want = len(TxID{}) + addrLen
	case typeCallMeMaybe:
		if n%addrLen != 0 || n > maxBodyLen {
			return fmt.Errorf("%w: call-me-maybe body of %d bytes", ErrBadLength, n)
		}
		want = n
	default:
		return fmt.Errorf("%w: %#x", ErrUnknownType, typ)
	}
	if n != want {
		return fmt.Errorf("%w: type %#x body of %d bytes, want %d", ErrBadLength, typ, n, want)
	}
	return nil
}

// Nonces: a per-process random prefix and a counter (see the package
// documentation).
var (
	noncePrefix = func() (p [nonceLen - 8]byte) {
		rand.Read(p[:]) // crypto/rand.Read never fails
		return p
	}()
	nonceCount atomic.Uint64
)

func appendNonce(b []byte) []byte {
	b = append(b, noncePrefix[:]...)
	return binary.BigEndian.AppendUint64(b, nonceCount.Add(1))
}

// Looks reports whether b starts with Magic, that is whether a packet on
// the shared UDP socket is meant for disco rather than QUIC or STUN.
func Looks(b []byte) bool {
	return len(b) >= len(Magic) && string(b[:len(Magic)]) == Magic
}

// Sender returns the sender key claimed by the disco message b without
// checking anything else, so a receiver can pick the pair to open it with,
// and drop messages from unknown keys before deriving a pair for them.
func Sender(b []byte) (key.NodePublic, bool) {
	var from key.NodePublic
	if len(b) < headerLen+tagLen || !Looks(b) {
		return from, false
	}
	copy(from[:], b[len(Magic):])
	return from, true
}

// Errors returned by Open.
var (
	ErrNotDisco     = errors.New("disco: not a disco message")
	ErrBadSignature = errors.New("disco: not authentic, or for another receiver")
	ErrWrongPair    = errors.New("disco: sender is not the pair's peer")
	ErrUnknownType  = errors.New("disco: unknown message type")
	ErrBadLength    = errors.New("disco: bad message length")
)

// Header is what Open learns besides the message: who sent it, and
// when by its clock. Check Stamp with the sender's Window.
type Header struct {
	From  key.NodePublic
	Stamp Stamp
}

// Encode returns msg from k to the node to, stamped now. It derives the
// pair's keys for this one message; senders of many messages keep a Pair
// (or a Keys). It returns nil if there is no pair of k and to (see Keys.Pair).
func Encode(k key.NodePrivate, to key.NodePublic, msg Message) []byte {
	ks, err := NewKeys(k)
	if err != nil {
		return nil
	}
	p, err := ks.Pair(to, false)
	if err != nil {
		return nil
	}
	return p.Append(nil, msg)
}
