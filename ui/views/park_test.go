//go:build gui

package views

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui"
	"github.com/rayfish/rayfish/ui/state"
	"github.com/rayfish/rayfish/ui/uitest"
)

// TestHiddenWindowParks wires the window to a ui.Parker as the app does
// (the controller dispatches through it; OnVisible tells it when the
// window hides and shows) on Fyne's test app, with the test's goroutine as
// the UI goroutine. Closing the window to the tray parks the UI goroutine;
// while it is parked, stream events still reach the listeners (the
// tray's tooltip) at once; a second launch's "show the window" ends the
// park at once (the slice is a minute) and the window shows the state
// that changed while it was hidden.
func TestHiddenWindowParks(t *testing.T) {
	a := test.NewTempApp(t)
	fake := uitest.NewFakeClient()
	fake.SetVersion(apitype.Version{Version: "1.0.0", APIVersion: apitype.APIVersion})
	q := uitest.NewQueue()
	const slice = time.Minute
	p := ui.NewParker(q.Dispatch, slice)
	ctl := ui.New(ui.Config{Client: fake, AppVersion: "1.0.0", Dispatch: p.Do, MinBackoff: time.Hour})
	t.Cleanup(func() { ctl.Close() })
	var visible []bool
	win := NewMain(a, ctl, Options{OnVisible: func(shown bool) {
		visible = append(visible, shown)
		if shown {
			p.Shown()
		} else {
			p.Hidden()
		}
	}})
	var tooltip string // what the tray would show
	parkedChanges := 0 // listener calls while the UI goroutine was parked
	tooltipSet := make(chan string, 16)
	ctl.OnChange(func(m *state.Model) {
		if p.Parked() {
			parkedChanges++
		}
		if s := m.TrayTooltip(); s != tooltip {
			tooltip = s
			tooltipSet <- s
		}
		win.Update(m)
	})
	win.Show(TabPeers)
	ctl.Start()
	fake.WaitCall(t, "Version")
	fake.WaitCall(t, "Watch")
	fake.Send(apitype.WatchEvent{Type: apitype.EventSnapshot, Status: status(apitype.StateUp)})
	q.RunUntil(t, func() bool { return ctl.Model().DaemonReachable() })
	fake.WaitCall(t, "Prefs")
	q.RunUntil(t, func() bool { return !ctl.Busy() })
	upText := win.status.Text
	for len(tooltipSet) > 0 {
		<-tooltipSet
	}

	win.closeToTray()
	if p.Parked() {
		t.Fatal("parked before the UI goroutine's next turn")
	}
	// Another goroutine plays the daemon and then the second launch.
	go func() {
		for !p.Parked() {
			time.Sleep(time.Millisecond)
		}
		fake.Send(apitype.WatchEvent{Type: apitype.EventState, State: apitype.StateDown})
		<-tooltipSet                  // the tray followed while parked
		p.Do(func() { win.Show("") }) // single-instance activation
	}()
	start := time.Now()
	q.RunNext(t) // the park: returns when the window shows
	if took := time.Since(start); took > slice/2 {
		t.Fatalf("the park lasted %v: showing the window did not end it", took)
	}
	if parkedChanges == 0 {
		t.Error("no stream event reached the listeners while parked")
	}
	if p.Parked() || !win.shown {
		t.Errorf("after the show: parked %v, window shown %v", p.Parked(), win.shown)
	}
	if got, want := win.status.Text, ctl.Model().StatusText(); got != want || got == upText {
		t.Errorf("window header %q after the show, want %q (it was %q before the hide)", got, want, upText)
	}
	if !slices.Equal(visible, []bool{true, false, true}) { // Show, hide, Show
		t.Errorf("OnVisible calls %v, want [true false true]", visible)
	}
	p.Stop()
	q.Drain()
}
