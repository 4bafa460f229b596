//go:build gui

package views

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func TestFirstStepsJoinOrCreate(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.Networks, st.Peers = nil, nil
	h.start(st)
	s := h.win.peers.steps
	if !s.content.Visible() || len(s.content.Objects) != 1 || s.content.Objects[0] != s.start {
		t.Fatalf("no network: first steps visible=%v objects=%d", s.content.Visible(), len(s.content.Objects))
	}
	if h.win.peers.filters.Visible() {
		t.Error("no network: the search row shows over an empty list")
	}

	h.fake.SetJoin(apitype.JoinResponse{Network: apitype.Network{Name: "lab", Hostname: "laptop"}})
	test.Type(s.joinCode, " rf1-code ")
	test.Tap(s.joinBtn)
	call := h.fake.WaitCall(t, "Join")
	if req := call.Args[0].(apitype.JoinRequestBody); req.Code != "rf1-code" {
		t.Errorf("join request %+v", req)
	}
	h.q.RunUntil(t, func() bool { return !s.joinBtn.Disabled() })
	if !strings.HasPrefix(s.joinMsg.Text, "Joined lab as laptop.") {
		t.Errorf("join message %q", s.joinMsg.Text)
	}

	test.Tap(s.createBtn)
	if s.createMsg.Text != "Give the network a name." {
		t.Errorf("create without a name: %q", s.createMsg.Text)
	}
	h.fake.NoCall(t)
	test.Type(s.createName, "home")
	s.createName.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	call = h.fake.WaitCall(t, "Create")
	if req := call.Args[0].(apitype.CreateRequest); req.Name != "home" || req.Open {
		t.Errorf("create request %+v", req)
	}
	h.q.RunUntil(t, func() bool { return strings.HasPrefix(s.createMsg.Text, "Created home.") })

	// The daemon reports the new network: the step becomes "invite".
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventNetworks, Networks: []apitype.Network{{Name: "home", Admin: true, Members: 1}}})
	h.q.RunNext(t)
	if len(s.content.Objects) != 1 || s.content.Objects[0] != s.invite {
		t.Fatal("alone in a network: the invite step is not shown")
	}
	if !strings.Contains(s.inviteText.Text, "No other device of home is online yet") || s.inviteBtn.Disabled() {
		t.Errorf("invite step %q (button disabled %v)", s.inviteText.Text, s.inviteBtn.Disabled())
	}
	if !h.win.peers.filters.Visible() {
		t.Error("in a network: no search row")
	}
	test.Tap(s.inviteBtn)
	call = h.fake.WaitCall(t, "Invite")
	if req := call.Args[0].(apitype.InviteRequest); req.Network != "home" {
		t.Errorf("invite request %+v", req)
	}
	if h.win.tabs.Selected() != h.win.tabItems[TabNetworks] {
		t.Error("Invite a device… did not open the Networks tab")
	}

	// A peer comes online: no more first steps.
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &apitype.Peer{ID: "k7phone", Hostname: "phone", Online: true, Networks: []string{"home"}}})
	h.q.RunUntil(t, func() bool { return len(h.ctl.Model().Peers()) == 1 })
	if s.content.Visible() {
		t.Error("first steps still shown with a peer online")
	}
}

func TestFirstStepsNotAdmin(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.Networks = st.Networks[1:] // work: not admin
	st.Peers = st.Peers[2:]       // desktop, offline
	h.start(st)
	s := h.win.peers.steps
	if len(s.content.Objects) != 1 || s.content.Objects[0] != s.invite {
		t.Fatal("only offline peers: the invite step is not shown")
	}
	if !s.inviteBtn.Disabled() || !strings.Contains(s.inviteText.Text, "Ask an admin") {
		t.Errorf("not admin: invite button disabled %v, text %q", s.inviteBtn.Disabled(), s.inviteText.Text)
	}
}

func TestWindowRemembersSizeAndTab(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	h.win.Show(TabDiag)
	h.fake.WaitCall(t, "Netcheck")
	h.q.RunUntil(t, func() bool { return !h.ctl.Busy() })
	h.win.win.Resize(fyne.NewSize(900, 700))
	h.win.SaveLayout() // what closing (hiding) the window and Quit do
	if h.win.win.Canvas().Size() != fyne.NewSize(900, 700) {
		t.Fatalf("canvas size %v", h.win.win.Canvas().Size())
	}

	again := NewMain(h.app, h.ctl, Options{})
	if again.tabs.Selected() != again.tabItems[TabDiag] {
		t.Errorf("new window opens on %q, want Diagnostics", again.tabs.Selected().Text)
	}
	if got := again.win.Canvas().Size(); got != fyne.NewSize(900, 700) {
		t.Errorf("new window size %v, want 900x700", got)
	}

	// Nonsense in the preferences gives the default size.
	h.app.Preferences().SetFloat(PrefWindowWidth, -5)
	third := NewMain(h.app, h.ctl, Options{})
	if got := third.win.Canvas().Size(); got != defaultSize {
		t.Errorf("size from bad preferences %v, want %v", got, defaultSize)
	}
}

func TestTabShortcuts(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.win.win.Canvas().(fyne.Shortcutable)
	for i, tab := range tabOrder {
		c.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyName(fmt.Sprint(i + 1)), Modifier: fyne.KeyModifierAlt})
		if h.win.tabs.Selected() != h.win.tabItems[tab] {
			t.Errorf("Alt+%d selects %q, want %s", i+1, h.win.tabs.Selected().Text, tab)
		}
	}
	if len(h.win.tabs.Items) != len(tabOrder) {
		t.Errorf("%d tabs, %d in tabOrder", len(h.win.tabs.Items), len(tabOrder))
	}
}
