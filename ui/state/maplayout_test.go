package state

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// mapPeers makes n peers: every 7th offline, every 3rd relayed, spread
// over networks "home" and "work".
func mapPeers(n int) []apitype.Peer {
	var ps []apitype.Peer
	for i := range n {
		p := apitype.Peer{
			ID: fmt.Sprintf("k7peer%04d", i), Hostname: fmt.Sprintf("host-%02d", i),
			IPv4: netip.AddrFrom4([4]byte{100, 64, 1, byte(i)}), Online: i%7 != 6,
			Path: apitype.PathDirect, Networks: []string{"home"},
		}
		if i%3 == 2 {
			p.Path = apitype.PathRelay
		}
		if i%2 == 1 {
			p.Networks = []string{"work"}
		}
		ps = append(ps, p)
	}
	return ps
}

func layoutOf(peers []apitype.Peer) MapLayout {
	m := New("1.2.0")
	m.Apply(snapshot(apitype.StateUp, peers...))
	return m.Map()
}

func TestMapLayout(t *testing.T) {
	for _, n := range []int{0, 1, 5, 50} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			peers := mapPeers(n)
			l := layoutOf(peers)
			online, offline, relayed := 0, 0, false
			for _, p := range peers {
				if p.Online {
					online++
					relayed = relayed || p.Path == apitype.PathRelay
				} else {
					offline++
				}
			}
			counts := map[MapKind]int{}
			covered := 0
			for _, nd := range l.Nodes {
				counts[nd.Kind]++
				covered += nd.Count
				if nd.X < 0.05 || nd.X > 0.95 || nd.Y < 0.05 || nd.Y > 0.95 {
					t.Errorf("node %q at (%.2f,%.2f) is off the drawing", nd.Label, nd.X, nd.Y)
				}
			}
			if counts[MapSelf] != 1 || counts[MapPeer] != online || covered != offline {
				t.Errorf("nodes %v for %d online and %d offline peers (offline nodes cover %d)", counts, online, offline, covered)
			}
			if counts[MapOffline] > 2 {
				t.Errorf("%d offline nodes: offline peers must collapse to one per network", counts[MapOffline])
			}
			if (counts[MapRelay] == 1) != relayed {
				t.Errorf("relay box %d, relayed peers %v", counts[MapRelay], relayed)
			}
			// Readable: no two nodes closer than 8% of the drawing.
			for i := range l.Nodes {
				for j := i + 1; j < len(l.Nodes); j++ {
					a, b := l.Nodes[i], l.Nodes[j]
					if d := math.Hypot(float64(a.X-b.X), float64(a.Y-b.Y)); d < 0.08 {
						t.Errorf("%q and %q are %.3f apart", a.Label, b.Label, d)
					}
				}
			}
			// One edge per peer node and offline node, plus self–relay.
			if want := counts[MapPeer] + counts[MapOffline] + counts[MapRelay]; len(l.Edges) != want {
				t.Errorf("%d edges, want %d", len(l.Edges), want)
			}
			for _, e := range l.Edges {
				to := l.Nodes[e.To]
				if to.Kind == MapPeer {
					p := peers[slicesIndexID(peers, to.ID)]
					if wantRelay := p.Path == apitype.PathRelay; (e.Style == EdgeRelayed) != wantRelay || (wantRelay && l.Nodes[e.From].Kind != MapRelay) {
						t.Errorf("edge to %s: style %v from %v, path %s", p.Hostname, e.Style, l.Nodes[e.From].Kind, p.Path)
					}
				}
				if e.Weight < 1 || e.Weight > 4 {
					t.Errorf("edge weight %v", e.Weight)
				}
			}
			// Stable: the order the daemon lists peers in changes nothing.
			shuffled := append([]apitype.Peer(nil), peers...)
			rand.New(rand.NewPCG(1, uint64(n))).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if again := layoutOf(shuffled); !reflect.DeepEqual(again, l) {
				t.Error("the layout depends on the order of the peers")
			}
		})
	}
}

func slicesIndexID(ps []apitype.Peer, id string) int {
	for i, p := range ps {
		if p.ID == id {
			return i
		}
	}
	return -1
}

func TestTrafficWeight(t *testing.T) {
	tests := []struct {
		n    uint64
		want float32
	}{{0, 1}, {1<<20 - 1, 1}, {1 << 20, 2}, {32<<20 - 1, 2}, {32 << 20, 3}, {1 << 30, 4}, {1 << 62, 4}}
	for _, tt := range tests {
		if got := trafficWeight(tt.n); got != tt.want {
			t.Errorf("trafficWeight(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestMapLabels(t *testing.T) {
	p := peer("3", "a-very-long-hostname-indeed", true, apitype.PathDirect)
	l := layoutOf([]apitype.Peer{p})
	if got := l.Nodes[1].Label; got != "a-very-long-h…" || l.Nodes[1].ID != "3" {
		t.Errorf("label %q id %q", got, l.Nodes[1].ID)
	}
	if l.Nodes[0].Label != "laptop" {
		t.Errorf("self label %q", l.Nodes[0].Label)
	}
}
