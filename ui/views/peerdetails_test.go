//go:build gui

package views

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func TestPeerDetails(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	h.fake.SetFirewall(fwState())
	p := h.win.peers
	d := p.details
	p.list.Select(0) // nas, relayed
	h.fake.WaitCall(t, "Firewall")
	if d.id != "k7nas0000000000" || d.title.Text != "nas — relay" {
		t.Fatalf("details of %q titled %q", d.id, d.title.Text)
	}
	if rowValue(d.rows, "Why") != "both sides are behind strict NATs" || rowValue(d.rows, "Round trip") != "48 ms" {
		t.Errorf("rows %v", d.rows.shown)
	}
	h.q.RunUntil(t, func() bool { return strings.Contains(d.rules.Text, "Everything else") })
	if want := "in allow icmp with any peer · seeded\nin allow tcp port 22 from nas\nEverything else: inbound deny, outbound allow."; d.rules.Text != want {
		t.Errorf("rules %q, want %q", d.rules.Text, want)
	}

	// The copy button of the IPv4 row.
	objs := d.rows.content.Objects
	for i := 0; i+1 < len(objs); i += 2 {
		if objs[i].(*widget.Label).Text == "IPv4" {
			test.Tap(buttons(objs[i+1])[0])
		}
	}
	if got := h.app.Clipboard().Content(); got != "100.64.0.3" {
		t.Errorf("clipboard %q after copying the IPv4 address", got)
	}

	// The stream moves the peer to a direct path.
	nas := h.ctl.Model().Peers()[0]
	nas.Path, nas.Endpoint, nas.RelayReason, nas.RTTMs = apitype.PathDirect, "198.18.0.3:41641", "", 4
	nas.OS, nas.Version, nas.DNSName = "linux/arm64", "1.2.0", "nas.ray"
	nas.Candidates = []string{"198.18.0.3:41641"}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &nas})
	h.q.RunNext(t)
	if d.title.Text != "nas — direct" || rowValue(d.rows, "Path") != "direct to 198.18.0.3:41641" || rowValue(d.rows, "Why") != "" {
		t.Errorf("after the path change: %q, rows %v", d.title.Text, d.rows.shown)
	}
	if rowValue(d.rows, "Runs") != "Linux (arm64) · rayfish 1.2.0" || rowValue(d.rows, "DNS name") != "nas.ray" || rowValue(d.rows, "Candidates") != "198.18.0.3:41641" {
		t.Errorf("platform, name and candidates from the stream: rows %v", d.rows.shown)
	}

	h.fake.SetPingReplies([]apitype.PingReply{{Seq: 1, RTTMs: 4, Path: "direct"}})
	test.Tap(d.pingBtn)
	if req := h.fake.WaitCall(t, "Ping").Args[0].(apitype.PingRequest); req.Peer != "k7nas0000000000" {
		t.Errorf("ping %+v", req)
	}
	h.q.RunUntil(t, func() bool { return strings.HasPrefix(d.pingMsg.Text, "Ping nas:") })

	// Open in browser…
	var opened []string
	d.openURL = func(u *url.URL) error { opened = append(opened, u.String()); return nil }
	test.Type(d.port, "80a")
	test.Tap(d.openBtn)
	if d.openMsg.Text != `"80a" is not a port (1-65535)` || len(opened) != 0 {
		t.Errorf("bad port: %q, opened %v", d.openMsg.Text, opened)
	}
	d.port.SetText("8080")
	test.Tap(d.openBtn)
	if len(opened) != 1 || opened[0] != "http://100.64.0.3:8080/" || !strings.HasPrefix(d.openMsg.Text, "Opened") {
		t.Errorf("opened %v, message %q", opened, d.openMsg.Text)
	}
	// Once the system resolver points at rayfish, by name (Enter opens).
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventDNS, DNS: &apitype.DNSHealth{State: apitype.DNSOK}})
	h.q.RunNext(t)
	d.port.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(opened) != 2 || opened[1] != "http://nas.ray:8080/" {
		t.Errorf("opened %v with DNS applied", opened)
	}

	// The peer leaves: the dialog says so and Ping is off.
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventPeerRemoved, PeerID: "k7nas0000000000"})
	h.q.RunNext(t)
	if !d.gone.Visible() || !d.pingBtn.Disabled() {
		t.Errorf("removed peer: gone shown %v, ping disabled %v", d.gone.Visible(), d.pingBtn.Disabled())
	}

	// Closed, it follows nothing.
	d.dlg.Hide()
	if d.id != "" {
		t.Error("closed dialog still follows a peer")
	}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &apitype.Peer{ID: "k7new", Hostname: "new",
		IPv4: netip.MustParseAddr("100.64.0.9"), Online: true}})
	h.q.RunNext(t)
	if d.title.Text != "nas — direct" {
		t.Errorf("closed dialog changed to %q", d.title.Text)
	}
}

