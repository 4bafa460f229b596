package localapi

import (
	"reflect"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// peerEvent is the EventPeer for p, which changed since o (had: o is in
// the status this watcher got last). The history is left out, with
// HistorySame set, when it gained no sample since o: counters change
// every second, a history only every history.Interval, and resending up
// to 3×HistorySamples numbers per peer per second was most of what the
// app decoded with many peers (issue 18). A snapshot (a new watcher, a
// reconnect) always carries whole histories; so does `ray status`.
func peerEvent(o apitype.Peer, had bool, p apitype.Peer) apitype.WatchEvent {
	ev := apitype.WatchEvent{Type: apitype.EventPeer}
	if had && p.History != nil && reflect.DeepEqual(o.History, p.History) {
		p.History = nil
		ev.HistorySame = true
	}
	ev.Peer = &p
	return ev
}
