package enginetest

import (
	"net/netip"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
)

// CollidingKeys returns two node keys whose overlay IPv4 addresses at
// index 0 are equal: what the admin of another network can grind for in
// about a second. A birthday search over 2^22 addresses needs a few
// thousand keys.
func CollidingKeys(t testing.TB) (key.NodePrivate, key.NodePrivate) {
	t.Helper()
	seen := map[netip.Addr]key.NodePrivate{}
	for range 1 << 20 {
		k := key.NewNode()
		a := k.Public().IPv4(0)
		if old, ok := seen[a]; ok {
			return old, k
		}
		seen[a] = k
	}
	t.Fatal("no IPv4 collision in 2^20 keys")
	return key.NodePrivate{}, key.NodePrivate{}
}
