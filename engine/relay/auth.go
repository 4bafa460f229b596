package relay

import (
	"crypto/ed25519"
	"crypto/tls"
	"fmt"

	"github.com/rayfish/rayfish/engine/key"
)

// authDomain separates relay-auth signatures from every other use of node
// keys.
const authDomain = "rayfish relay auth v1\x00"

// exporterLabel is the RFC 5705 / RFC 8446 exporter label for the TLS
// channel binding.
const exporterLabel = "EXPORTER-rayfish-relay-auth"

const (
	bindingLen    = 32
	clientAuthLen = keyLen + ed25519.SignatureSize
)

// tlsBinding returns the keying material that binds the auth signature to
// this TLS session, or nil for a plain connection. A signature made for one
// TLS session is useless on any other, so a relay (or anyone between client
// and relay) cannot replay it to another relay.
func tlsBinding(cs *tls.ConnectionState) ([]byte, error) {
	if cs == nil {
		return nil, nil
	}
	b, err := cs.ExportKeyingMaterial(exporterLabel, nil, bindingLen)
	if err != nil {
		return nil, fmt.Errorf("relay: TLS exporter: %w", err)
	}
	return b, nil
}

// authMessage is what a client signs: the domain, the server's challenge
// and the TLS binding (empty on plain HTTP, where the signature is bound to
// the challenge only).
func authMessage(challenge, binding []byte) []byte {
	m := make([]byte, 0, len(authDomain)+challengeLen+bindingLen)
	m = append(m, authDomain...)
	m = append(m, challenge...)
	return append(m, binding...)
}

// clientAuth builds the ClientAuth payload.
func clientAuth(k key.NodePrivate, challenge, binding []byte) []byte {
	pub := k.Public()
	p := make([]byte, 0, clientAuthLen)
	p = append(p, pub[:]...)
	return append(p, k.Sign(authMessage(challenge, binding))...)
}

// verifyClientAuth checks a ClientAuth payload and returns the key it
// proves.
func verifyClientAuth(p, challenge, binding []byte) (key.NodePublic, error) {
	if len(p) != clientAuthLen {
		return key.NodePublic{}, fmt.Errorf("ClientAuth of %d bytes, want %d", len(p), clientAuthLen)
	}
	k, sig, _ := splitKey(p)
	if !k.Verify(authMessage(challenge, binding), sig) {
		return key.NodePublic{}, fmt.Errorf("bad signature for key %v", k.ShortString())
	}
	return k, nil
}
