package engine_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/dhtdisc"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/test/gateway/responder"
)

// dhtLab runs n DHT nodes on loopback, each bootstrapping from the
// first; they stop when the test ends.
func dhtLab(t *testing.T, n int) []*dhtdisc.Node {
	t.Helper()
	var lab []*dhtdisc.Node
	for i := range n {
		var boot []string
		if i > 0 {
			boot = []string{lab[0].Addr().String()}
		}
		d, err := dhtdisc.New(dhtdisc.Config{Listen: "127.0.0.1:0", Bootstrap: boot})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		lab = append(lab, d)
	}
	return lab
}

// TestDHTFindsRestartedMembers: two members on a private loopback DHT
// both restart on new ports, so the addresses each saved for the other
// are stale; they find each other again through their DHT items, and
// status says so. The DHT is off (and never started) by --no-dht and
// `config set dht off`.
func TestDHTFindsRestartedMembers(t *testing.T) {
	enginetest.CheckLeaks(t)
	lab := dhtLab(t, 3)
	withDHT := func(c *engine.Config) {
		c.NoDHT = false
		c.DHTBootstrap = []string{lab[0].Addr().String(), lab[1].Addr().String()}
		c.DHTListen = "127.0.0.1:0"
		c.DHTSlot = time.Second
	}
	root := t.TempDir()
	a := startNodeWith(t, "alpha", root+"/a", withDHT)
	b := startNodeWith(t, "beta", root+"/b", withDHT)
	if _, err := a.e.CreateNetwork("home", false); err != nil {
		t.Fatal(err)
	}
	join(t, a, b, "home", netmap.InviteSingle)
	for _, n := range []*node{a, b} {
		enginetest.WaitFor(t, 30*time.Second, n.name+" publishes", func() bool {
			st := n.e.DHT()
			return st.On && !st.LastPublish.IsZero()
		})
	}
	oldSeq := a.e.RecordForTest().Seq
	a.e.Close()
	b.e.Close()

	start := time.Now()
	a = startNodeWith(t, "alpha", root+"/a", withDHT)
	defer a.e.Close()
	b = startNodeWith(t, "beta", root+"/b", withDHT)
	defer b.e.Close()
	enginetest.WaitFor(t, 60*time.Second, "alpha and beta online again", func() bool {
		pa, okA := a.peer("beta")
		pb, okB := b.peer("alpha")
		return okA && okB && pa.Online && pb.Online
	})
	pa, _ := a.peer("beta")
	pb, _ := b.peer("alpha")
	t.Logf("online again after %v; alpha found beta via %s, beta found alpha via %s", time.Since(start).Round(time.Millisecond), pa.DiscoveredVia, pb.DiscoveredVia)
	if pa.DiscoveredVia != "dht" && pb.DiscoveredVia != "dht" {
		t.Fatalf("found via %q and %q, want dht", pa.DiscoveredVia, pb.DiscoveredVia)
	}
	if st := a.e.DHT(); st.Lookups == 0 && b.e.DHT().Lookups == 0 {
		t.Fatal("no lookups counted")
	}
	// The item on the DHT is alpha's record from after the restart, on
	// every lookup: one published in the same second as the one before
	// it used to be refused, and lookups took either by chance.
	enginetest.WaitFor(t, 30*time.Second, "alpha publishes again", func() bool { return !a.e.DHT().LastPublish.IsZero() })
	nw, err := key.ParseNetworkPublic(a.e.Status().Networks[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r, err := lab[2].Lookup(ctx, nw, a.e.RecordForTest().Node)
		cancel()
		if err != nil || r.Seq <= oldSeq {
			t.Fatalf("alpha's item on the DHT: seq %d (err %v), the record before the restart was %d", r.Seq, err, oldSeq)
		}
	}

	// `ray config set dht off` stops the node.
	p := a.e.Prefs()
	off := false
	p.DHT = &off
	if _, err := a.e.SetPrefs(p); err != nil {
		t.Fatal(err)
	}
	if st := a.e.DHT(); st.On {
		t.Fatalf("dht still on after dht off: %+v", st)
	}
}

// TestNoDHTByDefaultInTests: LoopbackConfig (every in-process test) never
// starts a DHT node, so tests never reach the public bootstrap nodes.
func TestNoDHTByDefaultInTests(t *testing.T) {
	// The config says so: the check below passes on a busy machine
	// whatever the config, if the engine is slower than the sleep.
	if !engine.LoopbackConfig(t.TempDir(), "alpha", nil, new(*engine.Engine)).NoDHT {
		t.Fatal("LoopbackConfig leaves the DHT on")
	}
	n := startNode(t, "alpha", t.TempDir())
	defer n.e.Close()
	time.Sleep(100 * time.Millisecond)
	if st := n.e.DHT(); st.On {
		t.Fatalf("DHT on in a loopback test engine: %+v", st)
	}
}

// TestDHTPublishesChangesAtOnce: a record that changes between
// rendezvous slots (here: a port mapping granted, then gone, then back)
// is published at once, not at the next slot, so that members looking us
// up in that slot find our new address. The slot is an hour: only the
// changes can have published it (the gap between such publishes doubles
// from a second, hence up to 30 s here).
func TestDHTPublishesChangesAtOnce(t *testing.T) {
	enginetest.CheckLeaks(t)
	lab := dhtLab(t, 2)
	_, gw, _ := responder.Loopback(t, responder.Config{PCP: true})
	a := startNodeWith(t, "alpha", t.TempDir(), func(c *engine.Config) {
		c.NoDHT = false
		c.DHTBootstrap = []string{lab[0].Addr().String()}
		c.DHTListen = "127.0.0.1:0"
		c.DHTSlot = time.Hour
		c.PortMap = true
		c.PortMapGateway = func() (netip.Addr, netip.Addr, error) { return gw, netip.MustParseAddr("127.0.0.1"), nil }
	})
	defer a.e.Close()
	if _, err := a.e.CreateNetwork("home", false); err != nil {
		t.Fatal(err)
	}
	nw, err := key.ParseNetworkPublic(a.e.Status().Networks[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	self := a.e.RecordForTest().Node
	mapped := netip.AddrPortFrom(netip.MustParseAddr("198.18.7.7"), uint16(a.e.ListenPort()))
	published := func(want bool) func() bool {
		return func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			r, err := lab[1].Lookup(ctx, nw, self)
			return err == nil && slices.Contains(r.Addrs, mapped) == want
		}
	}
	setPortMap := func(on bool) {
		p := a.e.Prefs()
		p.PortMap = &on
		if _, err := a.e.SetPrefs(p); err != nil {
			t.Fatal(err)
		}
	}
	setPortMap(false)
	enginetest.WaitFor(t, 30*time.Second, "the record without the mapping on the DHT", published(false))
	setPortMap(true)
	enginetest.WaitFor(t, 30*time.Second, "the record with the mapping on the DHT", published(true))
}
