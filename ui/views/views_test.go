//go:build gui

package views

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/assets"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/localapi/client"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/notify"
	"github.com/rayfish/rayfish/ui/state"
	"github.com/rayfish/rayfish/ui/uitest"
)

type harness struct {
	t       *testing.T
	app     fyne.App
	fake    *uitest.FakeClient
	q       *uitest.Queue
	ctl     *ui.Controller
	win     *Main
	started chan struct{}
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, app: test.NewTempApp(t), fake: uitest.NewFakeClient(), q: uitest.NewQueue(), started: make(chan struct{}, 1)}
	h.fake.SetVersion(apitype.Version{Version: "1.0.0", APIVersion: apitype.APIVersion})
	h.ctl = ui.New(ui.Config{
		Client:     h.fake,
		Socket:     "/run/rayfish/rayfish.sock",
		AppVersion: "1.0.0",
		Dispatch:   h.q.Dispatch,
		StartDaemon: func(context.Context) error {
			h.started <- struct{}{}
			return nil
		},
		MinBackoff: time.Hour,
	})
	t.Cleanup(func() { h.ctl.Close() })
	h.win = NewMain(h.app, h.ctl, opts)
	h.ctl.OnChange(h.win.Update)
	h.win.Show(TabPeers)
	return h
}

// start connects the controller and delivers a snapshot.
func (h *harness) start(st *apitype.Status) {
	h.t.Helper()
	h.ctl.Start()
	h.fake.WaitCall(h.t, "Version")
	h.fake.WaitCall(h.t, "Watch")
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventSnapshot, Status: st})
	h.q.RunUntil(h.t, func() bool { return h.ctl.Model().DaemonReachable() })
	// The settings tab asks for the daemon's prefs when it appears.
	h.fake.WaitCall(h.t, "Prefs")
	h.q.RunNext(h.t)
}

func status(st string) *apitype.Status {
	return &apitype.Status{
		Version: "1.0.0",
		State:   st,
		Self: apitype.Self{
			ID: "k7selfnodeid0000", Hostname: "laptop",
			IPv4: netip.MustParseAddr("100.64.0.1"), IPv6: netip.MustParseAddr("fd72:6179:6669::1"),
		},
		Networks: []apitype.Network{
			{Name: "home", ID: "nethome", Admin: true, Members: 4, Hostname: "laptop"},
			{Name: "work", ID: "network", Open: true, Members: 12, Hostname: "laptop-1"},
		},
		Peers: []apitype.Peer{
			{ID: "k7nas0000000000", Hostname: "nas", IPv4: netip.MustParseAddr("100.64.0.3"), IPv6: netip.MustParseAddr("fd72:6179:6669::3"),
				Networks: []string{"home"}, Online: true, Path: apitype.PathRelay, RelayReason: "both sides are behind strict NATs",
				RTTMs: 48.2, TxBytes: 1 << 20, RxBytes: 3 << 20},
			{ID: "k7phone00000000", Hostname: "phone", IPv4: netip.MustParseAddr("100.64.0.4"), IPv6: netip.MustParseAddr("fd72:6179:6669::4"),
				Networks: []string{"home", "work"}, Online: true, Path: apitype.PathDirect, RTTMs: 3.4, TxBytes: 2048, RxBytes: 512},
			{ID: "k7desk00000000", Hostname: "desktop", IPv4: netip.MustParseAddr("100.64.0.2"), IPv6: netip.MustParseAddr("fd72:6179:6669::2"),
				Networks: []string{"work"}, Online: false, Path: apitype.PathNone},
		},
	}
}

