package notify

import "testing"

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
