package notify

import "testing"

// TestHandleSignals: an invoked action runs its callback once through
// dispatch; a closed notification forgets its callback; malformed signal
// bodies (another process sends them) are ignored.
func TestHandleSignals(t *testing.T) {
	var ran []string
	var dispatched int
	n := &Notifier{dispatch: func(f func()) { dispatched++; f() }}
	n.pending.add(7, func(k string) { ran = append(ran, k) })
	n.pending.add(8, func(k string) { ran = append(ran, "8:"+k) })
	for _, bad := range [][]any{nil, {"7"}, {uint32(7)}, {uint32(7), 42}, {int32(7), "approve"}} {
		n.handle(iface+".ActionInvoked", bad)
	}
	if len(ran) != 0 {
		t.Fatalf("malformed signals ran %v", ran)
	}
	if n.pending.len() != 2 {
		t.Fatalf("malformed signals dropped callbacks: %d left", n.pending.len())
	}
	n.handle(iface+".NotificationClosed", []any{uint32(8), uint32(2)})
	n.handle(iface+".ActionInvoked", []any{uint32(8), "approve"})
	n.pending.add(9, func(k string) { ran = append(ran, "9:"+k) })
	n.handle(iface+".ActionInvoked", []any{uint32(9), "approve"})
	n.handle(iface+".ActionInvoked", []any{uint32(9), "approve"})
	n.handle(iface+".ActionInvoked", []any{uint32(7), "approve"})
	if len(ran) != 2 || ran[0] != "9:approve" || ran[1] != "approve" || dispatched != 2 {
		t.Errorf("ran %v, dispatched %d", ran, dispatched)
	}
}

func TestPendingBounded(t *testing.T) {
	var p pending
	var got []string
	for i := range uint32(maxPending + 10) {
		p.add(i, func(k string) { got = append(got, k) })
	}
	if p.len() != maxPending {
		t.Fatalf("%d callbacks kept, want %d", p.len(), maxPending)
	}
	if p.take(0) != nil || p.take(9) != nil {
		t.Error("the oldest callbacks were kept")
	}
	cb := p.take(10)
	if cb == nil {
		t.Fatal("callback 10 forgotten")
	}
	cb("approve")
	if p.take(10) != nil {
		t.Error("a callback ran twice")
	}
	if len(got) != 1 || got[0] != "approve" || p.len() != maxPending-1 {
		t.Errorf("got %v, %d left", got, p.len())
	}
}

func (p *pending) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cbs)
}
