// Package bulk is rayfish's fast data channel: IP packets sealed with an
// AEAD under keys exported from a peer's QUIC (TLS 1.3) session, carried on
// the same UDP socket as QUIC, disco and STUN.
//
// QUIC stays the handshake, identity, control and fallback path: a bulk
// session exists only while its QUIC connection does, its keys come from
// that connection's TLS exporter (RFC 8446, section 7.5), and nothing about
// identity changes. What the bulk channel removes is quic-go's per-datagram
// cost: a packet here is one header write and one AEAD call, with no
// allocation.
//
// # Wire format
//
//	Marker (1) | receiver session id (8) | counter (8, big endian) | AEAD ciphertext and tag
//
// The 17-byte header is the AEAD's additional data, so flipping any header
// bit fails authentication. The AEAD nonce is the last 12 header bytes:
// the last four bytes of the session id followed by the counter. The
// counter makes it unique under a key; taking it from the header, rather
// than building it on the stack, keeps the interface call to the AEAD free
// of allocations.
//
// # Telling bulk packets from the rest
//
// Marker is 0x2b. QUIC (RFC 9000, section 17) sets 0x80 or the fixed bit
// 0x40 on every packet, so a first byte in 0x00–0x3f is never QUIC; disco
// messages start with 0x00 and STUN messages from real servers with 0x00 or
// 0x01. A demultiplexer checks disco.Looks, then Looks, then STUN, and hands
// the rest to QUIC. Bytes 4 to 7 of a bulk packet are session id bytes that
// may, with probability 2^-32 per session, equal STUN's magic cookie, so
// Looks must be checked before stun.IsMessage.
//
// # Keys and sessions
//
// DeriveKeysEpoch exports 80 bytes with the label "rayfish bulk v1" and a
// context naming the cipher and an epoch: a 32-byte key and an 8-byte
// session id for each direction. The session id in a packet is the one its
// receiver knows the session by, so the socket layer finds the Receiver
// with one map lookup (ParseSession) instead of a lookup by address, and a
// packet reflected back to its sender names a session the sender does not
// receive on. Epochs give fresh keys from the same TLS session without a
// new handshake; see Sender.NeedsRekey.
//
// # Ciphers
//
// AES-256-GCM and ChaCha20-Poly1305 are both supported. The choice is not
// negotiated here: it follows the TLS 1.3 cipher suite the QUIC handshake
// already agreed on, which Go's crypto/tls picks as AES-GCM only when both
// ends have AES-GCM hardware (client preference order and server check),
// and ChaCha20-Poly1305 otherwise. That is the CPU feature detection we
// want, and both ends see the same result. wireguard-go uses
// ChaCha20-Poly1305 only; with AES-NI and carry-less multiplication
// AES-GCM is faster (see the benchmarks in this package's tests).
//
// # Limits
//
// A Sender numbers packets from 0 and refuses to seal once a cipher's limit
// is reached (ErrExhausted): 2^60 packets for ChaCha20-Poly1305 (as
// WireGuard), 2^25 for AES-GCM. AES-GCM's confidentiality bound depends on
// the number of blocks s encrypted under one key (an attacker's advantage
// is about s^2/2^129): 2^25 packets of at most MaxPacket bytes are at most
// 2^35 blocks, an advantage of 2^-59. NeedsRekey turns true at half the
// limit (2^59 and 2^24; the latter gives 2^-61, within the 2^-60 that TLS
// 1.3 aims for in RFC 8446, section 5.5, and is about two minutes of
// 1400-byte packets at 1.5 Gbit/s), so a caller that moves to the next
// epoch in time never sees the error. NeedsRekey also turns true once the
// Sender is RekeyAfterTime old, if it sealed RekeyMinPackets.
// A Receiver refuses to open once it has seen as many forgeries as the
// cipher's integrity limit (RFC 9001, section 6.6: 2^36 for
// ChaCha20-Poly1305, 2^52 for AES-GCM). That stops only its own epoch:
// the peer's Sender moves to the next epoch, whose Receiver starts from
// zero, within RekeyAfterTime, and no attacker forges 2^36 packets in two
// minutes.
//
// # Replay
//
// A Receiver keeps a sliding window of WindowSize counters behind the
// newest one it accepted. Packets inside the window are accepted once, in
// any order; repeats are ErrReplay, anything older is ErrTooOld. The window
// changes only after a packet authenticates, so forgeries cannot move it.
package bulk

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// Marker is the first byte of every bulk packet.
const Marker = 0x2b

