package key

import (
	"bytes"
	"testing"
)

// TestX25519: a node key's X25519 private half matches the conversion of
// its public key, two nodes agree on one secret, and keys that are no
// curve point or have low order give no secret.
func TestX25519(t *testing.T) {
	a, b := NewNode(), NewNode()
	ax, err := a.X25519()
	if err != nil {
		t.Fatal(err)
	}
	apub, err := a.Public().X25519()
	if err != nil {
		t.Fatal(err)
	}
	if !ax.PublicKey().Equal(apub) {
		t.Fatal("X25519 of the private key does not match X25519 of the public key")
	}
	bx, _ := b.X25519()
	bpub, _ := b.Public().X25519()
	s1, err := ax.ECDH(bpub)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := bx.ECDH(apub)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1, s2) {
		t.Fatal("the two sides computed different secrets")
	}
	if _, err := (NodePrivate{}).X25519(); err == nil {
		t.Error("zero private key converted")
	}

	// y = 2 is no point of edwards25519; y = 1 is the identity (order 1);
	// y = -1 (p-1) has order 2.
	notPoint := NodePublic{2}
	if _, err := notPoint.X25519(); err == nil {
		t.Error("a key that is not a curve point converted")
	}
	identity := NodePublic{1}
	minusOne := NodePublic{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	for name, low := range map[string]NodePublic{"identity": identity, "order 2": minusOne} {
		pub, err := low.X25519()
		if err != nil {
			continue // refused already: fine
		}
		if _, err := ax.ECDH(pub); err == nil {
			t.Errorf("%s: Diffie-Hellman with a low-order key gave a secret", name)
		}
	}
}
