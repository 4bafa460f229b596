//go:build gui

package views

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

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
		{2, "SetAdmin", []any{"home", "k7nas0000000000", false}, "nas is no longer an admin of home."},
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
			call := h.fake.WaitCall(t, tt.method)
			if !reflect.DeepEqual(call.Args, tt.args) {
				t.Errorf("%s args %v, want %v", tt.method, call.Args, tt.args)
			}
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
