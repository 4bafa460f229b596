//go:build gui

package views

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func menuLabels(m *fyne.Menu) []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, it := range m.Items {
		out = append(out, it.Label)
	}
	return out
}

func peerByName(t *testing.T, h *harness, name string) apitype.Peer {
	t.Helper()
	for _, p := range h.ctl.Model().Peers() {
		if p.Hostname == name {
			return p
		}
	}
	t.Fatalf("no peer %q", name)
	return apitype.Peer{}
}

func TestPeerAdminMenuOnlyForAdminNetworks(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp)) // admin of home, member of work
	p := h.win.peers
	tests := []struct {
		peer string
		want []string
	}{
		{"nas", []string{"Remove from home…", "Make admin of home…", "Remove admin of home…"}},
		{"phone", []string{"Remove from home…", "Make admin of home…", "Remove admin of home…"}},
		{"desktop", nil}, // only in work, where this device is no admin
	}
	for _, tt := range tests {
		peer := peerByName(t, h, tt.peer)
		if got := menuLabels(p.adminMenu(peer)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: menu %q, want %q", tt.peer, got, tt.want)
		}
		row := newPeerRow(p)
		row.set(peer)
		if row.more.Visible() != (tt.want != nil) {
			t.Errorf("%s: … button visible=%v", tt.peer, row.more.Visible())
		}
	}
}

func TestPeerAdminMenuCallsAfterConfirmation(t *testing.T) {
	tests := []struct {
		item   int
		method string
		args   []any
		result string
	}{
		{0, "Remove", []any{"home", "k7nas0000000000"}, "Removed nas from home."},
		{1, "SetAdmin", []any{"home", "k7nas0000000000", true}, "nas is now an admin of home."},
		{2, "SetAdmin", []any{"home", "k7nas0000000000", false}, "nas is no longer an admin of home; rekey home (Networks tab) so that the old key signs nothing more."},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.result, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.start(status(apitype.StateUp))
			p := h.win.peers
			c := h.win.win.Canvas()
			menu := p.adminMenu(peerByName(t, h, "nas"))

			// No: nothing is called.
			menu.Items[tt.item].Action()
			h.fake.NoCall(t)
			test.Tap(button(t, dialogContent(c), "No"))
			h.fake.NoCall(t)

			menu.Items[tt.item].Action()
			test.Tap(button(t, dialogContent(c), "Yes"))
			wantCall(t, h, tt.method, tt.args...)
			h.q.RunUntil(t, func() bool { return p.result.Text != "" })
			if p.result.Text != tt.result {
				t.Errorf("result %q, want %q", p.result.Text, tt.result)
			}
		})
	}
}

func TestPeerAdminMenuShowsDaemonError(t *testing.T) {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	p := h.win.peers
	h.fake.SetErr("Remove", errors.New("home: you cannot remove yourself"))
	p.adminMenu(peerByName(t, h, "nas")).Items[0].Action()
	test.Tap(button(t, dialogContent(h.win.win.Canvas()), "Yes"))
	h.fake.WaitCall(t, "Remove")
	h.q.RunUntil(t, func() bool { return p.result.Text != "" })
	if !strings.Contains(p.result.Text, "you cannot remove yourself") {
		t.Errorf("result %q", p.result.Text)
	}
}

func TestNetworkRowAdminButtons(t *testing.T) {
	h := networksHarness(t)
	l := h.win.networks.list
	for _, label := range []string{"Rename…", "Invites…", "Rekey…", "Delete…"} {
		button(t, l.Objects[0], label) // home: admin
	}
	var work []string
	for _, b := range buttons(l.Objects[1]) {
		work = append(work, b.Text)
	}
	if want := []string{"Invite…", "Rename…", "Leave…"}; !reflect.DeepEqual(work, want) {
		t.Errorf("work (member) buttons %q, want %q", work, want)
	}
}

func TestRemovedNoticeDismissLeaves(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.Removed = []apitype.RemovedNetwork{{Name: "lab", ID: "netlab"}}
	h.start(st)
	h.win.Show(TabNetworks)
	n := h.win.networks
	if !n.removedCard.Visible() || !strings.Contains(labelText(n.removed), "You were removed from lab") {
		t.Fatalf("removed notice: visible=%v %q", n.removedCard.Visible(), labelText(n.removed))
	}
	if hint := h.win.peers.hint; !hint.Visible() || !strings.Contains(hint.Text, "You were removed from lab") {
		t.Errorf("peers hint: visible=%v %q", hint.Visible(), hint.Text)
	}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventRemoved, Removed: []apitype.RemovedNetwork{
		{Name: "lab", ID: "netlab"}, {Name: "old", ID: "netold", Deleted: true}}})
	h.q.RunUntil(t, func() bool { return len(h.ctl.Model().Removed()) == 2 })
	if txt := labelText(n.removed); !strings.Contains(txt, "old was deleted by an admin") {
		t.Errorf("deleted notice %q", txt)
	}
	test.Tap(button(t, n.removed.Objects[1], "Dismiss"))
	wantCall(t, h, "Leave", "old")
	h.q.RunNext(t)
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventRemoved})
	h.q.RunUntil(t, func() bool { return len(h.ctl.Model().Removed()) == 0 })
	if n.removedCard.Visible() {
		t.Error("removed card still shown after the list emptied")
	}
}

