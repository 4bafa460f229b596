package bulk

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
)

// exportLabel is the TLS exporter label for bulk keys (RFC 8446, section
// 7.5). Changing the wire format or the derivation means a new label.
const exportLabel = "rayfish bulk v1"

// exportLen is what DeriveKeysEpoch exports: a key and a session id per
// direction, client to server first.
const exportLen = 2*keyLen + 2*sessionLen

// DeriveKeysEpoch returns the bulk keys of one epoch for one end of a TLS
// 1.3 session: send seals what this end sends, recv opens what it
// receives. The client's send keys are the server's recv keys and vice
// versa. With quic-go, pass conn.ConnectionState().TLS once the handshake
// is complete; a session starts at epoch 0. Every epoch of a TLS session
// has independent keys and session ids, so both ends can move to epoch
// n+1 without a handshake: a sender switches when NeedsRekey says so,
// and a receiver that keeps Receivers for epochs n and n+1 (found by
// session id) switches when the first packet of n+1 authenticates.
func DeriveKeysEpoch(cs tls.ConnectionState, isClient bool, epoch uint32) (send, recv Keys, err error) {
	if !cs.HandshakeComplete {
		return send, recv, errors.New("bulk: derive keys: TLS handshake not complete")
	}
	if cs.Version != tls.VersionTLS13 {
		return send, recv, fmt.Errorf("bulk: derive keys: TLS version %#04x, want TLS 1.3", cs.Version)
	}
	c, err := cipherForSuite(cs.CipherSuite)
	if err != nil {
		return send, recv, fmt.Errorf("bulk: derive keys: %w", err)
	}
	// The context binds the cipher, so a key never serves two algorithms,
	// and the epoch.
	var context [5]byte
	context[0] = byte(c)
	binary.BigEndian.PutUint32(context[1:], epoch)
	m, err := cs.ExportKeyingMaterial(exportLabel, context[:], exportLen)
	if err != nil {
		return send, recv, fmt.Errorf("bulk: derive keys: %w", err)
	}
	defer clear(m)

	var c2s, s2c Keys
	c2s.Cipher, s2c.Cipher = c, c
	copy(c2s.Key[:], m[0:keyLen])
	copy(s2c.Key[:], m[keyLen:2*keyLen])
	copy(c2s.Session[:], m[2*keyLen:2*keyLen+sessionLen])
	copy(s2c.Session[:], m[2*keyLen+sessionLen:])
	if isClient {
		return c2s, s2c, nil
	}
	return s2c, c2s, nil
}

// cipherForSuite maps the negotiated TLS 1.3 cipher suite to the bulk
// cipher. Go's crypto/tls negotiates an AES-GCM suite only when both ends
// have AES-GCM hardware (or FIPS mode forbids ChaCha20-Poly1305), so
// following it picks AES-GCM exactly when it is fast on both ends.
func cipherForSuite(suite uint16) (Cipher, error) {
	switch suite {
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		return ChaCha20Poly1305, nil
	case tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384:
		return AES256GCM, nil
	}
	return 0, fmt.Errorf("unexpected cipher suite %s", tls.CipherSuiteName(suite))
}
