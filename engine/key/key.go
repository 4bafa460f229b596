// Package key holds rayfish's typed keys: node and network ed25519 key
// pairs, their text forms, a node key's X25519 form (for disco's pair
// keys), and the overlay addresses derived from a node key.
//
// A node is its key: its id is the text form of its public key, and its
// overlay IPv4 (in 100.64.0.0/10) and IPv6 (in rayfish's ULA /48) are derived
// from that key, so an address can always be checked against the identity
// that sent it.
package key

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// enc is the text encoding of public keys: lowercase base32 without
// padding. It survives copy and paste, case folding and DNS labels.
var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// textLen is the length of a public key's text form.
var textLen = enc.EncodedLen(ed25519.PublicKeySize)

// NodePublic is a node's public key; its text form is the node id.
type NodePublic [ed25519.PublicKeySize]byte

// NetworkPublic is a network's public key; its text form is the network id.
type NetworkPublic [ed25519.PublicKeySize]byte

// NodePrivate is a node's private key. Its String never reveals it.
type NodePrivate struct{ k ed25519.PrivateKey }

// NetworkPrivate is a network's private key: holding it makes a node an
// admin of the network. Its String never reveals it.
type NetworkPrivate struct{ k ed25519.PrivateKey }

// NewNode generates a node key.
func NewNode() NodePrivate { return NodePrivate{k: generate()} }

// NewNetwork generates a network key.
func NewNetwork() NetworkPrivate { return NetworkPrivate{k: generate()} }

func generate() ed25519.PrivateKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic("key: crypto/rand failed: " + err.Error())
	}
	return priv
}

// IsZero reports whether k is the zero value.
func (k NodePrivate) IsZero() bool { return len(k.k) == 0 }

// Public returns the public half of k.
func (k NodePrivate) Public() NodePublic {
	var p NodePublic
	copy(p[:], k.k.Public().(ed25519.PublicKey))
	return p
}

// Sign signs msg with k.
func (k NodePrivate) Sign(msg []byte) []byte { return ed25519.Sign(k.k, msg) }

// Ed25519 returns the key for crypto/tls and x509.
func (k NodePrivate) Ed25519() ed25519.PrivateKey { return k.k }

// String hides the key.
func (k NodePrivate) String() string { return "NodePrivate{redacted}" }

// MarshalText returns the seed in text form, for the key file only.
func (k NodePrivate) MarshalText() ([]byte, error) {
	if k.IsZero() {
		return nil, errors.New("key: zero node key")
	}
	return []byte("nodekey:" + enc.EncodeToString(k.k.Seed())), nil
}

// UnmarshalText parses what MarshalText wrote.
func (k *NodePrivate) UnmarshalText(b []byte) error {
	seed, err := parseSeed(string(b), "nodekey:")
	if err != nil {
		return err
	}
	k.k = ed25519.NewKeyFromSeed(seed)
	return nil
}

// IsZero reports whether k is the zero value.
func (k NetworkPrivate) IsZero() bool { return len(k.k) == 0 }

// Public returns the public half of k.
func (k NetworkPrivate) Public() NetworkPublic {
	var p NetworkPublic
	copy(p[:], k.k.Public().(ed25519.PublicKey))
	return p
}

// Sign signs msg with k.
func (k NetworkPrivate) Sign(msg []byte) []byte { return ed25519.Sign(k.k, msg) }

// String hides the key.
func (k NetworkPrivate) String() string { return "NetworkPrivate{redacted}" }

// MarshalText returns the seed in text form, for the state file only.
func (k NetworkPrivate) MarshalText() ([]byte, error) {
	if k.IsZero() {
		return nil, errors.New("key: zero network key")
	}
	return []byte("netkey:" + enc.EncodeToString(k.k.Seed())), nil
}

// UnmarshalText parses what MarshalText wrote.
func (k *NetworkPrivate) UnmarshalText(b []byte) error {
	seed, err := parseSeed(string(b), "netkey:")
	if err != nil {
		return err
	}
	k.k = ed25519.NewKeyFromSeed(seed)
	return nil
}

func parseSeed(s, prefix string) ([]byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), prefix)
	if !ok {
		return nil, fmt.Errorf("key: private key must start with %q", prefix)
	}
	seed, err := enc.DecodeString(rest)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("key: malformed private key")
	}
	return seed, nil
}

// String returns the node id.
func (p NodePublic) String() string { return enc.EncodeToString(p[:]) }

// ShortString returns a prefix of the node id for logs and tables.
func (p NodePublic) ShortString() string { return p.String()[:8] }

// IsZero reports whether p is the zero value.
func (p NodePublic) IsZero() bool { return p == NodePublic{} }

// Less orders node keys; it decides which of two duplicate connections stays.
func (p NodePublic) Less(q NodePublic) bool { return bytes.Compare(p[:], q[:]) < 0 }

// Verify reports whether sig is p's signature of msg.
func (p NodePublic) Verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(p[:], msg, sig)
}

// MarshalText implements encoding.TextMarshaler.
func (p NodePublic) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *NodePublic) UnmarshalText(b []byte) error {
	k, err := ParseNodePublic(string(b))
	*p = k
	return err
}

// ParseNodePublic parses a node id.
func ParseNodePublic(s string) (NodePublic, error) {
	var p NodePublic
	if err := parsePublic(s, p[:]); err != nil {
		return p, fmt.Errorf("invalid node id %q: %w", s, err)
	}
	return p, nil
}

// String returns the network id.
func (p NetworkPublic) String() string { return enc.EncodeToString(p[:]) }

// ShortString returns a prefix of the network id.
func (p NetworkPublic) ShortString() string { return p.String()[:8] }

// IsZero reports whether p is the zero value.
func (p NetworkPublic) IsZero() bool { return p == NetworkPublic{} }

// Verify reports whether sig is p's signature of msg.
func (p NetworkPublic) Verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(p[:], msg, sig)
}

// MarshalText implements encoding.TextMarshaler.
func (p NetworkPublic) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *NetworkPublic) UnmarshalText(b []byte) error {
	k, err := ParseNetworkPublic(string(b))
	*p = k
	return err
}

// ParseNetworkPublic parses a network id.
func ParseNetworkPublic(s string) (NetworkPublic, error) {
	var p NetworkPublic
	if err := parsePublic(s, p[:]); err != nil {
		return p, fmt.Errorf("invalid network id %q: %w", s, err)
	}
	return p, nil
}

func parsePublic(s string, dst []byte) error {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != textLen {
		return fmt.Errorf("want %d characters, got %d", textLen, len(s))
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return errors.New("not base32")
	}
	copy(dst, b)
	return nil
}
