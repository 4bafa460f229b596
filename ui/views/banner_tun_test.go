//go:build gui

package views

import (
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestBannerTUNError: a daemon without its tunnel device gets the banner
// with the daemon's reason; it goes when the device appears.
func TestBannerTUNError(t *testing.T) {
	h := newHarness(t, Options{})
	st := status(apitype.StateUp)
	st.TUNError = `create TUN "rayfish": Error loading wintun.dll DLL: Unable to load library: Bad EXE format`
	h.start(st)
	b := h.win.banner
	if b.content.Hidden || b.title.Text != "rayfish has no network adapter yet" || !strings.Contains(b.detail.Text, "wintun.dll") {
		t.Fatalf("banner hidden=%v title=%q detail=%q", b.content.Hidden, b.title.Text, b.detail.Text)
	}
	if !b.start.Hidden || !b.retry.Hidden {
		t.Error("Start daemon / Retry shown for a running daemon")
	}
	h.fake.Send(apitype.WatchEvent{Type: apitype.EventTUN})
	h.q.RunUntil(t, func() bool { return h.ctl.Model().TUNError() == "" })
	if !b.content.Hidden {
		t.Error("banner still shown once the device exists")
	}
}
