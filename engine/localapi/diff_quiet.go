package localapi

import (
	"reflect"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// DiffQuiet is Diff for a quiet watcher (apitype.WatchQuiet): one that
// shows only what changes without traffic, like the tray app while its
// window is hidden (issue 18). Drops-only events are left out, and so is
// a peer event whose peer changed only in the fields traffic moves on
// its own (see trafficOnly). A peer event that is sent carries the
// peer's whole history, never HistorySame: the events left out broke the
// chain HistorySame relies on. The peer's counters in it are current, so
// a quiet watcher's counters are stale between events, never wrong after
// one.
func DiffQuiet(prev, cur *apitype.Status) []apitype.WatchEvent {
	evs := Diff(prev, cur)
	if prev == nil {
		return evs
	}
	old := make(map[string]apitype.Peer, len(prev.Peers))
	for _, p := range prev.Peers {
		old[p.ID] = p
	}
	now := make(map[string]apitype.Peer, len(cur.Peers))
	for _, p := range cur.Peers {
		now[p.ID] = p
	}
	kept := evs[:0]
	for _, ev := range evs {
		switch ev.Type {
		case apitype.EventDrops:
			continue
		case apitype.EventPeer:
			p := now[ev.Peer.ID]
			if o, ok := old[p.ID]; ok && trafficOnly(o, p) {
				continue
			}
			ev.Peer, ev.HistorySame = &p, false
		}
		kept = append(kept, ev)
	}
	return kept
}

// trafficOnly reports whether a and b differ at most in the fields that
// change with traffic alone: byte counters, the round trip sample, when
// the peer was last seen, and the history of all three.
func trafficOnly(a, b apitype.Peer) bool {
	for _, p := range []*apitype.Peer{&a, &b} {
		p.RTTMs, p.TxBytes, p.RxBytes = 0, 0, 0
		p.LastSeen = time.Time{}
		p.History = nil
	}
	return reflect.DeepEqual(a, b)
}