func TestConnectCallsUp(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateDown))
	if h.win.connectBtn.Disabled() || !h.win.disconnectBtn.Disabled() {
		t.Fatalf("disconnected: connect disabled=%v disconnect disabled=%v", h.win.connectBtn.Disabled(), h.win.disconnectBtn.Disabled())
	}
	test.Tap(h.win.connectBtn)
	h.fake.WaitCall(t, "Up")
	if !h.win.connectBtn.Disabled() || h.win.status.Text != "Connecting…" {
		t.Errorf("while connecting: connect disabled=%v status=%q", h.win.connectBtn.Disabled(), h.win.status.Text)
	}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventState, State: apitype.StateUp})
	h.q.RunUntil(t, func() bool { return h.ctl.Model().Conn() == state.Connected })
	if !h.win.connectBtn.Disabled() || h.win.disconnectBtn.Disabled() || h.win.status.Text != "Connected" {
		t.Errorf("connected: connect disabled=%v disconnect disabled=%v status=%q",
			h.win.connectBtn.Disabled(), h.win.disconnectBtn.Disabled(), h.win.status.Text)
	}
	test.Tap(h.win.disconnectBtn)
	h.fake.WaitCall(t, "Down")
}

func visibleNames(p *peersTab) []string {
	var out []string
	for _, v := range p.visible {
		out = append(out, v.Hostname)
	}
	return out
}

func TestPeerFilter(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	p := h.win.peers
	test.AssertRendersToMarkup(t, "peers.xml", h.win.win.Canvas())

	tests := []struct {
		query  string
		online bool
		want   []string
		count  string
	}{
		{"", false, []string{"nas", "phone", "desktop"}, "3 peers, 2 online"},
		{"", true, []string{"nas", "phone"}, "2 of 3 peers"},
		{"PHO", false, []string{"phone"}, "1 of 3 peers"},
		{"100.64.0.2", false, []string{"desktop"}, "1 of 3 peers"},
		{"100.64.0.2", true, nil, "0 of 3 peers"},
		{"fd72:6179:6669::3", false, []string{"nas"}, "1 of 3 peers"},
	}
	for _, tt := range tests {
		p.search.SetText("")
		test.Type(p.search, tt.query)
		p.online.SetChecked(tt.online)
		if got := visibleNames(p); !reflect.DeepEqual(got, tt.want) || p.list.Length() != len(tt.want) {
			t.Errorf("%q online=%v: rows %v (list %d), want %v", tt.query, tt.online, got, p.list.Length(), tt.want)
		}
		if p.count.Text != tt.count {
			t.Errorf("%q online=%v: count %q, want %q", tt.query, tt.online, p.count.Text, tt.count)
		}
	}

	// A peer going offline while "online only" is on drops out of the list.
	p.search.SetText("")
	p.online.SetChecked(true)
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &apitype.Peer{ID: "k7nas0000000000", Hostname: "nas", Online: false}})
	h.q.RunNext(t)
	if got := visibleNames(p); !reflect.DeepEqual(got, []string{"phone"}) {
		t.Errorf("after nas went offline: %v", got)
	}
}

func TestPeerRowAndPing(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	h.fake.SetPingReplies([]apitype.PingReply{
		{Seq: 1, RTTMs: 40, Path: "relay"}, {Seq: 2, Error: "timed out"}, {Seq: 3, RTTMs: 50, Path: "relay"},
	})
	row := newPeerRow(h.win.peers)
	row.set(h.ctl.Model().Peers()[0]) // nas, relayed
	if row.badge.Text != "relay" || row.reason.Text != "relay: both sides are behind strict NATs" {
		t.Errorf("badge %q reason %q", row.badge.Text, row.reason.Text)
	}
	if row.rtt.Text != "RTT 48 ms" || row.traffic.Text != "in 3.0 MiB · out 1.0 MiB" {
		t.Errorf("rtt %q traffic %q", row.rtt.Text, row.traffic.Text)
	}
	test.Tap(row.pingBtn)
	call := h.fake.WaitCall(t, "Ping")
	if req := call.Args[0].(apitype.PingRequest); req.Peer != "k7nas0000000000" || req.Count != 3 {
		t.Errorf("ping request %+v", req)
	}
	res := h.win.peers.result
	h.q.RunUntil(t, func() bool { return strings.HasPrefix(res.Text, "Ping nas:") })
	if want := "Ping nas: 2 of 3 replies, average 45 ms (#1: 40 ms via relay, #2: timed out, #3: 50 ms via relay)"; res.Text != want {
		t.Errorf("ping result %q, want %q", res.Text, want)
	}

	test.Tap(row.copyID)
	if got := h.app.Clipboard().Content(); got != "k7nas0000000000" {
		t.Errorf("clipboard %q", got)
	}
}

