package state

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// MapKind says what a map node stands for.
type MapKind int

// Map node kinds.
const (
	MapSelf    MapKind = iota // this device, in the middle
	MapRelay                  // the relay box relayed paths go through
	MapPeer                   // one online peer
	MapOffline                // the offline peers of a network, collapsed
)

// MapNode is one node of the map; X and Y are in [0,1] of the drawing.
type MapNode struct {
	Kind    MapKind
	ID      string // the peer's node id (MapPeer)
	Label   string
	Network string // the group the node is drawn in
	Count   int    // peers a MapOffline node stands for
	// Members are the peers a MapOffline node stands for, by name.
	Members []MapMember
	X, Y    float32
}

// MapMember is one of the offline peers a MapOffline node stands for.
type MapMember struct {
	ID, Label string
}

// MapStyle is how an edge is drawn.
type MapStyle int

// Edge styles.
const (
	EdgeDirect  MapStyle = iota // solid
	EdgeRelayed                 // dashed, through the relay box
	EdgeOffline                 // grey
)

// MapEdge joins two nodes (indexes into MapLayout.Nodes).
type MapEdge struct {
	From, To int
	Style    MapStyle
	// Weight is the line width in [1,4], from the traffic with the peer.
	Weight float32
}

// MapLayout is a drawing of this device, its peers and the relay.
type MapLayout struct {
	Nodes []MapNode
	Edges []MapEdge
}

// Map geometry, in units of the drawing's size.
const (
	mapRing      = 0.43 // radius of the peer ring
	mapInnerRing = 0.31 // second ring, used past mapOneRing slots
	mapOneRing   = 24   // slots that fit on one ring with readable labels
	mapRelayY    = 0.30 // the relay box sits above this device
	mapLabelMax  = 14   // runes of a peer name on the map
)

// Map lays the peers out around this device: online peers grouped by
// their first network (groups in name order, a gap between them), each
// network's offline peers collapsed into one node at the end of its group,
// two rings when there are too many for one. The layout depends only on
// the peers, not on their order.
func (m *Model) Map() MapLayout {
	self := MapNode{Kind: MapSelf, Label: "this device", X: 0.5, Y: 0.5}
	if m.self.Hostname != "" {
		self.Label = truncLabel(m.self.Hostname)
	}
	l := MapLayout{Nodes: []MapNode{self}}
	type group struct {
		name    string
		online  []apitype.Peer
		offline []apitype.Peer
	}
	var groups []*group
	byName := map[string]*group{}
	relayed := false
	for _, p := range m.peers {
		net := ""
		if len(p.Networks) > 0 {
			net = slices.Min(p.Networks)
		}
		g := byName[net]
		if g == nil {
			g = &group{name: net}
			byName[net] = g
			groups = append(groups, g)
		}
		if p.Online {
			g.online = append(g.online, p)
			relayed = relayed || p.Path == apitype.PathRelay
		} else {
			g.offline = append(g.offline, p)
		}
	}
	slices.SortFunc(groups, func(a, b *group) int { return cmp.Compare(a.name, b.name) })
	relayIdx := -1
	if relayed {
		relayIdx = len(l.Nodes)
		l.Nodes = append(l.Nodes, MapNode{Kind: MapRelay, Label: "relay", X: 0.5, Y: mapRelayY})
	}
	slots := 0
	byHost := func(a, b apitype.Peer) int {
		return cmp.Or(cmp.Compare(a.Hostname, b.Hostname), cmp.Compare(a.ID, b.ID))
	}
	for _, g := range groups {
		slices.SortFunc(g.online, byHost)
		slices.SortFunc(g.offline, byHost)
		slots += len(g.online) + min(len(g.offline), 1)
	}
	if len(groups) > 1 {
		slots += len(groups) // a gap before each group
	}
	slot := 0
	place := func(n MapNode) int {
		// Start at the bottom (the relay box is at the top) and go round.
		a := math.Pi/2 + 2*math.Pi*float64(slot)/float64(max(slots, 1))
		r := mapRing
		if slots > mapOneRing && slot%2 == 1 {
			r = mapInnerRing
		}
		n.X = float32(0.5 + r*math.Cos(a))
		n.Y = float32(0.5 + r*math.Sin(a))
		slot++
		l.Nodes = append(l.Nodes, n)
		return len(l.Nodes) - 1
	}
	for _, g := range groups {
		if len(groups) > 1 {
			slot++
		}
		for _, p := range g.online {
			i := place(MapNode{Kind: MapPeer, ID: p.ID, Label: truncLabel(peerName(p)), Network: g.name})
			e := MapEdge{From: 0, To: i, Style: EdgeDirect, Weight: trafficWeight(p.RxBytes + p.TxBytes)}
			if p.Path == apitype.PathRelay && relayIdx >= 0 {
				e.From, e.Style = relayIdx, EdgeRelayed
			}
			l.Edges = append(l.Edges, e)
		}
		if len(g.offline) > 0 {
			n := MapNode{Kind: MapOffline, Label: fmt.Sprintf("%d offline", len(g.offline)), Network: g.name, Count: len(g.offline)}
			for _, p := range g.offline {
				n.Members = append(n.Members, MapMember{ID: p.ID, Label: peerName(p)})
			}
			i := place(n)
			l.Edges = append(l.Edges, MapEdge{From: 0, To: i, Style: EdgeOffline, Weight: 1})
		}
	}
	if relayIdx >= 0 {
		l.Edges = append(l.Edges, MapEdge{From: 0, To: relayIdx, Style: EdgeRelayed, Weight: 2})
	}
	return l
}

// trafficWeight maps bytes exchanged to a line width: 1 below 1 MiB, then
// one more per factor of 32, at most 4.
func trafficWeight(n uint64) float32 {
	w := float32(1)
	for limit := uint64(1 << 20); n >= limit && w < 4; limit <<= 5 {
		w++
	}
	return w
}

func truncLabel(s string) string {
	r := []rune(s)
	if len(r) <= mapLabelMax {
		return s
	}
	return string(r[:mapLabelMax-1]) + "…"
}