func TestRenameCallsSetHostname(t *testing.T) {
	h := networksHarness(t)
	n := h.win.networks
	c := h.win.win.Canvas()
	test.Tap(button(t, n.list.Objects[1], "Rename…"))
	if n.renameEntry.Text != "laptop-1" {
		t.Errorf("rename prefilled %q", n.renameEntry.Text)
	}
	test.Tap(button(t, dialogContent(c), "Cancel"))
	h.fake.NoCall(t)
	test.Tap(button(t, n.list.Objects[1], "Rename…"))
	n.renameEntry.SetText(" work-laptop ")
	test.Tap(button(t, dialogContent(c), "Rename"))
	wantCall(t, h, "SetHostname", "work", "work-laptop")
	h.q.RunNext(t)
}

func TestDeleteNetworkAsksFirst(t *testing.T) {
	h := networksHarness(t)
	c := h.win.win.Canvas()
	confirmYes(t, h, button(t, h.win.networks.list.Objects[0], "Delete…"), c)
	wantCall(t, h, "DeleteNetwork", "home")
	h.q.RunNext(t)
}

func TestRekeyAsksFirst(t *testing.T) {
	h := networksHarness(t)
	c := h.win.win.Canvas()
	n := h.win.networks
	rekey := button(t, n.list.Objects[0], "Rekey…")
	confirmYes(t, h, rekey, c)
	wantCall(t, h, "Rekey", "home")
	h.q.RunUntil(t, func() bool { return n.rekeyResult != nil })
	if !strings.Contains(n.rekeyResult.Text, "home has a new network key (generation 1)") {
		t.Errorf("rekey result %q", n.rekeyResult.Text)
	}
	n.rekeyResult = nil
	h.fake.SetErr("Rekey", errors.New(`only an admin of "home" can rekey the network`))
	test.Tap(rekey)
	test.Tap(button(t, dialogContent(c), "Yes"))
	wantCall(t, h, "Rekey", "home")
	h.q.RunUntil(t, func() bool { return n.rekeyResult != nil })
	if !strings.Contains(n.rekeyResult.Text, "only an admin") {
		t.Errorf("rekey error %q", n.rekeyResult.Text)
	}
}

func TestInvitesListAndRevoke(t *testing.T) {
	h := networksHarness(t)
	n := h.win.networks
	exp := time.Now().Add(24 * time.Hour)
	h.fake.SetInvites([]apitype.InviteInfo{
		{ID: "inv1", Kind: "reusable", Expires: exp, Uses: 2},
		{ID: "inv2", Kind: "single", Expires: exp, Hostname: "tablet"},
	})
	test.Tap(button(t, n.list.Objects[0], "Invites…"))
	wantCall(t, h, "Invites", "home")
	h.q.RunUntil(t, func() bool { return n.invites != nil })
	if len(n.invites.Objects) != 2 || !strings.Contains(labelText(n.invites), "inv2 · single") || !strings.Contains(labelText(n.invites), "for tablet") {
		t.Fatalf("invite rows %q", labelText(n.invites))
	}
	h.fake.SetErr("RevokeInvite", errors.New("home: no invite inv2"))
	test.Tap(button(t, n.invites.Objects[1], "Revoke"))
	wantCall(t, h, "RevokeInvite", "home", "inv2")
	h.q.RunNext(t)
	if txt := labelText(n.invites.Objects[1]); !strings.Contains(txt, "home: no invite inv2") {
		t.Errorf("revoke error not shown: %q", txt)
	}
	h.fake.SetErr("RevokeInvite", nil)
	test.Tap(button(t, n.invites.Objects[0], "Revoke"))
	h.fake.WaitCall(t, "RevokeInvite")
	h.q.RunNext(t)
	if txt := labelText(n.invites.Objects[0]); !strings.Contains(txt, "Revoked") {
		t.Errorf("revoked row %q", txt)
	}
}

// confirmYes taps b and answers its confirmation No (nothing must be
// called), then taps it again and answers Yes.
func confirmYes(t *testing.T, h *harness, b *widget.Button, c fyne.Canvas) {
	t.Helper()
	test.Tap(b)
	h.fake.NoCall(t)
	test.Tap(button(t, dialogContent(c), "No"))
	h.fake.NoCall(t)
	test.Tap(b)
	test.Tap(button(t, dialogContent(c), "Yes"))
}

// labelText joins the text of every label under o, one per line.
func labelText(o fyne.CanvasObject) string {
	switch v := o.(type) {
	case *widget.Label:
		return v.Text + "\n"
	case *fyne.Container:
		var b strings.Builder
		for _, c := range v.Objects {
			b.WriteString(labelText(c))
		}
		return b.String()
	}
	return ""
}

// networksHarness starts a harness with the test status on the networks tab.
func networksHarness(t *testing.T) *harness {
	h := newHarness(t, Options{})
	h.start(status(apitype.StateUp))
	h.win.Show(TabNetworks)
	return h
}

// wantCall waits for the fake's next call and checks its method and args.
func wantCall(t *testing.T, h *harness, method string, args ...any) {
	t.Helper()
	if call := h.fake.WaitCall(t, method); !reflect.DeepEqual(call.Args, args) {
		t.Errorf("%s args %v, want %v", method, call.Args, args)
	}
}