const (
	// HeaderLen is the length of the header in front of the ciphertext.
	HeaderLen = 1 + sessionLen + 8
	// TagLen is the length of the AEAD tag after the ciphertext.
	TagLen = 16
	// Overhead is what sealing adds to a packet.
	Overhead = HeaderLen + TagLen
	// MaxPacket is the largest packet Seal accepts: far above any MTU, and
	// small enough for the AES-GCM limits to hold.
	MaxPacket = 1 << 14

	sessionLen = 8
	keyLen     = 32
	nonceOff   = HeaderLen - 12 // the nonce is the last 12 header bytes
	counterOff = 1 + sessionLen
)

// Errors returned per packet. They are plain sentinels, never wrapped, so
// the data path does not allocate; compare with ==.
var (
	ErrShort        = errors.New("bulk: packet too short")
	ErrNotBulk      = errors.New("bulk: not a bulk packet")
	ErrWrongSession = errors.New("bulk: wrong session")
	ErrReplay       = errors.New("bulk: replayed packet")
	ErrTooOld       = errors.New("bulk: packet older than the replay window")
	ErrAuth         = errors.New("bulk: authentication failed")
	ErrTooLarge     = errors.New("bulk: packet larger than MaxPacket")
	ErrExhausted    = errors.New("bulk: key usage limit reached, rekey needed")
	ErrClosed       = errors.New("bulk: session closed")
)

// Cipher is an AEAD the bulk channel can use.
type Cipher uint8

const (
	// ChaCha20Poly1305 is RFC 8439's AEAD; fast everywhere, in software.
	ChaCha20Poly1305 Cipher = 1
	// AES256GCM is AES-256 in Galois/counter mode; fastest with AES and
	// carry-less multiplication instructions.
	AES256GCM Cipher = 2
)

func (c Cipher) String() string {
	switch c {
	case ChaCha20Poly1305:
		return "ChaCha20-Poly1305"
	case AES256GCM:
		return "AES-256-GCM"
	}
	return fmt.Sprintf("Cipher(%d)", uint8(c))
}

// limits returns the packet counts at which a sender should rekey and must
// stop, and the number of forgeries a receiver may see.
func (c Cipher) limits() (rekeyAfter, rejectAfter, maxForgeries uint64) {
	if c == AES256GCM {
		return 1 << 24, 1 << 25, 1 << 52
	}
	return 1 << 59, 1 << 60, 1 << 36
}

func (c Cipher) aead(key *[keyLen]byte) (cipher.AEAD, error) {
	switch c {
	case ChaCha20Poly1305:
		return chacha20poly1305.New(key[:])
	case AES256GCM:
		b, err := aes.NewCipher(key[:])
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	}
	return nil, fmt.Errorf("bulk: unknown cipher %d", uint8(c))
}

// SessionID names one direction of a bulk session to its receiver.
type SessionID [sessionLen]byte

func (s SessionID) String() string { return hex.EncodeToString(s[:]) }

// Keys is one direction of a bulk session: what a Sender seals with, or a
// Receiver opens with.
type Keys struct {
	Cipher  Cipher
	Key     [keyLen]byte
	Session SessionID
}

// Zero overwrites k. Senders and Receivers keep no copy of Keys, so a
// caller that zeroes its Keys after NewSender and NewReceiver leaves the
// key only inside the AEAD's own state, which Go gives no way to clear;
// closing the Sender or Receiver drops that for the garbage collector.
func (k *Keys) Zero() { *k = Keys{} }

// String describes k without the key.
func (k Keys) String() string {
	return fmt.Sprintf("bulk.Keys{%v session %v}", k.Cipher, k.Session)
}

// Looks reports whether b starts like a bulk packet. It looks at the first
// byte only; Open checks the rest.
func Looks(b []byte) bool { return len(b) > 0 && b[0] == Marker }

// ParseSession returns the receiver session id of a bulk packet, for
// finding its Receiver. It does not authenticate anything.
func ParseSession(b []byte) (SessionID, bool) {
	var s SessionID
	if len(b) < HeaderLen+TagLen || b[0] != Marker {
		return s, false
	}
	copy(s[:], b[1:1+sessionLen])
	return s, true
}

// counterOf returns the counter in a packet's header.
func counterOf(b []byte) uint64 { return binary.BigEndian.Uint64(b[counterOff:HeaderLen]) }

// aeadBox lets Senders and Receivers drop their AEAD atomically on Close.
type aeadBox struct{ aead cipher.AEAD }
