package engine

import (
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

func TestPreferredConnection(t *testing.T) {
	lo, hi := key.NodePublic{1}, key.NodePublic{2}
	tests := []struct {
		old, new key.NodePublic
		keepOld  bool
	}{
		{lo, hi, true},  // lower key's dial stays
		{hi, lo, false}, // the lower key's new dial replaces
		{lo, lo, false}, // same dialer: newer wins
		{hi, hi, false},
	}
	for _, tc := range tests {
		// Both sides must agree.
		if got := preferred(lo, hi, tc.old, tc.new); got != tc.keepOld {
			t.Errorf("lo side: old %v new %v: keepOld=%v", tc.old[0], tc.new[0], got)
		}
		if got := preferred(hi, lo, tc.old, tc.new); got != tc.keepOld {
			t.Errorf("hi side: old %v new %v: keepOld=%v", tc.old[0], tc.new[0], got)
		}
	}
}

func TestControlFloodLimit(t *testing.T) {
	now := time.Now()
	pc := &peerConn{tokens: ctrlBurst, lastFill: now}
	n := 0
	for pc.allow(now) {
		n++
	}
	if n != ctrlBurst {
		t.Fatalf("burst %d, want %d", n, ctrlBurst)
	}
	if !pc.allow(now.Add(time.Second)) {
		t.Fatal("no refill after a second")
	}
	pc.tokens = 0
	if pc.allow(now.Add(time.Second)) {
		t.Fatal("allowed beyond the rate")
	}
}
