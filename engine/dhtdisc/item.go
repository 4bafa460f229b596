package dhtdisc

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

const (
	// MaxValue bounds a BEP 44 value (the protocol's limit is 1000 bytes
	// of bencoded value).
	MaxValue = 990
	// maxRecord is the largest encoded record: version, node, seq, count,
	// MaxEndpointAddrs IPv6 addresses, relay length, relay, signature.
	maxRecord = 1 + 32 + 8 + 1 + netmap.MaxEndpointAddrs*19 + 2 + netmap.MaxRelayLen + ed25519.SignatureSize
	recordV1  = 1
)

// PublicKey is the blinded key member m publishes under in network n;
// its BEP 44 target is SHA-1 of it.
func PublicKey(n key.NetworkPublic, m key.NodePublic) ([32]byte, error) {
	var out [32]byte
	A, err := new(edwards25519.Point).SetBytes(m[:])
	if err != nil {
		return out, fmt.Errorf("dhtdisc: node key: %w", err)
	}
	copy(out[:], new(edwards25519.Point).ScalarMult(blindFactor(n, m), A).Bytes())
	return out, nil
}

func blindFactor(n key.NetworkPublic, m key.NodePublic) *edwards25519.Scalar {
	h := sha512.New()
	h.Write([]byte("rayfish dht v1 blind"))
	h.Write(n[:])
	h.Write(m[:])
	s, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil)) // 64 bytes: cannot fail
	return s
}

// signer signs for the blinded key of one node in one network.
type signer struct {
	pub    [32]byte
	scalar *edwards25519.Scalar
	prefix [32]byte
}

func newSigner(n key.NetworkPublic, k key.NodePrivate) (*signer, error) {
	seed := k.Ed25519().Seed()
	hs := sha512.Sum512(seed)
	a, err := new(edwards25519.Scalar).SetBytesWithClamping(hs[:32])
	if err != nil {
		return nil, fmt.Errorf("dhtdisc: node key scalar: %w", err)
	}
	pub := k.Public()
	f := blindFactor(n, pub)
	s := &signer{scalar: new(edwards25519.Scalar).Multiply(f, a)}
	copy(s.pub[:], new(edwards25519.Point).ScalarBaseMult(s.scalar).Bytes())
	p := sha512.New()
	p.Write([]byte("rayfish dht v1 prefix"))
	p.Write(hs[32:])
	p.Write(f.Bytes())
	copy(s.prefix[:], p.Sum(nil))
	return s, nil
}

// sign is Ed25519 signing with an expanded (scalar, prefix) key; the
// result verifies with ed25519.Verify against s.pub.
func (s *signer) sign(msg []byte) []byte {
	h := sha512.New()
	h.Write(s.prefix[:])
	h.Write(msg)
	r, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h.Reset()
	h.Write(R)
	h.Write(s.pub[:])
	h.Write(msg)
	k, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	S := new(edwards25519.Scalar).MultiplyAdd(k, s.scalar, r)
	return append(R, S.Bytes()...)
}

func recordKey(n key.NetworkPublic) []byte {
	k, err := hkdf.Key(sha256.New, n[:], nil, "rayfish dht v1 record key", chacha20poly1305.KeySize)
	if err != nil {
		panic(err) // fixed sizes: cannot fail
	}
	return k
}

// Seal encrypts r for network n under the blinded key pub.
func Seal(n key.NetworkPublic, pub [32]byte, r netmap.EndpointRecord) ([]byte, error) {
	plain, err := Encode(r)
	if err != nil {
		return nil, err
	}
	aead, _ := chacha20poly1305.NewX(recordKey(n))
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(out)
	out = aead.Seal(out, out, plain, pub[:])
	if len(out) > MaxValue {
		return nil, fmt.Errorf("dhtdisc: sealed record is %d bytes, limit %d", len(out), MaxValue)
	}
	return out, nil
}

