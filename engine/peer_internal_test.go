package engine

import (
	"bytes"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/firewall"
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

// startTestEngineTUN starts an engine as startTestEngine does, returning
// its fake TUN, with inbound UDP to ports up to 2000 allowed.
func startTestEngineTUN(t *testing.T, name string) (*Engine, *enginetest.TUN) {
	t.Helper()
	fake := enginetest.NewTUN()
	e := startEngineTUN(t, t.TempDir(), name, fake)
	err := e.UpdateFirewall(func(rs *firewall.Ruleset, _ *firewall.Suggested) error {
		return rs.Add(firewall.Rule{Direction: firewall.In, Action: firewall.Allow, Proto: firewall.ProtoUDP,
			Ports: []firewall.PortRange{{First: 1, Last: 2000}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, fake
}

// current returns e's current connection to k, if any.
func current(e *Engine, k key.NodePublic) *peerConn {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.peers[k]; p != nil {
		return p.cur.Load()
	}
	return nil
}

// TestSimultaneousDialKeepsPackets: both nodes dial each other at once
// and the lower key's connection stays. The higher key's node reports
// the peer online as soon as its own dial completes and sends on it
// until ours reaches it; what it sent meanwhile is delivered, not
// dropped with the refused connection, uncounted. (The first packet of
// TestCrossNetworkAddressClash was lost this way in some runs.)
func TestSimultaneousDialKeepsPackets(t *testing.T) {
	onTestNet(t, func(t *testing.T) {
		lo, loTUN := startTestEngineTUN(t, "alpha")
		hi, hiTUN := startTestEngineTUN(t, "beta")
		if hi.self.Less(lo.self) {
			lo, loTUN, hi = hi, hiTUN, lo
		}
		if _, err := lo.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		joinHome(t, lo, hi)
		enginetest.WaitFor(t, 10*time.Second, "online both ways", func() bool {
			return online(lo, hi.self) && online(hi, lo.self)
		})

		// A fresh connection dialed by lo, which both sides keep.
		start := time.Now()
		qc, err := lo.dial(t.Context(), hi.self, alpnMesh)
		if err != nil {
			t.Fatal(err)
		}
		lo.attach(hi.self, qc, lo.self)
		enginetest.WaitFor(t, 5*time.Second, "both sides on lo's new connection", func() bool {
			l, h := current(lo, hi.self), current(hi, lo.self)
			return l != nil && l.qc == qc && h != nil && h.initiator == lo.self && !h.opened.Before(start)
		})

		// hi's dial, completed at the same time: lo refuses it, but hi
		// has sent a packet on it already.
		dup, err := hi.dial(t.Context(), lo.self, alpnMesh)
		if err != nil {
			t.Fatal(err)
		}
		pkt := enginetest.UDPPacket(hi.Status().Self.IPv4, lo.Status().Self.IPv4, 1000, 2000, 100)
		if err := dup.SendDatagram(pkt); err != nil {
			t.Fatal(err)
		}
		timeout := time.After(5 * time.Second)
		for got := false; !got; {
			select {
			case p := <-loTUN.FromEngine:
				got = bytes.Equal(p, pkt)
			case <-timeout:
				t.Fatal("the packet sent on the refused connection was lost")
			}
		}
		// hi closes its connection once lo's reaches it; lo keeps its own.
		dup.CloseWithError(codeDuplicate, "replaced by a newer connection")
		enginetest.WaitFor(t, 5*time.Second, "the duplicate closed", func() bool { return dup.Context().Err() != nil })
		if l := current(lo, hi.self); l == nil || l.qc != qc {
			t.Errorf("lo's connection changed")
		}
	})
}
