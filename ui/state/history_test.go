package state

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func hist(rtts ...float64) *apitype.PeerHistory {
	h := &apitype.PeerHistory{IntervalS: 5}
	for i, r := range rtts {
		h.RTTMs = append(h.RTTMs, r)
		h.RxBps = append(h.RxBps, uint64(i)*100)
		h.TxBps = append(h.TxBps, uint64(i)*10)
	}
	return h
}

// TestSparksSurviveEventWithoutHistory: a peer event that leaves the
// history out (HistorySame) updates the counters and keeps the
// sparklines; one with a history replaces them; one with neither clears
// them; a snapshot (a reconnect) brings whole histories again.
func TestSparksSurviveEventWithoutHistory(t *testing.T) {
	m := New("1.2.0")
	nas := peer("3", "nas", true, apitype.PathDirect)
	nas.History = hist(10, 11)
	m.Apply(snapshot(apitype.StateUp, nas))

	rtt := func(id string) []float64 {
		p, ok := m.Peer(id)
		if !ok {
			t.Fatalf("peer %s gone", id)
		}
		if p.History == nil {
			return nil
		}
		return p.History.RTTMs
	}
	apply := func(p apitype.Peer, same bool) {
		m.Apply(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &p, HistorySame: same})
	}

	counters := peer("3", "nas", true, apitype.PathDirect)
	counters.RxBytes = 5000
	apply(counters, true)
	if got := rtt("3"); !slices.Equal(got, []float64{10, 11}) {
		t.Fatalf("history after a counters-only event: %v", got)
	}
	if p, _ := m.Peer("3"); p.RxBytes != 5000 || len(PeerSparks(p)) != 3 {
		t.Errorf("rx %d, %d sparks", p.RxBytes, len(PeerSparks(p)))
	}

	sample := counters
	sample.History = hist(10, 11, 12)
	apply(sample, false)
	if got := rtt("3"); !slices.Equal(got, []float64{10, 11, 12}) {
		t.Fatalf("history after a new sample: %v", got)
	}

	cleared := counters
	apply(cleared, false)
	if got := rtt("3"); got != nil {
		t.Fatalf("history after an event without one and without HistorySame: %v", got)
	}

	// HistorySame about a peer the model does not know yet adds it
	// without a history rather than inventing one.
	phone := peer("4", "phone", true, apitype.PathDirect)
	apply(phone, true)
	if got := rtt("4"); got != nil {
		t.Fatalf("unknown peer got history %v", got)
	}

	// A reconnect: the new stream's snapshot carries whole histories.
	nas.History = hist(20, 21, 22, 23)
	phone.History = hist(5)
	m.Apply(snapshot(apitype.StateUp, nas, phone))
	if !slices.Equal(rtt("3"), []float64{20, 21, 22, 23}) || !slices.Equal(rtt("4"), []float64{5}) {
		t.Fatalf("after the snapshot: %v %v", rtt("3"), rtt("4"))
	}
}

// TestModelFollowsStreamWithHistories feeds the model what the daemon's
// watch stream sends (localapi.Diff, through JSON) for a sequence of
// statuses where counters change every step and histories only some
// steps: after each step the model's peers are the status's peers,
// histories included, though most events left them out.
func TestModelFollowsStreamWithHistories(t *testing.T) {
	a := peer("3", "alpha", true, apitype.PathDirect)
	b := peer("4", "beta", true, apitype.PathRelay)
	step := func(rx uint64, ha, hb *apitype.PeerHistory) *apitype.Status {
		st := snapshot(apitype.StateUp).Status
		pa, pb := a, b
		pa.RxBytes, pa.History = rx, ha
		pb.TxBytes, pb.History = rx*2, hb
		st.Peers = []apitype.Peer{pa, pb}
		return st
	}
	statuses := []*apitype.Status{
		step(1, hist(1), nil),
		step(2, hist(1), nil),
		step(3, hist(1, 2), hist(7)),
		step(4, hist(1, 2), hist(7)),
		step(5, hist(1, 2), hist(7)),
		step(6, nil, hist(7, 8)),
		step(7, hist(3), hist(7, 8)),
	}
	m := New("1.2.0")
	var prev *apitype.Status
	omitted := 0
	for i, cur := range statuses {
		for _, ev := range localapi.Diff(prev, cur) {
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var got apitype.WatchEvent
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got.HistorySame {
				omitted++
			}
			m.Apply(got)
		}
		prev = cur
		for _, want := range cur.Peers {
			p, ok := m.Peer(want.ID)
			if !ok || !reflect.DeepEqual(p, want) {
				t.Fatalf("step %d: model has %+v (history %+v), want %+v (history %+v)", i, p, p.History, want, want.History)
			}
		}
	}
	if omitted < 4 {
		t.Errorf("only %d events left an unchanged history out", omitted)
	}
}
