package engine

import (
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/history"
	"github.com/rayfish/rayfish/engine/key"
)

// TestStatusCarriesHistory: samples taken from a connected peer's
// counters appear in Status as its history, and the ring of a node that
// is no longer a peer is dropped.
func TestStatusCarriesHistory(t *testing.T) {
	a, b := startTestEngine(t, "alpha"), startTestEngine(t, "bravo")
	if _, err := a.CreateNetwork("home", false); err != nil {
		t.Fatal(err)
	}
	joinHome(t, a, b)
	enginetest.WaitFor(t, 10*time.Second, "bravo online on alpha", func() bool {
		ps := a.Status().Peers
		return len(ps) == 1 && ps[0].Online
	})
	if h := a.Status().Peers[0].History; h != nil {
		t.Fatalf("history before any sample: %+v", h)
	}
	t0 := time.Now()
	a.sampleHistory(t0)
	a.sampleHistory(t0.Add(history.Interval))
	a.sampleHistory(t0.Add(2 * history.Interval))
	h := a.Status().Peers[0].History
	if h == nil || h.IntervalS != 5 || len(h.RTTMs) != 2 || len(h.RxBps) != 2 || len(h.TxBps) != 2 {
		t.Fatalf("history after three samples: %+v", h)
	}
	if h.RTTMs[1] <= 0 {
		t.Errorf("a connected peer's round trip sampled as %v", h.RTTMs[1])
	}

	stranger := key.NewNode().Public()
	a.mu.Lock()
	a.hist[stranger] = new(history.Ring)
	a.mu.Unlock()
	a.sampleHistory(t0.Add(3 * history.Interval))
	a.mu.Lock()
	_, kept := a.hist[stranger]
	n := len(a.hist)
	a.mu.Unlock()
	if kept || n != 1 {
		t.Errorf("rings after sampling: stranger kept %v, %d rings", kept, n)
	}
}
