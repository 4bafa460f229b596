package key

import (
	"crypto/ecdh"
	"crypto/sha512"
	"errors"
	"fmt"

	"filippo.io/edwards25519"
)

// X25519 returns k as an X25519 private key: the scalar ed25519 derives
// from the seed (the first half of its SHA-512), which X25519 clamps the
// same way ed25519 does. Its public key is p.X25519 of k's public key, so
// two nodes agree on a Diffie-Hellman secret from their node keys alone
// (as libsodium's crypto_sign_ed25519_sk_to_curve25519 does).
func (k NodePrivate) X25519() (*ecdh.PrivateKey, error) {
	if k.IsZero() {
		return nil, errors.New("key: zero node key")
	}
	h := sha512.Sum512(k.k.Seed())
	defer clear(h[:])
	return ecdh.X25519().NewPrivateKey(h[:32])
}

// X25519 returns p as an X25519 public key: the Montgomery form of the
// Edwards point. It fails for a p that is not a point on the curve. A
// low-order p converts, but every Diffie-Hellman with it fails (crypto/ecdh
// refuses the all-zero secret).
func (p NodePublic) X25519() (*ecdh.PublicKey, error) {
	pt, err := new(edwards25519.Point).SetBytes(p[:])
	if err != nil {
		return nil, fmt.Errorf("key: node key %s is not a curve point", p.ShortString())
	}
	return ecdh.X25519().NewPublicKey(pt.BytesMontgomery())
}