func TestJoinBadCode(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	h.win.Show(TabNetworks)
	n := h.win.networks
	h.win.Show(TabJoin) // as the tray's "Join a network…" does
	if h.win.win.Canvas().Focused() != n.joinCode {
		t.Error("join code entry not focused")
	}
	h.fake.SetErr("Join", &client.APIError{Status: 400, Message: "this is not a rayfish invite code"})
	test.Type(n.joinCode, "  garbage  ")
	test.Tap(n.joinBtn)
	call := h.fake.WaitCall(t, "Join")
	if req := call.Args[0].(apitype.JoinRequestBody); req.Code != "garbage" || req.Wait != "1s" {
		t.Errorf("join request %+v", req)
	}
	h.q.RunUntil(t, func() bool { return !n.joinBtn.Disabled() })
	if n.joinMsg.Text != "this is not a rayfish invite code" || n.joinMsg.Importance != widget.DangerImportance {
		t.Errorf("join message %q (importance %v)", n.joinMsg.Text, n.joinMsg.Importance)
	}

	// A good code that needs approval says so.
	h.fake.SetErr("Join", nil)
	h.fake.SetJoin(apitype.JoinResponse{Network: apitype.Network{Name: "lab"}, Pending: true})
	n.joinCode.SetText("rf1-good")
	test.Tap(n.joinBtn)
	h.fake.WaitCall(t, "Join")
	h.q.RunUntil(t, func() bool { return !n.joinBtn.Disabled() })
	if n.joinMsg.Text != "Asked to join lab: waiting for an admin to approve." || n.joinCode.Text != "" {
		t.Errorf("join message %q, code %q", n.joinMsg.Text, n.joinCode.Text)
	}

	// A join says the name this device got, and that inbound is closed.
	h.fake.SetJoin(apitype.JoinResponse{Network: apitype.Network{Name: "lab", Hostname: "laptop-1"}})
	n.joinCode.SetText("rf1-good")
	test.Tap(n.joinBtn)
	h.fake.WaitCall(t, "Join")
	h.q.RunUntil(t, func() bool { return !n.joinBtn.Disabled() })
	if want := "Joined lab as laptop-1. " + state.FirewallHintText + "."; n.joinMsg.Text != want {
		t.Errorf("join message %q, want %q", n.joinMsg.Text, want)
	}
}

// buttons returns the buttons in o, depth first.
func buttons(o fyne.CanvasObject) []*widget.Button {
	var out []*widget.Button
	switch v := o.(type) {
	case *widget.Button:
		out = append(out, v)
	case *keyButton:
		out = append(out, &v.Button)
	case *fyne.Container:
		for _, c := range v.Objects {
			out = append(out, buttons(c)...)
		}
	}
	return out
}

func button(t *testing.T, o fyne.CanvasObject, label string) *widget.Button {
	t.Helper()
	for _, b := range buttons(o) {
		if b.Text == label {
			return b
		}
	}
	t.Fatalf("no %q button", label)
	return nil
}

