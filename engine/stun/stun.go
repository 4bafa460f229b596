// Package stun implements the part of STUN (RFC 5389) that rayfish needs:
// binding requests and their responses, over UDP, to learn the address and
// port a NAT maps a local socket to.
//
// The client side builds requests (AppendRequest, BuildRequest) and parses
// responses (ParseResponse), which carry the reflexive address in an
// XOR-MAPPED-ADDRESS attribute (or, from old servers, MAPPED-ADDRESS). The
// server side (HandleRequest, Serve) answers binding requests; the relay runs
// it on its --stun-port. IsMessage lets a socket shared with QUIC and disco
// probes recognize STUN packets by their magic cookie.
//
// Only the binding method is supported; no authentication, no TCP, no
// TURN. Parsing never allocates and is fuzzed.
package stun

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
)

// TxID is a STUN transaction id. A response carries the id of the request it
// answers.
type TxID [12]byte

// NewTxID returns a random transaction id.
func NewTxID() TxID {
	var id TxID
	rand.Read(id[:]) // crypto/rand.Read never fails
	return id
}

// Wire constants from RFC 5389.
const (
	headerLen   = 20
	magicCookie = 0x2112A442

	typeBindingRequest = 0x0001
	typeBindingSuccess = 0x0101
	typeBindingError   = 0x0111

	attrMappedAddress     = 0x0001
	attrXORMappedAddress  = 0x0020
	attrXORMappedAddress2 = 0x8020 // used by some pre-RFC 5389 servers
	attrFingerprint       = 0x8028

	fingerprintXOR = 0x5354554e
	fingerprintLen = 8 // attribute header + CRC-32

	familyIPv4 = 0x01
	familyIPv6 = 0x02
)

// MaxResponseLen is the length of the longest response HandleRequest writes:
// header, an IPv6 XOR-MAPPED-ADDRESS and a FINGERPRINT.
const MaxResponseLen = headerLen + 4 + 20 + fingerprintLen

// Errors returned by ParseResponse.
var (
	ErrNotSTUN          = errors.New("stun: not a STUN message")
	ErrNotResponse      = errors.New("stun: not a binding success response")
	ErrMalformed        = errors.New("stun: malformed attribute")
	ErrBadFingerprint   = errors.New("stun: fingerprint mismatch")
	ErrNoMappedAddress  = errors.New("stun: response has no mapped address")
	ErrErrorResponse    = errors.New("stun: server returned an error response")
	ErrUnsupportedValue = errors.New("stun: unsupported address family")
)

// IsMessage reports whether b looks like a STUN message: the two top bits
// of the first byte are zero, the magic cookie is in place, and the length
// field matches the datagram. It is cheap enough to run on every packet of a
// shared socket.
func IsMessage(b []byte) bool {
	if len(b) < headerLen || b[0]&0xC0 != 0 {
		return false
	}
	if binary.BigEndian.Uint32(b[4:8]) != magicCookie {
		return false
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	return n%4 == 0 && headerLen+n == len(b)
}

// BuildRequest returns a binding request with transaction id txID.
func BuildRequest(txID TxID) []byte {
	return AppendRequest(make([]byte, 0, headerLen+fingerprintLen), txID)
}

// AppendRequest appends a binding request with transaction id txID to b and
// returns the extended slice. The request carries a FINGERPRINT attribute.
func AppendRequest(b []byte, txID TxID) []byte {
	start := len(b)
	b = appendHeader(b, typeBindingRequest, txID)
	return appendFingerprint(b, start)
}

func appendHeader(b []byte, typ uint16, txID TxID) []byte {
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, 0) // length, fixed up later
	b = binary.BigEndian.AppendUint32(b, magicCookie)
	return append(b, txID[:]...)
}

// appendFingerprint sets the length of the message starting at b[start:] to
// include a FINGERPRINT attribute, then appends that attribute.
func appendFingerprint(b []byte, start int) []byte {
	msg := b[start:]
	binary.BigEndian.PutUint16(msg[2:4], uint16(len(msg)-headerLen+fingerprintLen))
	crc := crc32.ChecksumIEEE(msg) ^ fingerprintXOR
	b = binary.BigEndian.AppendUint16(b, attrFingerprint)
	b = binary.BigEndian.AppendUint16(b, 4)
	return binary.BigEndian.AppendUint32(b, crc)
}

// walkAttrs calls fn for each attribute of the message b, which must have
// passed IsMessage. It checks attribute framing and, if present, the
// FINGERPRINT, which must be the last attribute.
func walkAttrs(b []byte, fn func(typ uint16, val []byte)) error {
	rest := b[headerLen:]
	for len(rest) > 0 {
		if len(rest) < 4 {
			return ErrMalformed
		}
		typ := binary.BigEndian.Uint16(rest[0:2])
		n := int(binary.BigEndian.Uint16(rest[2:4]))
		padded := (n + 3) &^ 3
		if 4+padded > len(rest) {
			return ErrMalformed
		}
		val := rest[4 : 4+n]
		if typ == attrFingerprint {
			if n != 4 || len(rest) != fingerprintLen {
				return ErrMalformed
			}
			off := len(b) - len(rest)
			want := crc32.ChecksumIEEE(b[:off]) ^ fingerprintXOR
			if binary.BigEndian.Uint32(val) != want {
				return ErrBadFingerprint
			}
			return nil
		}
		fn(typ, val)
		rest = rest[4+padded:]
	}
	return nil
}

