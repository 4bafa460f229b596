package dhtdisc

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/bep44"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// labDHT starts n DHT nodes on loopback, each bootstrapping from all the
// ones before it.
func labDHT(t *testing.T, n int) []*Node {
	t.Helper()
	first, err := New(Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(first.Close)
	nodes := []*Node{first}
	for range n - 1 {
		var boot []string
		for _, o := range nodes {
			boot = append(boot, o.Addr().String())
		}
		nd, err := New(Config{Listen: "127.0.0.1:0", Bootstrap: boot})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nd.Close)
		nodes = append(nodes, nd)
	}
	return nodes
}

// waitTables waits until every node knows two good nodes: a publish and a
// lookup need nodes to store on and ask.
func waitTables(ctx context.Context, t *testing.T, nodes []*Node) {
	t.Helper()
	for _, nd := range nodes {
		for nd.Stats().GoodNodes < 2 {
			if ctx.Err() != nil {
				t.Fatalf("DHT tables never filled: %+v", nd.Stats())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func TestPublishLookupLoopback(t *testing.T) {
	nodes := labDHT(t, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k := key.NewNode()
	nw, other := key.NewNetwork().Public(), key.NewNetwork().Public()
	r := testRecord(k)
	// Wait for the tables to fill: a publish needs nodes to store on.
	waitTables(ctx, t, nodes)
	if err := nodes[1].Publish(ctx, nw, k, r); err != nil {
		t.Fatal(err)
	}
	// A busy machine may answer a first lookup late: retry until the
	// deadline.
	got, err := nodes[4].Lookup(ctx, nw, k.Public())
	for tries := int64(1); err != nil; tries++ {
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		got, err = nodes[4].Lookup(ctx, nw, k.Public())
		if n := nodes[4].Stats().Lookups; n != tries+1 {
			t.Fatalf("lookups %d, want %d", n, tries+1)
		}
	}
	if got.Node != k.Public() || got.Seq != r.Seq || !slices.Equal(got.Addrs, r.Addrs) {
		t.Fatalf("looked up %+v, want %+v", got, r)
	}
	// A newer record replaces the item (BEP 44 seq grows).
	r2 := netmap.SignEndpoints(k, r.Addrs[:1], "", r.Seq+1)
	if err := nodes[1].Publish(ctx, nw, k, r2); err != nil {
		t.Fatal(err)
	}
	if got, err = nodes[3].Lookup(ctx, nw, k.Public()); err != nil || got.Seq != r2.Seq {
		t.Fatalf("after re-publish: seq %d, err %v; want %d", got.Seq, err, r2.Seq)
	}
	// Not published in another network.
	short, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	if _, err := nodes[2].Lookup(short, other, k.Public()); err == nil {
		t.Fatal("found an item in a network the node did not publish in")
	}
	st := nodes[1].Stats()
	if st.Publishes != 2 || st.LastPublish.IsZero() || st.BytesOut == 0 || st.Nodes == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBootstrapList(t *testing.T) {
	if got := BootstrapList(nil); !slices.Equal(got, DefaultBootstrap) || len(got) == 0 {
		t.Fatalf("no flag: %v", got)
	}
	lab := []string{"198.18.0.10:6881"}
	if got := BootstrapList(lab); !slices.Equal(got, lab) {
		t.Fatalf("--dht-bootstrap: %v", got)
	}
}

// TestRestartedNodeReplacesItsItem: a daemon that restarts loses the seq
// it last published with; its next publish must still replace its item,
// even right after the last one (the same second) and when the stored
// seq is ahead of its clock (a clock set back).
func TestRestartedNodeReplacesItsItem(t *testing.T) {
	nodes := labDHT(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a deadline for a busy machine
	defer cancel()
	waitTables(ctx, t, nodes)
	k := key.NewNode()
	nw := key.NewNetwork().Public()
	pub, err := PublicKey(nw, k.Public())
	if err != nil {
		t.Fatal(err)
	}
	target := bep44.MakeMutableTarget(pub, nil)
	r := testRecord(k)
	for i, tc := range []struct {
		name  string
		ahead time.Duration // the old node's last seq ahead of the clock
	}{
		{"right after", 0},
		{"clock set back", time.Hour},
	} {
		// The node after the restart (no seq remembered) is up before the
		// one before it publishes: the two publishes come together.
		restarted, err := New(Config{Listen: "127.0.0.1:0", Bootstrap: []string{nodes[0].Addr().String()}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(restarted.Close)
		waitTables(ctx, t, []*Node{restarted})
		old := nodes[1+i]
		if tc.ahead > 0 {
			old.mu.Lock()
			old.seqs[target] = time.Now().Add(tc.ahead).UnixMilli()
			old.mu.Unlock()
		}
		r = netmap.SignEndpoints(k, r.Addrs[:1], "", r.Seq+1)
		if err := old.Publish(ctx, nw, k, r); err != nil {
			t.Fatal(err)
		}
		want := netmap.SignEndpoints(k, r.Addrs, "", r.Seq+1)
		if err := restarted.Publish(ctx, nw, k, want); err != nil {
			t.Fatal(err)
		}
		r = want
		// Every node that answers holds the new item: a lookup that
		// takes the old one from some of them would be a coin toss.
		for _, nd := range nodes {
			got, err := nd.Lookup(ctx, nw, k.Public())
			if err != nil || got.Seq != want.Seq {
				t.Fatalf("%s: a lookup from %v found seq %d (err %v), want %d", tc.name, nd.Addr(), got.Seq, err, want.Seq)
			}
		}
	}
}
