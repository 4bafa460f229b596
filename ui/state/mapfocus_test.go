package state

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// netPeer is peer(id, host, …) in network net.
func netPeer(id, host, net string, online bool, path string) apitype.Peer {
	p := peer(id, host, online, path)
	p.Networks = []string{net}
	return p
}

func TestMapFocusOrder(t *testing.T) {
	tests := []struct {
		name  string
		peers []apitype.Peer
		want  []string
	}{
		{"no peers: nothing takes the focus", nil, nil},
		{"one peer", []apitype.Peer{peer("2", "nas", true, apitype.PathDirect)}, []string{"peer:2"}},
		{"relay and self skipped, peers by name, offline last", []apitype.Peer{
			peer("2", "tv", true, apitype.PathRelay),
			peer("3", "nas", true, apitype.PathDirect),
			peer("4", "old", false, ""),
			peer("5", "attic", false, ""),
		}, []string{"peer:3", "peer:2", "offline:home"}},
		{"group by group, networks in name order", []apitype.Peer{
			netPeer("2", "zed", "work", true, apitype.PathDirect),
			netPeer("3", "amy", "work", false, ""),
			netPeer("4", "tv", "home", true, apitype.PathRelay),
			netPeer("5", "bob", "home", true, apitype.PathDirect),
			netPeer("6", "cat", "home", false, ""),
		}, []string{"peer:5", "peer:4", "offline:home", "peer:2", "offline:work"}},
		{"only offline peers", []apitype.Peer{peer("2", "a", false, ""), peer("3", "b", false, "")}, []string{"offline:home"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := layoutOf(tt.peers)
			if got := l.FocusKeys(); !slices.Equal(got, tt.want) {
				t.Errorf("focus order %q, want %q", got, tt.want)
			}
			for _, i := range l.FocusOrder() {
				if k := l.Nodes[i].Kind; k != MapPeer && k != MapOffline {
					t.Errorf("node %d of kind %v takes the focus", i, k)
				}
				if got := l.FocusIndex(l.Nodes[i].FocusKey()); got != i {
					t.Errorf("FocusIndex(%q) = %d, want %d", l.Nodes[i].FocusKey(), got, i)
				}
			}
			if l.FocusIndex("") != -1 || l.FocusIndex("peer:nobody") != -1 {
				t.Error("FocusIndex finds a node that is not there")
			}
		})
	}
}

// TestMapFocusOrderIsPlacement: Tab goes round the ring in the order the
// nodes are placed, so focus moves to the next node on the ring, for 0, 1,
// 5 and 50 peers.
func TestMapFocusOrderIsPlacement(t *testing.T) {
	for _, n := range []int{0, 1, 5, 50} {
		l := layoutOf(mapPeers(n))
		order := l.FocusOrder()
		want := 0
		for _, nd := range l.Nodes {
			if nd.Kind == MapPeer || nd.Kind == MapOffline {
				want++
			}
		}
		if len(order) != want || !slices.IsSorted(order) {
			t.Errorf("%d peers: focus order %v over %d nodes that take the focus", n, order, want)
		}
		// Every network's nodes are contiguous.
		seen := map[string]bool{}
		last := ""
		for _, i := range order {
			net := l.Nodes[i].Network
			if net != last && seen[net] {
				t.Errorf("%d peers: network %q visited twice", n, net)
			}
			seen[net], last = true, net
		}
	}
}

func TestMapFocusStep(t *testing.T) {
	l := layoutOf([]apitype.Peer{
		peer("2", "a", true, apitype.PathDirect),
		peer("3", "b", true, apitype.PathRelay),
		peer("4", "c", false, ""),
	}) // a, b, 1 offline
	tests := []struct {
		key   string
		delta int
		want  string
	}{
		{"peer:2", 1, "peer:3"},
		{"peer:3", 1, "offline:home"},
		{"offline:home", 1, "peer:2"}, // wraps
		{"peer:2", -1, "offline:home"},
		{"peer:3", -1, "peer:2"},
		{"", 1, "peer:2"},          // from nowhere: the first
		{"", -1, "offline:home"},   // or the last
		{"peer:gone", 1, "peer:2"}, // from a node that went
		{"peer:2", 4, "peer:3"},    // more than once round
		{"peer:2", -4, "offline:home"},
	}
	for _, tt := range tests {
		if got := l.FocusStep(tt.key, tt.delta); got != tt.want {
			t.Errorf("FocusStep(%q, %d) = %q, want %q", tt.key, tt.delta, got, tt.want)
		}
	}
	if got := (MapLayout{}).FocusStep("peer:2", 1); got != "" {
		t.Errorf("a map with no peers steps to %q", got)
	}
}

func TestMapRefocus(t *testing.T) {
	a := peer("2", "a", true, apitype.PathDirect)
	b := peer("3", "b", true, apitype.PathDirect)
	c := peer("4", "c", true, apitype.PathRelay)
	off := peer("5", "d", false, "")
	cOff := c
	cOff.Online = false
	bRenamed := b
	bRenamed.Hostname = "zz" // moves b to the end of the order
	old := layoutOf([]apitype.Peer{a, b, c, off})
	tests := []struct {
		name string
		now  []apitype.Peer
		key  string
		want string
	}{
		{"still there", []apitype.Peer{a, b, c, off}, "peer:3", "peer:3"},
		{"still there after reordering", []apitype.Peer{a, bRenamed, c, off}, "peer:3", "peer:3"},
		{"gone: the next", []apitype.Peer{a, c, off}, "peer:3", "peer:4"},
		{"gone, the next gone too", []apitype.Peer{a, off}, "peer:3", "offline:home"},
		{"gone, last: the one before", []apitype.Peer{a, b}, "offline:home", "peer:3"},
		{"went offline: its offline node", []apitype.Peer{a, b, cOff, off}, "peer:4", "offline:home"},
		{"all replaced: the first", []apitype.Peer{peer("9", "new", true, apitype.PathDirect)}, "peer:3", "peer:9"},
		{"nothing left", nil, "peer:3", ""},
		{"unknown key: the first", []apitype.Peer{a}, "", "peer:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := layoutOf(tt.now).Refocus(old, tt.key); got != tt.want {
				t.Errorf("Refocus(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestMapOfflineMembers(t *testing.T) {
	var peers []apitype.Peer
	for i := range 5 {
		peers = append(peers, peer(fmt.Sprint(10+i), fmt.Sprintf("h%d", 4-i), false, ""))
	}
	peers[2].Hostname = "" // shown by its id
	l := layoutOf(peers)
	var got []MapMember
	for _, n := range l.Nodes {
		if n.Kind == MapOffline {
			got = n.Members
		}
	}
	want := []MapMember{{"12", "12"}, {"14", "h0"}, {"13", "h1"}, {"11", "h3"}, {"10", "h4"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("offline members %v, want %v", got, want)
	}
}
