//go:build gui

package views

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui"
)

// rowOf returns the list row bound to the peer named host.
func rowOf(t *testing.T, p *peersTab, host string) *peerRow {
	t.Helper()
	for id, r := range p.rows {
		if r.bound == id && id < len(p.visible) && p.visible[id].Hostname == host && r.p.Hostname == host {
			return r
		}
	}
	t.Fatalf("no row shows %s", host)
	return nil
}

// TestPeerRowsRedrawInPlace: a stream update redraws only the rows whose
// peer changed, without the list refreshing (which rebinds every row and
// builds a template row); a change of path shows at once, a change of
// round trip or traffic alone waits for the counters throttle, which
// shows the latest numbers; a new peer refreshes the list.
func TestPeerRowsRedrawInPlace(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	h.start(st)
	p := h.win.peers
	const interval = 3 * time.Second
	p.counters = ui.NewThrottle(interval, h.q.Dispatch, func() { p.redraw(true) })
	creates := 0
	create := p.list.CreateItem
	p.list.CreateItem = func() fyne.CanvasObject { creates++; return create() }

	nas, phone := st.Peers[0], st.Peers[1]
	send := func(peer apitype.Peer) {
		t.Helper()
		h.fake.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &peer})
		h.q.RunNext(t)
	}
	// The first counters change in a while shows at once.
	nas.RTTMs = 50
	send(nas)
	if got := rowOf(t, p, "nas").rtt.Text; got != "RTT 50 ms" {
		t.Fatalf("nas's first new round trip: row shows %q", got)
	}
	// The next ones within the interval wait, and the last one lands.
	start := time.Now()
	nas.RTTMs, nas.RxBytes = 61, 9<<20
	send(nas)
	if got := rowOf(t, p, "nas").rtt.Text; got != "RTT 50 ms" && time.Since(start) < interval {
		t.Errorf("a second round trip within %v redrew at once: %q", interval, got)
	}
	// A new path shows at once, whatever the throttle.
	phone.Path, phone.RelayReason = apitype.PathRelay, "no direct path yet"
	send(phone)
	if got := rowOf(t, p, "phone").badge.Text; got != "relay" {
		t.Errorf("phone relayed: badge %q", got)
	}
	if !p.counters.Pending() {
		t.Fatal("nas's held-back numbers have no redraw scheduled")
	}
	h.q.RunUntil(t, func() bool { return !p.counters.Pending() })
	r := rowOf(t, p, "nas")
	if r.rtt.Text != "RTT 61 ms" || r.traffic.Text != "in 9.0 MiB · out 1.0 MiB" {
		t.Errorf("after the interval nas shows %q, %q; want the latest numbers", r.rtt.Text, r.traffic.Text)
	}
	if d := time.Since(start); d > interval+2*time.Second {
		t.Errorf("the latest numbers took %v to land, want about %v", d, interval)
	}
	if creates != 0 {
		t.Errorf("updates of known peers refreshed the list %d times", creates)
	}

	// A new peer: the list is refreshed and shows it.
	send(apitype.Peer{ID: "k7tv000000000000", Hostname: "tv", Online: true, Path: apitype.PathDirect})
	if creates == 0 {
		t.Error("a new peer did not refresh the list")
	}
	if got := rowOf(t, p, "tv").badge.Text; got != "direct" {
		t.Errorf("new peer tv: badge %q", got)
	}
}
