package localapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestDiffHistory follows one watcher through a sequence of statuses: a
// peer's history is in the snapshot, left out (HistorySame) while only
// its counters change, sent whole once it gains a sample, and cleared
// explicitly (nil, HistorySame unset) when it goes away. The status the
// watcher keeps as prev still holds the whole history.
func TestDiffHistory(t *testing.T) {
	h1 := &apitype.PeerHistory{IntervalS: 5, RTTMs: []float64{10}, RxBps: []uint64{100}, TxBps: []uint64{50}}
	h2 := &apitype.PeerHistory{IntervalS: 5, RTTMs: []float64{10, 12}, RxBps: []uint64{100, 200}, TxBps: []uint64{50, 60}}
	h2copy := &apitype.PeerHistory{IntervalS: 5, RTTMs: []float64{10, 12}, RxBps: []uint64{100, 200}, TxBps: []uint64{50, 60}}
	st := func(rx uint64, h *apitype.PeerHistory) *apitype.Status {
		return &apitype.Status{State: "up", Peers: []apitype.Peer{
			{ID: "a", Online: true, RxBytes: rx, History: h},
			{ID: "b", Online: true, History: h1}, // never changes
		}}
	}
	type want struct {
		events  int                  // EventPeer events, all about "a"
		history *apitype.PeerHistory // what the event carries
		same    bool
	}
	steps := []struct {
		name string
		cur  *apitype.Status
		want want
	}{
		{"counters only", st(2, h1), want{1, nil, true}},
		{"nothing changed", st(2, h1), want{0, nil, false}},
		{"new sample", st(3, h2), want{1, h2, false}},
		{"equal history, new copy", st(4, h2copy), want{1, nil, true}},
		{"only a sample", st(4, h1), want{1, h1, false}},
		{"history dropped", st(5, nil), want{1, nil, false}},
		{"still none", st(6, nil), want{1, nil, false}},
		{"first sample again", st(6, h1), want{1, h1, false}},
	}
	prev := st(1, h1)
	snap := Diff(nil, prev)
	if len(snap) != 1 || snap[0].Type != apitype.EventSnapshot || snap[0].Status.Peers[0].History != h1 || snap[0].Status.Peers[1].History != h1 {
		t.Fatalf("snapshot without whole histories: %+v", snap)
	}
	for _, s := range steps {
		var peerEvs []apitype.WatchEvent
		for _, ev := range Diff(prev, s.cur) {
			if ev.Type == apitype.EventPeer {
				peerEvs = append(peerEvs, ev)
			}
		}
		if len(peerEvs) != s.want.events {
			t.Fatalf("%s: %d peer events, want %d: %+v", s.name, len(peerEvs), s.want.events, peerEvs)
		}
		if s.want.events == 1 {
			ev := peerEvs[0]
			if ev.Peer.ID != "a" || ev.Peer.History != s.want.history || ev.HistorySame != s.want.same {
				t.Errorf("%s: peer %s history %+v same %v, want %+v same %v", s.name, ev.Peer.ID, ev.Peer.History, ev.HistorySame, s.want.history, s.want.same)
			}
			if ev.Peer.RxBytes != s.cur.Peers[0].RxBytes {
				t.Errorf("%s: rx %d, want %d", s.name, ev.Peer.RxBytes, s.cur.Peers[0].RxBytes)
			}
		}
		prev = s.cur
	}
}

// TestDiffHistoryWire: an event that leaves the history out says so on
// the wire and carries no "history" key.
func TestDiffHistoryWire(t *testing.T) {
	h := &apitype.PeerHistory{IntervalS: 5, RTTMs: []float64{1}, RxBps: []uint64{1}, TxBps: []uint64{1}}
	prev := &apitype.Status{Peers: []apitype.Peer{{ID: "a", History: h}}}
	cur := &apitype.Status{Peers: []apitype.Peer{{ID: "a", RxBytes: 9, History: h}}}
	evs := Diff(prev, cur)
	if len(evs) != 1 {
		t.Fatalf("events: %+v", evs)
	}
	b, err := json.Marshal(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, `"history"`) || !strings.Contains(s, `"history_same":true`) {
		t.Errorf("wire: %s", s)
	}
	if cur.Peers[0].History != h {
		t.Error("Diff cleared the history in the status it was given")
	}
}