// TestPeerDetailsSparklines: the details draw the history the stream
// carries and follow each new sample; without history they say when it
// comes.
func TestPeerDetailsSparklines(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	d := h.win.peers.details
	h.win.peers.list.Select(0) // nas
	h.fake.WaitCall(t, "Firewall")
	if !d.sparks.empty.Visible() || d.sparks.content.Objects[1].Visible() {
		t.Fatal("sparklines shown before any history")
	}
	nas := h.ctl.Model().Peers()[0]
	nas.History = &apitype.PeerHistory{IntervalS: 5, RTTMs: []float64{10, 20, 40}, RxBps: []uint64{0, 2048, 1024}, TxBps: []uint64{0, 0, 0}}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &nas})
	s := d.sparks
	h.q.RunUntil(t, func() bool { return !s.empty.Visible() })
	if !s.content.Objects[1].Visible() {
		t.Fatal("history not shown")
	}
	if got := s.lines[0].points; len(got) != 3 || got[0] != 0.25 || got[2] != 1 {
		t.Errorf("rtt points %v", got)
	}
	if s.captions[0].Text != "now 40 ms · peak 40 ms (last 15 s)" || s.captions[1].Text != "now 1.0 KiB/s · peak 2.0 KiB/s (last 15 s)" {
		t.Errorf("captions %q, %q", s.captions[0].Text, s.captions[1].Text)
	}
	r := test.TempWidgetRenderer(t, s.lines[0])
	if n := len(r.Objects()); n != 3 { // baseline and two segments
		t.Errorf("rtt sparkline drew %d objects", n)
	}

	// A new sample arrives with the next event.
	nas.History = &apitype.PeerHistory{IntervalS: 5, RTTMs: []float64{10, 20, 40, 80}, RxBps: []uint64{0, 2048, 1024, 0}, TxBps: []uint64{0, 0, 0, 512}}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &nas})
	h.q.RunUntil(t, func() bool { return len(s.lines[0].points) == 4 })
	if got := s.lines[0].points; len(got) != 4 || got[3] != 1 || got[2] != 0.5 {
		t.Errorf("rtt points after a sample %v", got)
	}
	if s.captions[2].Text != "now 512 B/s · peak 512 B/s (last 20 s)" {
		t.Errorf("out caption %q", s.captions[2].Text)
	}
	if s.lines[0].set(s.lines[0].points) {
		t.Error("the same points redrew the sparkline")
	}
	one := newSparkView(mapBlue)
	one.set([]float32{0.5})
	if n := len(test.TempWidgetRenderer(t, one).Objects()); n != 2 { // baseline and a tick
		t.Errorf("a one-sample sparkline drew %d objects", n)
	}
}

// TestPeerRowRedrawsOnlyChanges: a row shown again with the same text
// changes nothing; a new round trip changes only its label.
func TestPeerRowRedrawsOnlyChanges(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	row := newPeerRow(h.win.peers)
	test.TempWidgetRenderer(t, row)
	p := h.ctl.Model().Peers()[0]
	row.set(p)
	name := row.name.Text
	row.name.Text = "marker" // a redraw of the whole row would overwrite it
	p.RxBytes++              // below the rounding of the traffic label
	row.set(p)
	if row.name.Text != "marker" {
		t.Fatal("an unchanged row was drawn again")
	}
	p.RTTMs = 777
	row.set(p)
	if row.rtt.Text != "RTT 777 ms" || row.name.Text != "marker" {
		t.Errorf("counter change: rtt %q, name %q (not redrawn: %q)", row.rtt.Text, row.name.Text, name)
	}
	p.Hostname = "renamed"
	row.set(p)
	if row.name.Text != "renamed" {
		t.Errorf("rename not shown: %q", row.name.Text)
	}
}