func TestApproveCallsAccept(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.Requests = []apitype.JoinRequest{
		{Network: "home", ID: "k7tablet000000", Hostname: "tablet"},
		{Network: "home", ID: "k7tv00000000000", Hostname: "tv"},
	}
	h.start(st)
	h.win.Show(TabNetworks)
	n := h.win.networks
	test.AssertRendersToMarkup(t, "networks.xml", h.win.win.Canvas())
	if n.reqCard.Hidden || len(n.requests.Objects) != 2 {
		t.Fatalf("requests card hidden=%v rows=%d", n.reqCard.Hidden, len(n.requests.Objects))
	}
	test.Tap(button(t, n.requests.Objects[0], "Approve"))
	call := h.fake.WaitCall(t, "Accept")
	if !reflect.DeepEqual(call.Args, []any{"home", "k7tablet000000"}) {
		t.Errorf("accept args %v", call.Args)
	}
	h.q.RunNext(t)
	test.Tap(button(t, n.requests.Objects[1], "Deny"))
	call = h.fake.WaitCall(t, "Deny")
	if !reflect.DeepEqual(call.Args, []any{"home", "k7tv00000000000"}) {
		t.Errorf("deny args %v", call.Args)
	}
	h.q.RunNext(t)

	// The daemon reports the requests decided: the card goes away.
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventRequests})
	h.q.RunNext(t)
	if !n.reqCard.Hidden {
		t.Error("requests card still shown")
	}
}

func TestInviteShowsCodeAndQR(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	h.win.Show(TabNetworks)
	n := h.win.networks
	// Only admin networks can invite.
	if got := n.invite.network.Options; !reflect.DeepEqual(got, []string{"home"}) {
		t.Errorf("invite networks %v", got)
	}
	expires := time.Date(2026, 5, 6, 7, 8, 0, 0, time.Local)
	h.fake.SetInvite(apitype.InviteResponse{Code: "rf1-home-abcdef", Network: "home", Reusable: true, Expires: expires})
	n.invite.reusable.SetChecked(true)
	test.Tap(button(t, n.list.Objects[0], "Invite…"))
	call := h.fake.WaitCall(t, "Invite")
	if req := call.Args[0].(apitype.InviteRequest); req.Network != "home" || !req.Reusable {
		t.Errorf("invite request %+v", req)
	}
	h.q.RunNext(t)
	p := n.invite
	if p.result.Hidden || p.code.Text != "rf1-home-abcdef" || !p.code.Selectable || p.qr.Image == nil {
		t.Fatalf("result hidden=%v code=%q qr=%v", p.result.Hidden, p.code.Text, p.qr.Image != nil)
	}
	if want := "expires May 6 2026 07:08 " + expires.Format("MST") + "."; !strings.Contains(p.msg.Text, want) {
		t.Errorf("invite message %q lacks %q (the time zone)", p.msg.Text, want)
	}
	test.Tap(p.copy)
	if got := h.app.Clipboard().Content(); got != "rf1-home-abcdef" {
		t.Errorf("clipboard %q", got)
	}
}

func TestLeaveAsksFirst(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	h.win.Show(TabNetworks)
	test.Tap(button(t, h.win.networks.list.Objects[1], "Leave…"))
	h.fake.NoCall(t) // only a confirmation so far
	c := h.win.win.Canvas()
	if len(c.Overlays().List()) == 0 {
		t.Fatal("no confirmation dialog")
	}
	test.Tap(button(t, dialogContent(c), "Yes"))
	call := h.fake.WaitCall(t, "Leave")
	if !reflect.DeepEqual(call.Args, []any{"work"}) {
		t.Errorf("leave args %v", call.Args)
	}
	h.q.RunNext(t)
}

// dialogContent returns the top overlay's objects as a container tree.
func dialogContent(c fyne.Canvas) fyne.CanvasObject {
	top := c.Overlays().Top()
	return container.NewWithoutLayout(test.LaidOutObjects(top)...)
}

func TestDaemonNotRunning(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.SetDown(true)
	h.ctl.Start()
	h.fake.WaitCall(t, "Version")
	h.q.RunNext(t)
	b := h.win.banner
	if b.content.Hidden || b.title.Text != "rayfish daemon is not running" || b.start.Hidden {
		t.Fatalf("banner hidden=%v title=%q start hidden=%v", b.content.Hidden, b.title.Text, b.start.Hidden)
	}
	if !h.win.connectBtn.Disabled() || !h.win.disconnectBtn.Disabled() {
		t.Error("connect/disconnect enabled without a daemon")
	}
	test.AssertRendersToMarkup(t, "daemon-down.xml", h.win.win.Canvas())

	h.fake.SetDown(false)
	test.Tap(b.start)
	<-h.started
	h.fake.WaitCall(t, "Version")
	h.fake.WaitCall(t, "Watch")
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventSnapshot, Status: status(apitype.StateUp)})
	h.q.RunUntil(t, func() bool { return h.ctl.Model().DaemonReachable() })
	if !b.content.Hidden {
		t.Error("banner still shown with the daemon back")
	}
}

