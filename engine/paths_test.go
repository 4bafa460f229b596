package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/engine/relay"
)

// decoys are UDP sockets that count the datagrams they receive.
type decoys struct {
	addrs  []netip.AddrPort
	counts []*atomic.Int64
}

func newDecoys(t *testing.T, n int) *decoys {
	t.Helper()
	d := &decoys{}
	for i := range n {
		pc, addr := listenUDP(t, fmt.Sprint("decoy", i))
		d.addrs = append(d.addrs, addr)
		d.counts = append(d.counts, enginetest.CountDatagrams(t, pc))
	}
	return d
}

// received returns how many datagrams all decoys received.
func (d *decoys) received() int64 {
	var n int64
	for _, c := range d.counts {
		n += c.Load()
	}
	return n
}

// keyRelay is a relay on loopback that notes every key that connects.
type keyRelay struct {
	url  string
	mu   sync.Mutex
	keys []key.NodePublic
}

func newKeyRelay(t *testing.T) *keyRelay {
	t.Helper()
	r := &keyRelay{}
	ln := listenTCP(t, "keyrelay")
	srv := relay.NewServer(relay.ServerConfig{Allow: func(k key.NodePublic) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		if !slices.Contains(r.keys, k) {
			r.keys = append(r.keys, k)
		}
		return true
	}})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("relay Serve: %v", err)
		}
	})
	r.url = "http://" + ln.Addr().String()
	return r
}

func (r *keyRelay) saw(k key.NodePublic) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.keys, k)
}

// TestRefusedJoinContactsNothing is issue 12 H2/M1 at the path layer: a
// stranger that knows the network sends a join with a wrong secret and
// an endpoint record naming its own relay and addresses of its choosing.
// The admin must neither dial that relay nor send anything to those
// addresses; once the stranger is admitted, it may.
func TestRefusedJoinContactsNothing(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		root := t.TempDir()
		decoy := newDecoys(t, 4)
		hostile := newKeyRelay(t)
		admin := startNode(t, "admin", root+"/a")
		defer admin.e.Close()
		stranger := startNodeWith(t, "stranger", root+"/s", func(c *engine.Config) {
			c.Relays = []string{hostile.url}
		}, decoy.addrs...)
		defer stranger.e.Close()

		if _, err := admin.e.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		code, _, err := admin.e.Invite("home", netmap.InviteReusable, 0)
		if err != nil {
			t.Fatal(err)
		}
		inv, err := netmap.ParseInvite(code)
		if err != nil {
			t.Fatal(err)
		}
		wrong := inv
		wrong.Secret[0] ^= 0xff
		enginetest.WaitFor(t, 10*time.Second, "the stranger's record to name its relay and the decoys", func() bool {
			r := stranger.e.RecordForTest()
			return r.Relay == hostile.url && len(r.Addrs) > len(decoy.addrs) &&
				!slices.ContainsFunc(decoy.addrs, func(a netip.AddrPort) bool { return !slices.Contains(r.Addrs, a) })
		})
		adminKey := admin.e.RecordForTest().Node

		ctx := context.Background()
		if _, err := stranger.e.Join(ctx, wrong.Encode(), "", 10*time.Second); err == nil {
			t.Fatal("join with a wrong secret succeeded")
		}
		// Pings go out while the join is handled and a relay connection
		// takes milliseconds: a second is ample for either to show.
		time.Sleep(time.Second)
		refusedPackets, refusedRelay := decoy.received(), hostile.saw(adminKey)
		t.Logf("refused join: %d datagrams to the stranger's decoy addresses; admin dialled its relay: %v", refusedPackets, refusedRelay)
		if refusedPackets != 0 {
			t.Errorf("refused join: the admin sent %d datagrams to addresses the stranger named", refusedPackets)
		}
		if refusedRelay {
			t.Error("refused join: the admin connected to the stranger's relay")
		}

		// Control: once admitted, the stranger's addresses are pinged, so
		// the counts above could have shown contact.
		if _, err := stranger.e.Join(ctx, code, "", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, 10*time.Second, "the admin to ping the member's addresses", func() bool { return decoy.received() > 0 })
	})
}