// Open decrypts and checks a value found under member m's blinded key in
// network n: it must decrypt, decode, name m and carry m's signature.
func Open(n key.NetworkPublic, m key.NodePublic, v []byte) (netmap.EndpointRecord, error) {
	var r netmap.EndpointRecord
	if len(v) > MaxValue {
		return r, fmt.Errorf("dhtdisc: value of %d bytes, limit %d", len(v), MaxValue)
	}
	pub, err := PublicKey(n, m)
	if err != nil {
		return r, err
	}
	aead, _ := chacha20poly1305.NewX(recordKey(n))
	if len(v) < aead.NonceSize()+aead.Overhead() {
		return r, errors.New("dhtdisc: value too short")
	}
	plain, err := aead.Open(nil, v[:aead.NonceSize()], v[aead.NonceSize():], pub[:])
	if err != nil {
		return r, errors.New("dhtdisc: value does not decrypt with this network's key")
	}
	if r, err = Decode(plain); err != nil {
		return r, err
	}
	if r.Node != m {
		return netmap.EndpointRecord{}, fmt.Errorf("dhtdisc: record of %s found under %s's key", r.Node.ShortString(), m.ShortString())
	}
	if err := r.Verify(); err != nil {
		return netmap.EndpointRecord{}, fmt.Errorf("dhtdisc: %w", err)
	}
	return r, nil
}

// Encode is the record's compact binary form: version 1, node, seq,
// address count, addresses (4 or 6, IP, port), relay length, relay,
// signature.
func Encode(r netmap.EndpointRecord) ([]byte, error) {
	if len(r.Addrs) > netmap.MaxEndpointAddrs || len(r.Relay) > netmap.MaxRelayLen || len(r.Sig) != ed25519.SignatureSize {
		return nil, errors.New("dhtdisc: record out of bounds")
	}
	b := make([]byte, 0, maxRecord)
	b = append(b, recordV1)
	b = append(b, r.Node[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = append(b, byte(len(r.Addrs)))
	for _, a := range r.Addrs {
		ip := a.Addr().Unmap()
		if ip.Is4() {
			b = append(b, 4)
		} else {
			b = append(b, 6)
		}
		b = append(b, ip.AsSlice()...)
		b = binary.BigEndian.AppendUint16(b, a.Port())
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Relay)))
	b = append(b, r.Relay...)
	return append(b, r.Sig...), nil
}

// Decode parses Encode's output. It checks bounds and form, not the
// signature (Open does).
func Decode(b []byte) (netmap.EndpointRecord, error) {
	var r netmap.EndpointRecord
	if len(b) > maxRecord {
		return r, fmt.Errorf("dhtdisc: record of %d bytes, limit %d", len(b), maxRecord)
	}
	d := decoder{b: b}
	if v := d.byte(); v != recordV1 {
		return r, fmt.Errorf("dhtdisc: record version %d, want %d", v, recordV1)
	}
	copy(r.Node[:], d.take(32))
	r.Seq = binary.BigEndian.Uint64(d.take(8))
	n := int(d.byte())
	if n > netmap.MaxEndpointAddrs {
		return netmap.EndpointRecord{}, fmt.Errorf("dhtdisc: record has %d addresses, limit %d", n, netmap.MaxEndpointAddrs)
	}
	r.Addrs = make([]netip.AddrPort, 0, n)
	for range n {
		var ip netip.Addr
		switch fam := d.byte(); fam {
		case 4:
			ip = netip.AddrFrom4([4]byte(d.take(4)))
		case 6:
			ip = netip.AddrFrom16([16]byte(d.take(16)))
		default:
			if d.err == nil {
				d.err = errors.New("dhtdisc: bad address family " + strconv.Itoa(int(fam)))
			}
		}
		r.Addrs = append(r.Addrs, netip.AddrPortFrom(ip, binary.BigEndian.Uint16(d.take(2))))
	}
	rl := int(binary.BigEndian.Uint16(d.take(2)))
	if rl > netmap.MaxRelayLen {
		return netmap.EndpointRecord{}, fmt.Errorf("dhtdisc: relay URL of %d bytes, limit %d", rl, netmap.MaxRelayLen)
	}
	r.Relay = string(d.take(rl))
	r.Sig = append([]byte(nil), d.take(ed25519.SignatureSize)...)
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("dhtdisc: %d trailing bytes after record", len(d.b))
	}
	if d.err != nil {
		return netmap.EndpointRecord{}, d.err
	}
	return r, nil
}

// decoder reads fixed-size fields; past the end it returns zeros of the
// size asked for and remembers the error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if len(d.b) < n {
		if d.err == nil {
			d.err = errors.New("dhtdisc: record truncated")
		}
		d.b = nil
		return make([]byte, n)
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte() byte { return d.take(1)[0] }
