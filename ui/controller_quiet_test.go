package ui

import (
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui/uitest"
)

func snapPeer(rx uint64, path string) apitype.WatchEvent {
	ev := snap(apitype.StateUp)
	ev.Status.Peers = []apitype.Peer{{ID: "a", Hostname: "nas", Online: true, Path: path, RxBytes: rx}}
	return ev
}

// TestSetQuiet: an app started hidden watches quietly from the first
// stream; showing it ends that stream and watches in full at once (the
// backoff is an hour here), and hiding it again goes back to quiet. In
// between the model stays reachable with the old counters until the new
// snapshot replaces them: nothing flashes "daemon gone" or zeros.
func TestSetQuiet(t *testing.T) {
	f := uitest.NewFakeClient()
	c, q := newTestController(t, f, nil)
	c.SetQuiet(true) // --hidden: before Start
	c.Start()
	f.WaitCall(t, "Version")
	f.WaitCall(t, "WatchQuiet")
	f.Send(snapPeer(100, apitype.PathDirect))
	q.RunUntil(t, func() bool { return c.Model().DaemonReachable() })

	// Events on the quiet stream apply.
	f.Send(apitype.WatchEvent{Type: apitype.EventPeer, Peer: &apitype.Peer{ID: "a", Hostname: "nas", Online: true, Path: apitype.PathRelay, RxBytes: 200}})
	q.RunUntil(t, func() bool { p, _ := c.Model().Peer("a"); return p.Path == apitype.PathRelay })

	c.SetQuiet(true) // no change: the stream stays
	f.NoCall(t)

	steps := []struct {
		quiet bool
		watch string
		rx    uint64 // the new snapshot's counter
	}{
		{false, "Watch", 500},
		{true, "WatchQuiet", 600},
		{false, "Watch", 700},
	}
	rx := uint64(200)
	for _, s := range steps {
		c.SetQuiet(s.quiet)
		f.WaitCall(t, "Version")
		f.WaitCall(t, s.watch)
		q.Drain()
		if !c.Model().DaemonReachable() || c.Model().LastError() != "" {
			t.Fatalf("%s: the switch shows the daemon unreachable or an error (%q)", s.watch, c.Model().LastError())
		}
		if p, ok := c.Model().Peer("a"); !ok || p.RxBytes != rx {
			t.Fatalf("%s: before the new snapshot peer %+v (found %v), want the old counters %d", s.watch, p, ok, rx)
		}
		f.Send(snapPeer(s.rx, apitype.PathDirect))
		q.RunUntil(t, func() bool { p, _ := c.Model().Peer("a"); return p.RxBytes == s.rx })
		rx = s.rx
	}
	f.NoCall(t)
}
