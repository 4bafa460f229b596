package state

import (
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func TestPeerSparks(t *testing.T) {
	if PeerSparks(apitype.Peer{}) != nil {
		t.Error("sparks without history")
	}
	h := &apitype.PeerHistory{IntervalS: 5, RTTMs: make([]float64, 60), RxBps: make([]uint64, 60), TxBps: make([]uint64, 60)}
	for i := range 60 {
		h.RTTMs[i] = float64(i%10) + 1 // peak 10 ms
		h.RxBps[i] = uint64(i) * 1024  // peak 59 KiB/s, last
	}
	sp := PeerSparks(apitype.Peer{History: h})
	if len(sp) != 3 || sp[0].Label != "Round trip" || sp[1].Label != "In" || sp[2].Label != "Out" {
		t.Fatalf("sparks %+v", sp)
	}
	if got, want := sp[0].Caption, "now 10 ms · peak 10 ms (last 5 min)"; got != want {
		t.Errorf("rtt caption %q, want %q", got, want)
	}
	if got, want := sp[1].Caption, "now 59.0 KiB/s · peak 59.0 KiB/s (last 5 min)"; got != want {
		t.Errorf("in caption %q, want %q", got, want)
	}
	if sp[0].Points[9] != 1 || sp[0].Points[0] != 0.1 || sp[1].Points[0] != 0 || sp[1].Points[59] != 1 {
		t.Errorf("points rtt %v in %v", sp[0].Points[:10], sp[1].Points[58:])
	}
	for _, p := range sp[2].Points {
		if p != 0 {
			t.Fatalf("idle outbound has points %v", sp[2].Points)
		}
	}
	if got := sp[2].Caption; got != "now 0 B/s · peak 0 B/s (last 5 min)" {
		t.Errorf("out caption %q", got)
	}
}

// TestPeerSparksBounded: however many samples the daemon sends, and
// however uneven the three lines, the sparklines keep the newest of at
// most HistorySamples, the same number each.
func TestPeerSparksBounded(t *testing.T) {
	const long = 10 * apitype.HistorySamples
	h := &apitype.PeerHistory{IntervalS: 5, RTTMs: make([]float64, long), RxBps: make([]uint64, long+3), TxBps: make([]uint64, long)}
	for i := range long {
		h.RTTMs[i] = float64(i)
	}
	h.RxBps[long+2] = 7
	sp := PeerSparks(apitype.Peer{History: h})
	if len(sp) != 3 {
		t.Fatalf("%d sparks", len(sp))
	}
	for _, s := range sp {
		if len(s.Points) != apitype.HistorySamples {
			t.Errorf("%s: %d points, want %d", s.Label, len(s.Points), apitype.HistorySamples)
		}
	}
	if sp[0].Points[apitype.HistorySamples-1] != 1 || !strings.Contains(sp[0].Caption, "now 599 ms") || sp[1].Points[apitype.HistorySamples-1] != 1 {
		t.Errorf("not the newest samples: rtt %q, in ends %v", sp[0].Caption, sp[1].Points[apitype.HistorySamples-1])
	}
	// Uneven or empty lines draw nothing rather than crash the app.
	for _, bad := range []*apitype.PeerHistory{
		{IntervalS: 5, RTTMs: []float64{1, 2}},
		{IntervalS: 5, RTTMs: []float64{1}, RxBps: []uint64{1}},
		{IntervalS: 5},
	} {
		if sp := PeerSparks(apitype.Peer{History: bad}); sp != nil {
			t.Errorf("history %+v drew %+v", bad, sp)
		}
	}
	short := &apitype.PeerHistory{IntervalS: 5, RTTMs: []float64{1, 2, 3}, RxBps: []uint64{1, 2}, TxBps: []uint64{1, 2, 3}}
	if sp := PeerSparks(apitype.Peer{History: short}); len(sp) != 3 || len(sp[0].Points) != 2 || len(sp[2].Points) != 2 {
		t.Errorf("uneven history drew %+v", sp)
	}
}

// TestWarnings: relay-only, DNS not applied and a version mismatch each
// give a tray warning; the tooltip carries the DNS and version ones.
func TestWarnings(t *testing.T) {
	direct := peer("3", "nas", true, apitype.PathDirect)
	relayed := peer("4", "pi", true, apitype.PathRelay)
	m := New("1.2.0")
	m.Apply(snapshot(apitype.StateUp, direct, relayed))
	if w := m.Warnings(); len(w) != 0 {
		t.Fatalf("healthy: %q", w)
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventPeerRemoved, PeerID: "3"})
	if w := m.Warnings(); len(w) != 1 || w[0] != "relay only: 1 peer reached only through a relay (slower); see Diagnostics" {
		t.Fatalf("relay only: %q", w)
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventDNS, DNS: &apitype.DNSHealth{State: apitype.DNSNotApplied, Detail: "rewritten"}})
	m.SetDaemonVersion(apitype.Version{Version: "1.3.0", APIVersion: apitype.APIVersion})
	w := m.Warnings()
	if len(w) != 3 || w[1] != "DNS not applied: .ray names do not resolve; see Diagnostics" ||
		w[2] != "update needed: app and daemon versions differ (daemon 1.3.0, app 1.2.0)" {
		t.Fatalf("warnings %q", w)
	}
	tip := m.TrayTooltip()
	for _, want := range []string{"\n⚠ DNS not applied", "\n⚠ update needed", "\n1 peer only through a relay"} {
		if !strings.Contains(tip, want) {
			t.Errorf("tooltip %q lacks %q", tip, want)
		}
	}
	if row, ok := m.DNSRow(); !ok || row.Value != "NOT APPLIED: names like nas.ray do not resolve outside rayfish — rewritten" {
		t.Errorf("dns row %+v %v", row, ok)
	}
	m.DaemonGone(nil)
	if len(m.Warnings()) != 0 {
		t.Error("warnings without a daemon")
	}
}
