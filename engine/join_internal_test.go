package engine

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// startTestEngine starts an engine on loopback with a fake TUN.
func startTestEngine(t *testing.T, name string) *Engine {
	t.Helper()
	return startEngineIn(t, t.TempDir(), name)
}

// sink is a UDP socket counting what arrives on it.
func sink(t *testing.T) (netip.AddrPort, func() int) {
	t.Helper()
	pc, addr, err := listenSink(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	got := make(chan int, 1)
	go func() {
		n := 0
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				got <- n
				return
			}
			n++
		}
	}()
	return addr, func() int {
		pc.Close()
		return <-got
	}
}

// TestRefusedJoinLeavesNothing: a stranger that knows the network id
// asks to join with a wrong secret and an endpoint record naming
// addresses of its choice. The admin refuses, keeps nothing (state file
// unchanged, no record) and sends nothing to those addresses.
func TestRefusedJoinLeavesNothing(t *testing.T) {
	onTestNet(t, func(t *testing.T) {
		admin := startTestEngine(t, "admin")
		n, err := admin.CreateNetwork("home", false)
		if err != nil {
			t.Fatal(err)
		}
		statePath := admin.statePath
		before, err := os.ReadFile(statePath)
		if err != nil {
			t.Fatal(err)
		}
		victim, count := sink(t)
		stranger := key.NewNode()
		rec := netmap.SignEndpoints(stranger, []netip.AddrPort{victim}, "", 1)
		for _, secret := range [][]byte{bytes.Repeat([]byte{7}, 16), {1, 2, 3}} {
			resp, wait := admin.admit(stranger.Public(), "ip 198.18.0.9/32", joinReq{
				Network: n.ID, Secret: secret, Hostname: "stranger", Record: &rec,
			})
			if wait != nil || resp.Error == "" || resp.Roster != nil {
				t.Fatalf("join with a wrong secret %x not refused: %+v", secret, resp)
			}
		}
		admin.mu.Lock()
		_, kept := admin.state.Endpoints[stranger.Public()]
		admin.saveLocked() // whatever is in memory now reaches the file
		admin.mu.Unlock()
		if kept {
			t.Error("the refused joiner's endpoint record was kept")
		}
		after, err := os.ReadFile(statePath)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("a refused join changed state.json (%d -> %d bytes)", len(before), len(after))
		}
		time.Sleep(time.Second) // pings would go out at once
		if got := count(); got != 0 {
			t.Errorf("the admin sent %d packets to an address a refused joiner named", got)
		}
	})
}

// TestJoinRequestLimits: approval requests are capped per source; a
// key asking again replaces its request. An admitted joiner's record is
// kept, and only then.
func TestJoinRequestLimits(t *testing.T) {
	onTestNet(t, func(t *testing.T) {
		admin := startTestEngine(t, "admin")
		n, err := admin.CreateNetwork("home", false)
		if err != nil {
			t.Fatal(err)
		}
		ask := func(k key.NodePrivate, src string) joinResp {
			rec := netmap.SignEndpoints(k, []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:1")}, "", 1)
			resp, _ := admin.admit(k.Public(), src, joinReq{Network: n.ID, Hostname: "asker", Record: &rec})
			return resp
		}
		const src = "ip 198.18.0.1/32"
		var first key.NodePrivate
		for i := range netmap.MaxRequestsPerSource {
			k := key.NewNode()
			if i == 0 {
				first = k
			}
			if r := ask(k, src); r.Error != "" {
				t.Fatalf("request %d refused: %s", i, r.Error)
			}
		}
		if r := ask(key.NewNode(), src); r.Error == "" {
			t.Fatal("one source queued more than the per-source limit")
		}
		if r := ask(first, src); r.Error != "" {
			t.Fatalf("a key asking again was refused: %s", r.Error)
		}
		if r := ask(key.NewNode(), "ip 198.18.0.2/32"); r.Error != "" {
			t.Fatalf("another source refused: %s", r.Error)
		}
		st := admin.Status()
		if len(st.Requests) != netmap.MaxRequestsPerSource+1 {
			t.Fatalf("%d requests pending, want %d", len(st.Requests), netmap.MaxRequestsPerSource+1)
		}
		admin.mu.Lock()
		_, kept := admin.state.Endpoints[first.Public()]
		admin.mu.Unlock()
		if kept {
			t.Fatal("a pending joiner's record was kept before admission")
		}
		if err := admin.Decide("home", first.Public().String(), true); err != nil {
			t.Fatal(err)
		}
		admin.mu.Lock()
		_, kept = admin.state.Endpoints[first.Public()]
		admin.mu.Unlock()
		if !kept {
			t.Fatal("an accepted joiner's record was not kept")
		}
	})
}

func TestJoinLimiter(t *testing.T) {
	var l joinLimiter
	for i := range maxJoinConnsPerSource {
		if !l.acquire("ip 198.18.0.1/32") {
			t.Fatalf("connection %d from one source refused", i)
		}
	}
	if !l.full("ip 198.18.0.1/32") || l.acquire("ip 198.18.0.1/32") {
		t.Fatal("one source went over its limit")
	}
	l.release("ip 198.18.0.1/32")
	if !l.acquire("ip 198.18.0.1/32") {
		t.Fatal("a released slot was not reusable")
	}
	others := 0
	for i := 0; l.acquire(fmt.Sprintf("ip 198.18.1.%d/32", i)); i++ {
		others++
	}
	if others+maxJoinConnsPerSource != maxJoinConns {
		t.Fatalf("%d connections in total, limit %d", others+maxJoinConnsPerSource, maxJoinConns)
	}
	if !l.full("ip 198.18.2.1/32") {
		t.Fatal("a new source was let in over the total limit")
	}
}