func TestAboutShowsMismatch(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.SetVersion(apitype.Version{Version: "1.1.0", Commit: "abc123", APIVersion: apitype.APIVersion})
	st := status(apitype.StateUp)
	st.Drops = map[string]uint64{"no_peer": 3, "firewall": 1}
	h.start(st)
	h.win.Show(TabAbout)
	a := h.win.about
	if a.daemon.Text != "1.1.0 (abc123) (API 1)" || a.mismatch.Hidden || a.drops.Text != "firewall 1, no peer 3" {
		t.Errorf("daemon %q mismatch hidden=%v drops %q", a.daemon.Text, a.mismatch.Hidden, a.drops.Text)
	}
	test.AssertRendersToMarkup(t, "about.xml", h.win.win.Canvas())
}

type fakeAutostart struct {
	on  bool
	err error
}

func (f *fakeAutostart) Enabled() (bool, error) { return f.on, nil }
func (f *fakeAutostart) SetEnabled(on bool) error {
	if f.err != nil {
		return f.err
	}
	f.on = on
	return nil
}

func TestSettings(t *testing.T) {
	auto := &fakeAutostart{}
	h := newHarness(t, Options{Autostart: auto})
	h.fake.SetPrefsAnswer(apitype.Prefs{ConnectOnStart: true, Relays: []string{"https://relay.example"}, Operator: "alice"})
	h.start(status(apitype.StateUp))
	h.win.Show(TabSettings)
	h.fake.WaitCall(t, "Prefs") // selecting the tab reloads
	h.q.RunNext(t)
	s := h.win.settings
	if !s.connectOnStart.Checked || s.relays.Text != "https://relay.example" || s.operator.Text != "alice" || s.save.Disabled() {
		t.Fatalf("form not filled: %v %q %q save disabled=%v", s.connectOnStart.Checked, s.relays.Text, s.operator.Text, s.save.Disabled())
	}

	// Changing the relays while connected saves, then reconnects. Leaving
	// the tab and coming back keeps the unsaved edit.
	s.relays.SetText("https://relay.example\n\nhttps://relay2.example ")
	h.win.Show(TabPeers)
	h.win.Show(TabSettings)
	h.fake.NoCall(t)
	test.Tap(s.save)
	call := h.fake.WaitCall(t, "SetPrefs")
	on := true // an older daemon's answer without the fields means on
	want := apitype.Prefs{ConnectOnStart: true, Relays: []string{"https://relay.example", "https://relay2.example"}, Operator: "alice", PortMap: &on, DHT: &on}
	if got := call.Args[0].(apitype.Prefs); !reflect.DeepEqual(got, want) {
		t.Errorf("SetPrefs %+v, want %+v", got, want)
	}
	h.q.RunNext(t)
	if s.msg.Text != "Saved. Reconnecting to use the new relays…" {
		t.Errorf("msg %q", s.msg.Text)
	}
	h.fake.WaitCall(t, "Down")
	h.q.RunNext(t)
	h.fake.WaitCall(t, "Up")
	h.q.RunNext(t)
	if s.msg.Text != "Saved and reconnected." {
		t.Errorf("msg %q", s.msg.Text)
	}

	// The DHT switch shows the daemon's setting and sends a change.
	off := false
	h.fake.SetPrefsAnswer(apitype.Prefs{Relays: want.Relays, Operator: "alice", PortMap: &on, DHT: &off})
	s.requested = false
	s.reload()
	h.fake.WaitCall(t, "Prefs")
	h.q.RunNext(t)
	if s.dht.Checked || !s.portmap.Checked || s.dirty() {
		t.Fatalf("daemon's DHT off not shown: dht=%v portmap=%v dirty=%v", s.dht.Checked, s.portmap.Checked, s.dirty())
	}
	s.dht.SetChecked(true)
	if !s.dirty() {
		t.Error("turning the DHT on does not make the form dirty")
	}
	test.Tap(s.save)
	call = h.fake.WaitCall(t, "SetPrefs")
	if got := call.Args[0].(apitype.Prefs); got.DHT == nil || !*got.DHT || got.PortMap == nil || !*got.PortMap {
		t.Errorf("SetPrefs DHT %v PortMap %v, want both on", got.DHT, got.PortMap)
	}
	h.q.RunNext(t)

	// Check asks the daemon for its DHT node's state.
	h.fake.SetNetcheck(apitype.Netcheck{DHT: apitype.NetcheckDHT{On: true, Nodes: 42, Error: "publish: no node answered"}})
	test.Tap(s.dhtCheck)
	h.fake.WaitCall(t, "Netcheck")
	h.q.RunNext(t)
	if want := "DHT state: on, 42 nodes, not published yet: publish: no node answered"; s.dhtState.Text != want {
		t.Errorf("DHT state %q, want %q", s.dhtState.Text, want)
	}

	// Start at login goes through the autostart manager.
	s.startAtLogin.SetChecked(true)
	if !auto.on {
		t.Error("autostart not enabled")
	}
	auto.err = errors.New("read-only home")
	s.startAtLogin.SetChecked(false)
	if !auto.on || !s.startAtLogin.Checked || s.loginMsg.Text != "read-only home" {
		t.Errorf("failed disable: on=%v checked=%v msg=%q", auto.on, s.startAtLogin.Checked, s.loginMsg.Text)
	}
}