func txIDOf(b []byte) TxID {
	var id TxID
	copy(id[:], b[8:headerLen])
	return id
}

// ParseResponse parses a binding success response and returns its
// transaction id and the mapped (reflexive) address. XOR-MAPPED-ADDRESS is
// preferred over MAPPED-ADDRESS. IPv4-mapped IPv6 addresses are unmapped.
func ParseResponse(b []byte) (TxID, netip.AddrPort, error) {
	if !IsMessage(b) {
		return TxID{}, netip.AddrPort{}, ErrNotSTUN
	}
	id := txIDOf(b)
	switch binary.BigEndian.Uint16(b[0:2]) {
	case typeBindingSuccess:
	case typeBindingError:
		return id, netip.AddrPort{}, ErrErrorResponse
	default:
		return id, netip.AddrPort{}, ErrNotResponse
	}
	var xorAddr, plainAddr netip.AddrPort
	var badAttr error
	err := walkAttrs(b, func(typ uint16, val []byte) {
		switch typ {
		case attrXORMappedAddress, attrXORMappedAddress2:
			if xorAddr.IsValid() {
				return
			}
			ap, err := parseAddress(val, b[4:headerLen])
			if err != nil {
				badAttr = err
				return
			}
			xorAddr = ap
		case attrMappedAddress:
			if plainAddr.IsValid() {
				return
			}
			ap, err := parseAddress(val, nil)
			if err != nil {
				badAttr = err
				return
			}
			plainAddr = ap
		}
	})
	if err != nil {
		return id, netip.AddrPort{}, err
	}
	switch {
	case xorAddr.IsValid():
		return id, xorAddr, nil
	case plainAddr.IsValid():
		return id, plainAddr, nil
	case badAttr != nil:
		return id, netip.AddrPort{}, badAttr
	}
	return id, netip.AddrPort{}, ErrNoMappedAddress
}

// parseAddress parses a (XOR-)MAPPED-ADDRESS value. xor is nil for
// MAPPED-ADDRESS, else the 16 bytes of magic cookie and transaction id.
func parseAddress(val, xor []byte) (netip.AddrPort, error) {
	if len(val) < 4 {
		return netip.AddrPort{}, ErrMalformed
	}
	family := val[1]
	port := binary.BigEndian.Uint16(val[2:4])
	raw := val[4:]
	var ip [16]byte
	switch {
	case family == familyIPv4 && len(raw) == 4:
	case family == familyIPv6 && len(raw) == 16:
	case family == familyIPv4 || family == familyIPv6:
		return netip.AddrPort{}, ErrMalformed
	default:
		return netip.AddrPort{}, ErrUnsupportedValue
	}
	copy(ip[:], raw)
	if xor != nil {
		port ^= magicCookie >> 16
		for i := range raw {
			ip[i] ^= xor[i]
		}
	}
	var addr netip.Addr
	if family == familyIPv4 {
		addr = netip.AddrFrom4([4]byte(ip[:4]))
	} else {
		addr = netip.AddrFrom16(ip).Unmap()
	}
	return netip.AddrPortFrom(addr, port), nil
}

// parseRequest checks that b is a well-formed binding request and returns
// its transaction id.
func parseRequest(b []byte) (TxID, bool) {
	if !IsMessage(b) || binary.BigEndian.Uint16(b[0:2]) != typeBindingRequest {
		return TxID{}, false
	}
	if err := walkAttrs(b, func(uint16, []byte) {}); err != nil {
		return TxID{}, false
	}
	return txIDOf(b), true
}

// AppendResponse appends a binding success response for txID that reports
// addr in an XOR-MAPPED-ADDRESS attribute, followed by a FINGERPRINT.
func AppendResponse(b []byte, txID TxID, addr netip.AddrPort) []byte {
	start := len(b)
	b = appendHeader(b, typeBindingSuccess, txID)
	ip := addr.Addr().Unmap()
	b = binary.BigEndian.AppendUint16(b, attrXORMappedAddress)
	if ip.Is4() {
		b = binary.BigEndian.AppendUint16(b, 8)
		b = append(b, 0, familyIPv4)
	} else {
		b = binary.BigEndian.AppendUint16(b, 20)
		b = append(b, 0, familyIPv6)
	}
	b = binary.BigEndian.AppendUint16(b, addr.Port()^(magicCookie>>16))
	xor := b[start+4 : start+headerLen] // cookie and transaction id
	if ip.Is4() {
		a := ip.As4()
		for i := range a {
			b = append(b, a[i]^xor[i])
		}
	} else {
		a := ip.As16()
		for i := range a {
			b = append(b, a[i]^xor[i])
		}
	}
	return appendFingerprint(b, start)
}

// HandleRequest answers the binding request req, received from src, by
// writing a success response into out. It returns the response length and
// true, or false if req is not a well-formed binding request or out is
// shorter than MaxResponseLen. It does not allocate.
func HandleRequest(req []byte, src netip.AddrPort, out []byte) (int, bool) {
	id, ok := parseRequest(req)
	if !ok || len(out) < MaxResponseLen || !src.IsValid() {
		return 0, false
	}
	resp := AppendResponse(out[:0], id, src)
	return len(resp), true
}

// String describes a transaction id for tests and logs.
func (id TxID) String() string { return fmt.Sprintf("%x", id[:]) }
