package disco

import (
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/rayfish/rayfish/engine/key"
)

// kdfInfo separates disco's pair keys from every other use of node keys.
const kdfInfo = "rayfish disco v3 pair key\x00"

// Pair holds the keys of the disco messages between this node and one
// peer, one per direction. It is safe for concurrent use.
type Pair struct {
	self, peer key.NodePublic
	out, in    cipher.AEAD // self to peer, peer to self
}

// newPair derives the keys between the node with X25519 key x and public
// key self, and peer (see the package documentation). It costs an X25519
// and two HKDFs, tens of microseconds. It fails if peer is self, or no
// curve point, or of low order.
func newPair(x *ecdh.PrivateKey, self, peer key.NodePublic) (*Pair, error) {
	if peer == self {
		return nil, errors.New("disco: no pair with our own key")
	}
	px, err := peer.X25519()
	if err != nil {
		return nil, err
	}
	secret, err := x.ECDH(px)
	if err != nil {
		return nil, fmt.Errorf("disco: key %s: %w", peer.ShortString(), err)
	}
	defer clear(secret)
	p := &Pair{self: self, peer: peer}
	if p.out, err = pairAEAD(secret, self, peer); err != nil {
		return nil, err
	}
	if p.in, err = pairAEAD(secret, peer, self); err != nil {
		return nil, err
	}
	return p, nil
}

// pairAEAD returns the AEAD of the messages from one node to another.
func pairAEAD(secret []byte, from, to key.NodePublic) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, kdfInfo+string(from[:])+string(to[:]), chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	return chacha20poly1305.NewX(k)
}

// Append appends msg to the peer, stamped now and sealed, to dst and
// returns the extended slice. With room for MaxMessageLen in dst it does
// not allocate.
func (p *Pair) Append(dst []byte, msg Message) []byte {
	return p.appendAt(dst, msg, nextStamp())
}

func (p *Pair) appendAt(dst []byte, msg Message, stamp Stamp) []byte {
	start := len(dst)
	dst = append(dst, Magic...)
	dst = append(dst, p.self[:]...)
	dst = appendNonce(dst)
	dst = binary.BigEndian.AppendUint64(dst, uint64(stamp))
	dst = append(dst, msg.msgType())
	dst = appendBody(dst, msg) // sealed in place
	hdr, body := dst[start:start+headerLen], dst[start+headerLen:]
	return p.out.Seal(dst[:start+headerLen], hdr[nonceOff:stampOff], body, hdr)
}

// Buf holds what Open decodes; the Message Open returns points into it
// and is valid until the Buf is used again. The zero Buf is ready.
type Buf struct {
	ping Ping
	pong Pong
	cmm  CallMeMaybe
	eps  [MaxEndpoints]netip.AddrPort
	body [maxBodyLen]byte
}

// Open checks and opens the disco message b from the peer, decoding it
// into buf. It returns the sender's key and stamp, and the message. A
// message from another sender, sealed for another receiver, tampered
// with or truncated is refused; freshness is the caller's to check
// (Window). It does not allocate.
func (p *Pair) Open(b []byte, buf *Buf) (Header, Message, error) {
	from, ok := Sender(b)
	if !ok {
		return Header{}, nil, ErrNotDisco
	}
	if from != p.peer {
		return Header{}, nil, ErrWrongPair
	}
	typ := b[headerLen-1]
	// Check the layout before the cryptography.
	if err := bodyLen(typ, len(b)-headerLen-tagLen); err != nil {
		return Header{}, nil, err
	}
	body, err := p.in.Open(buf.body[:0], b[nonceOff:stampOff], b[headerLen:], b[:headerLen])
	if err != nil {
		return Header{}, nil, ErrBadSignature
	}
	h := Header{From: from, Stamp: Stamp(binary.BigEndian.Uint64(b[stampOff:]))}
	switch typ {
	case typePing:
		buf.ping = Ping{TxID: TxID(body)}
		return h, &buf.ping, nil
	case typePong:
		buf.pong = Pong{TxID: TxID(body[:12]), Src: parseAddr(body[12:])}
		return h, &buf.pong, nil
	default:
		buf.cmm.Endpoints = nil
		if len(body) > 0 {
			buf.cmm.Endpoints = buf.eps[:0]
		}
		for ; len(body) > 0; body = body[addrLen:] {
			buf.cmm.Endpoints = append(buf.cmm.Endpoints, parseAddr(body))
		}
		return h, &buf.cmm, nil
	}
}

// MaxPairs bounds the pairs a Keys caches.
const MaxPairs = 4096

// Keys caches the Pairs of one node with its peers. The caller says
// which to keep (members), and Retain drops the rest; at most MaxPairs
// are kept. Pairs are derived with no lock held. It is safe for
// concurrent use.
type Keys struct {
	x    *ecdh.PrivateKey
	self key.NodePublic
	max  int // MaxPairs; smaller in tests

	mu    sync.RWMutex // guards pairs; never held while deriving
	pairs map[key.NodePublic]*Pair
}

// NewKeys returns an empty cache for the node k.
func NewKeys(k key.NodePrivate) (*Keys, error) {
	x, err := k.X25519()
	if err != nil {
		return nil, err
	}
	return &Keys{x: x, self: k.Public(), max: MaxPairs, pairs: make(map[key.NodePublic]*Pair)}, nil
}

// Pair returns the pair with peer: the cached one, or a new one, cached
// if keep is set and there is room.
func (k *Keys) Pair(peer key.NodePublic, keep bool) (*Pair, error) {
	k.mu.RLock()
	p := k.pairs[peer]
	k.mu.RUnlock()
	if p != nil {
		return p, nil
	}
	p, err := newPair(k.x, k.self, peer)
	if err != nil || !keep {
		return p, err
	}
	k.mu.Lock()
	if q := k.pairs[peer]; q != nil {
		p = q // derived at the same time by another goroutine
	} else if len(k.pairs) < k.max {
		k.pairs[peer] = p
	}
	k.mu.Unlock()
	return p, nil
}

// Retain drops the cached pairs whose peer keep rejects.
func (k *Keys) Retain(keep func(key.NodePublic) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for peer := range k.pairs {
		if !keep(peer) {
			delete(k.pairs, peer)
		}
	}
}

// Len returns how many pairs are cached.
func (k *Keys) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.pairs)
}