func TestTrayStyleSetting(t *testing.T) {
	var got []string
	h := newHarness(t, Options{OnTrayStyle: func(v assets.Variant) { got = append(got, string(v)) }})
	s := h.win.settings
	s.trayStyle.SetSelected("White (dark panels)")
	if TrayStyle(h.app) != "white" || len(got) == 0 || got[len(got)-1] != "white" {
		t.Errorf("style %q, callbacks %v", TrayStyle(h.app), got)
	}
}

func TestNotify(t *testing.T) {
	a := test.NewTempApp(t)
	req := state.Notice{Kind: state.NoticeJoinRequest, Title: "Join request", Body: "tablet asks to join home"}
	online := state.Notice{Kind: state.NoticePeerOnline, Title: "Peer online", Body: "nas is online"}
	test.AssertNotificationSent(t, fyne.NewNotification("Join request", "tablet asks to join home. Open rayfish to approve or deny."), func() {
		(&Notifier{App: a}).Notify([]state.Notice{req})
	})
	// Peer notifications are off by default.
	test.AssertNotificationSent(t, nil, func() { (&Notifier{App: a}).Notify([]state.Notice{online}) })
	a.Preferences().SetBool(PrefNotifyPeers, true)
	test.AssertNotificationSent(t, fyne.NewNotification("Peer online", "nas is online"), func() {
		(&Notifier{App: a}).Notify([]state.Notice{online})
	})
	a.Preferences().SetBool(PrefNotify, false)
	test.AssertNotificationSent(t, nil, func() { (&Notifier{App: a}).Notify([]state.Notice{req}) })
}

// fakeActions records notifications with buttons.
type fakeActions struct {
	sent     []string
	actions  [][]notify.Action
	onAction []func(string)
	err      error
}

func (f *fakeActions) Send(title, body string, actions []notify.Action, onAction func(string)) error {
	if f.err != nil {
		return f.err
	}
	f.sent = append(f.sent, title+": "+body)
	f.actions = append(f.actions, actions)
	f.onAction = append(f.onAction, onAction)
	return nil
}

