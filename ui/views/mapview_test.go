//go:build gui

package views

import (
	"fmt"
	"net/netip"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui/state"
)

// mapObjects counts what the map draws, by type.
func mapObjects(t *testing.T, v *mapView) (lines, circles, texts int) {
	t.Helper()
	for _, o := range test.TempWidgetRenderer(t, v).Objects() {
		switch o.(type) {
		case *canvas.Line:
			lines++
		case *canvas.Circle:
			circles++
		case *canvas.Text:
			texts++
		}
	}
	return
}

func TestMapTab(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp)) // nas relayed, phone direct, desktop offline
	h.win.Show(TabMap)
	v := h.win.mapv
	v.Resize(fyne.NewSize(600, 500))
	l := v.layout
	if len(l.Nodes) != 5 { // self, relay, nas, phone, "1 offline"
		t.Fatalf("map nodes %+v", l.Nodes)
	}
	lines, circles, texts := mapObjects(t, v)
	// self, 2 peers and the offline node are circles; relayed lines are
	// dashes, so more lines than edges.
	if circles != 4 || texts != 5 || lines <= len(l.Edges) {
		t.Errorf("drawn: %d lines, %d circles, %d texts", lines, circles, texts)
	}
	if v.set(h.ctl.Model().Map()) {
		t.Error("the same layout redraws the map")
	}

	// A click on phone opens its details.
	var phone state.MapNode
	for _, n := range l.Nodes {
		if n.ID == "k7phone00000000" {
			phone = n
		}
	}
	h.fake.SetFirewall(fwState())
	test.TapAt(v, fyne.NewPos(phone.X*600+3, phone.Y*500-3))
	h.fake.WaitCall(t, "Firewall")
	if d := h.win.peers.details; d.id != "k7phone00000000" {
		t.Errorf("a click on phone opened %q", d.id)
	}
	h.q.RunUntil(t, func() bool { return !h.ctl.Busy() })
	h.win.peers.details.dlg.Hide()

	// A click far from every peer opens nothing.
	test.TapAt(v, fyne.NewPos(300, 250)) // this device
	h.fake.NoCall(t)

	// The stream moves nas to a direct path: no relay box any more.
	nas, _ := h.ctl.Model().Peer("k7nas0000000000")
	nas.Path = apitype.PathDirect
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &nas})
	h.q.RunUntil(t, func() bool { p, _ := h.ctl.Model().Peer(nas.ID); return p.Path == apitype.PathDirect })
	for _, n := range v.layout.Nodes {
		if n.Kind == state.MapRelay {
			t.Error("relay box still drawn with no relayed peer")
		}
	}
}

func TestMapFiftyPeers(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.Peers = nil
	for i := range 50 {
		p := apitype.Peer{ID: fmt.Sprintf("k7peer%04d", i), Hostname: fmt.Sprintf("host-%02d", i),
			IPv4: netip.AddrFrom4([4]byte{100, 64, 1, byte(i)}), Online: i%5 != 0, Path: apitype.PathDirect, Networks: []string{"home"}}
		if i%4 == 1 {
			p.Path = apitype.PathRelay
		}
		st.Peers = append(st.Peers, p)
	}
	h.start(st)
	h.win.Show(TabMap)
	v := h.win.mapv
	v.Resize(fyne.NewSize(800, 480))
	_, circles, _ := mapObjects(t, v)
	if circles != 1+40+1 { // self, 40 online, one offline group
		t.Errorf("%d circles for 40 online and 10 offline peers", circles)
	}
}
