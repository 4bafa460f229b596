package localapi

import (
	"bufio"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// quietPeer is a busy peer: every field set, history included.
func quietPeer(rx uint64) apitype.Peer {
	return apitype.Peer{
		ID: "a", Hostname: "nas", Online: true, State: apitype.PeerOnline, Path: apitype.PathDirect,
		Endpoint: "198.18.0.2:41641", RTTMs: 3, RxBytes: rx, TxBytes: rx / 2, LastSeen: time.Unix(int64(rx), 0),
		History: &apitype.PeerHistory{IntervalS: 5, RTTMs: []float64{3}, RxBps: []uint64{rx}, TxBps: []uint64{rx / 2}},
	}
}

// TestDiffQuiet: a quiet watcher gets no event for counters, round trip,
// last seen or history alone, nor for drops; any other change of a peer
// comes with the whole peer, history included (never HistorySame); the
// rest flows as in Diff.
func TestDiffQuiet(t *testing.T) {
	base := func() *apitype.Status {
		return &apitype.Status{State: apitype.StateUp, Peers: []apitype.Peer{quietPeer(100)}, Drops: map[string]uint64{"firewall": 1}}
	}
	tests := []struct {
		name   string
		change func(*apitype.Status)
		want   []string // event types
	}{
		{"nothing", func(*apitype.Status) {}, nil},
		{"counters only", func(s *apitype.Status) {
			s.Peers[0].RxBytes, s.Peers[0].TxBytes, s.Peers[0].RTTMs = 900, 800, 7
			s.Peers[0].LastSeen = s.Peers[0].LastSeen.Add(time.Second)
		}, nil},
		{"history sample only", func(s *apitype.Status) { s.Peers[0] = quietPeer(200) }, nil},
		{"drops only", func(s *apitype.Status) { s.Drops["firewall"] = 2; s.FirewallInLastMinute = 1 }, nil},
		{"path", func(s *apitype.Status) {
			s.Peers[0].RxBytes = 900
			s.Peers[0].Path, s.Peers[0].Endpoint, s.Peers[0].RelayReason = apitype.PathRelay, "https://relay", "UDP blocked"
		}, []string{apitype.EventPeer}},
		{"offline", func(s *apitype.Status) { s.Peers[0].Online, s.Peers[0].State = false, apitype.PeerOffline }, []string{apitype.EventPeer}},
		{"hostname", func(s *apitype.Status) { s.Peers[0].Hostname = "nas2" }, []string{apitype.EventPeer}},
		{"peer added", func(s *apitype.Status) {
			p := quietPeer(1)
			p.ID = "b"
			s.Peers = append(s.Peers, p)
		}, []string{apitype.EventPeer}},
		{"peer removed", func(s *apitype.Status) { s.Peers = nil }, []string{apitype.EventPeerRemoved}},
		{"state and requests", func(s *apitype.Status) {
			s.State = apitype.StateDown
			s.Requests = []apitype.JoinRequest{{Network: "home", ID: "r1", Hostname: "tv"}}
		}, []string{apitype.EventState, apitype.EventRequests}},
		{"tun", func(s *apitype.Status) { s.TUNError = "no device" }, []string{apitype.EventTUN}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev, cur := base(), base()
			tt.change(cur)
			evs := DiffQuiet(prev, cur)
			var types []string
			for _, ev := range evs {
				types = append(types, ev.Type)
			}
			if !slices.Equal(types, tt.want) {
				t.Fatalf("events %v, want %v", types, tt.want)
			}
			for _, ev := range evs {
				if ev.Type != apitype.EventPeer {
					continue
				}
				if ev.HistorySame {
					t.Errorf("peer event with HistorySame")
				}
				want := cur.Peers[len(cur.Peers)-1]
				if ev.Peer.RxBytes != want.RxBytes || ev.Peer.History == nil || ev.Peer.History.RxBps[0] != want.History.RxBps[0] || ev.Peer.Path != want.Path {
					t.Errorf("peer event %+v, want the whole peer %+v", *ev.Peer, want)
				}
			}
		})
	}
	if evs := DiffQuiet(nil, base()); len(evs) != 1 || evs[0].Type != apitype.EventSnapshot || evs[0].Status.Peers[0].History == nil {
		t.Errorf("quiet snapshot %+v, want the whole status", evs)
	}
}