// TestNotifyApprove: where notifications have buttons, a join request
// carries "Approve", which accepts that request through the daemon;
// where they have none (or sending fails), the plain notification says
// to open the window.
func TestNotifyApprove(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	fa := &fakeActions{}
	n := &Notifier{App: h.app, Ctl: h.ctl, Actions: fa}
	req := state.Notice{Kind: state.NoticeJoinRequest, Title: "Join request", Body: "tablet asks to join home", Network: "home", ID: "k7tablet"}
	test.AssertNotificationSent(t, nil, func() { n.Notify([]state.Notice{req}) })
	if len(fa.sent) != 1 || fa.sent[0] != "Join request: tablet asks to join home. Approve here, or deny it in rayfish." ||
		len(fa.actions[0]) != 1 || fa.actions[0][0] != (notify.Action{Key: "approve", Label: "Approve"}) {
		t.Fatalf("sent %q with %v", fa.sent, fa.actions)
	}
	fa.onAction[0]("default") // a click on the body is no approval
	h.fake.NoCall(t)
	fa.onAction[0]("approve")
	call := h.fake.WaitCall(t, "Accept")
	if call.Args[0] != "home" || call.Args[1] != "k7tablet" {
		t.Errorf("accepted %v", call.Args)
	}
	test.AssertNotificationSent(t, fyne.NewNotification("Join request", "Approved the join request: tablet asks to join home."), func() {
		h.q.RunNext(t)
	})

	fa.err = errors.New("no notification server")
	test.AssertNotificationSent(t, fyne.NewNotification("Join request", "tablet asks to join home. Open rayfish to approve or deny."), func() {
		n.Notify([]state.Notice{req})
	})
}

// TestPeersHints: the peers view says when the inbound firewall drops
// packets (and how to open a port), that this device waits for approval,
// and shows a peer in standby as such.
func TestPeersHints(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.Peers[1].State = apitype.PeerStandby
	h.start(st)
	p := h.win.peers
	if p.hint.Visible() {
		t.Errorf("hint shown with nothing to say: %q", p.hint.Text)
	}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventDrops, Drops: map[string]uint64{"firewall_in": 2}, FirewallInLastMinute: 2})
	h.q.RunNext(t)
	want := "The firewall blocked 2 inbound packets in the last minute. " + state.FirewallHintText
	if !p.hint.Visible() || p.hint.Text != want {
		t.Errorf("hint visible=%v %q, want %q", p.hint.Visible(), p.hint.Text, want)
	}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventJoining, Joining: []apitype.Joining{{Network: "lab", State: apitype.JoinDenied}}})
	h.q.RunNext(t)
	if !strings.HasPrefix(p.hint.Text, "An admin of lab denied this device's join request\n") {
		t.Errorf("hint %q", p.hint.Text)
	}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventDrops, Drops: map[string]uint64{"firewall_in": 2}})
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventJoining})
	h.q.RunUntil(t, func() bool { return !p.hint.Visible() }) // one drain or two
	if p.hint.Visible() {
		t.Errorf("hint still shown: %q", p.hint.Text)
	}
	row := newPeerRow(p)
	row.set(h.ctl.Model().Peers()[1]) // phone, in standby
	if row.badge.Text != "standby" || !strings.Contains(row.reason.Text, "ray down") {
		t.Errorf("standby peer: badge %q reason %q", row.badge.Text, row.reason.Text)
	}
}

// TestCreateSaysInboundIsClosed: creating a network says that inbound
// connections are blocked and how to open a port, as `ray create` does.
func TestCreateSaysInboundIsClosed(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	h.win.Show(TabNetworks)
	n := h.win.networks
	n.createName.SetText("lab")
	test.Tap(n.createBtn)
	h.fake.WaitCall(t, "Create")
	h.q.RunUntil(t, func() bool { return strings.HasPrefix(n.createMsg.Text, "Created lab.") })
	if want := "Created lab. Invite devices with Invite… above. " + state.FirewallHintText + "."; n.createMsg.Text != want {
		t.Errorf("create message %q, want %q", n.createMsg.Text, want)
	}
}
