package engine

import (
	"crypto/hmac"
	"crypto/sha256"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/key"
)

// statelessResetKey derives the QUIC stateless reset key from the node
// key, so it stays the same across restarts. A peer still holding a
// connection this node no longer has (it restarted, or the peer slept
// past our idle timeout) then gets a stateless reset for its next packet
// and redials at once, instead of sending into the void until its own
// idle timeout (RFC 9000 §10.3). The key is an HMAC of the private seed
// under a label of its own: it reveals nothing about the node key.
func statelessResetKey(k key.NodePrivate) *quic.StatelessResetKey {
	m := hmac.New(sha256.New, k.Ed25519().Seed())
	m.Write([]byte("rayfish quic stateless reset key v1"))
	var out quic.StatelessResetKey
	copy(out[:], m.Sum(nil))
	return &out
}