// TestDiffQuietAfterSkips: Diff would leave the history out of a path
// change that follows a skipped counters-and-sample change (its prev
// holds the new history already); DiffQuiet must send it, because this
// watcher never got that sample.
func TestDiffQuietAfterSkips(t *testing.T) {
	s1 := &apitype.Status{Peers: []apitype.Peer{quietPeer(100)}}
	s2 := &apitype.Status{Peers: []apitype.Peer{quietPeer(200)}}
	s3 := &apitype.Status{Peers: []apitype.Peer{quietPeer(200)}}
	s3.Peers[0].Path = apitype.PathRelay
	if evs := DiffQuiet(s1, s2); len(evs) != 0 {
		t.Fatalf("counters and sample: %+v", evs)
	}
	if evs := Diff(s2, s3); len(evs) != 1 || !evs[0].HistorySame {
		t.Fatalf("Diff no longer leaves the same history out (%+v): this test checks nothing", evs)
	}
	evs := DiffQuiet(s2, s3)
	if len(evs) != 1 || evs[0].HistorySame || evs[0].Peer.History == nil || evs[0].Peer.History.RxBps[0] != 200 {
		t.Fatalf("quiet path change %+v, want the whole history", evs)
	}
}

// scripted is a Backend whose Status walks through steps, one per
// notification; the subscription closes after the last (the daemon
// stopping), which ends the watch.
type scripted struct {
	fake
	mu    sync.Mutex
	steps []*apitype.Status
}

func (s *scripted) Status() *apitype.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.steps[0]
	if len(s.steps) > 1 {
		s.steps = s.steps[1:]
	}
	return st
}

func (s *scripted) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, len(s.steps))
	for range s.steps {
		ch <- struct{}{}
	}
	close(ch)
	return ch, func() {}
}

// TestWatchQuietHandler runs the real handler with and without the
// quiet query over the same daemon: counters and drops reach only the
// full watcher; a path change and a peer's removal reach both.
func TestWatchQuietHandler(t *testing.T) {
	steps := func() []*apitype.Status {
		s0 := &apitype.Status{State: apitype.StateUp, Peers: []apitype.Peer{quietPeer(100)}}
		s1 := &apitype.Status{State: apitype.StateUp, Peers: []apitype.Peer{quietPeer(200)}, Drops: map[string]uint64{"firewall": 1}}
		s2 := &apitype.Status{State: apitype.StateUp, Peers: []apitype.Peer{quietPeer(300)}, Drops: map[string]uint64{"firewall": 1}}
		s2.Peers[0].Path = apitype.PathRelay
		s3 := &apitype.Status{State: apitype.StateUp, Drops: map[string]uint64{"firewall": 1}}
		return []*apitype.Status{s0, s1, s2, s3}
	}
	for _, tt := range []struct {
		path string
		want []string
	}{
		{apitype.PathWatch, []string{"snapshot", "peer", "drops", "peer", "peer_removed", "stopping"}},
		{apitype.PathWatch + "?" + apitype.WatchQuiet, []string{"snapshot", "peer", "peer_removed", "stopping"}},
	} {
		s := New(&scripted{steps: steps()}, nil)
		w := do(t, s, nil, http.MethodGet, tt.path, "", nil)
		var types []string
		var evs []apitype.WatchEvent
		sc := bufio.NewScanner(strings.NewReader(w.Body.String()))
		for sc.Scan() {
			var ev apitype.WatchEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatal(err)
			}
			types = append(types, ev.Type)
			evs = append(evs, ev)
		}
		if !slices.Equal(types, tt.want) {
			t.Fatalf("%s: events %v, want %v", tt.path, types, tt.want)
		}
		if tt.path != apitype.PathWatch {
			p := evs[1].Peer
			if p.Path != apitype.PathRelay || p.RxBytes != 300 || p.History == nil || p.History.RxBps[0] != 300 || evs[1].HistorySame {
				t.Errorf("quiet path event %+v (history_same %v), want the whole peer", p, evs[1].HistorySame)
			}
		}
	}
}
