package engine

import (
	"bytes"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
)

// TestStatelessResetKey: the same node key gives the same reset key (a
// restarted node can reset its old connections), another key another,
// and the reset key is not the node key's seed.
func TestStatelessResetKey(t *testing.T) {
	a, b := key.NewNode(), key.NewNode()
	ka1, ka2, kb := statelessResetKey(a), statelessResetKey(a), statelessResetKey(b)
	if *ka1 != *ka2 {
		t.Error("one node key gave two reset keys")
	}
	if *ka1 == *kb {
		t.Error("two node keys gave one reset key")
	}
	if bytes.Equal(ka1[:], a.Ed25519().Seed()) {
		t.Error("the reset key is the node key's seed")
	}
}
