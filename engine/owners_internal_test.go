package engine

import (
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// collidingState returns an engine (not started) in two networks: victim
// is a member of "alpha" (this node is its admin), intruder of "bravo",
// whose admin gave it the same IPv4 and hostname as victim. joinedFirst
// names the network this node joined first.
func collidingState(t *testing.T, joinedFirst string) (e *Engine, victim, intruder key.NodePublic) {
	t.Helper()
	e, err := New(Config{StateDir: t.TempDir(), Hostname: "self"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	v, m := enginetest.CollidingKeys(t)
	victim, intruder = v.Public(), m.Public()
	now := time.Now()
	alpha, err := netmap.Create("alpha", false, e.self, "self", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alpha.Admit(victim, "nas", now); err != nil {
		t.Fatal(err)
	}
	admin, err := netmap.Create("bravo", false, key.NewNode().Public(), "bravo-admin", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []key.NodePublic{intruder, e.self} {
		host := "nas"
		if k == e.self {
			host = "self"
		}
		if _, err := admin.Admit(k, host, now); err != nil {
			t.Fatal(err)
		}
	}
	bravo, err := netmap.FromRoster(admin.ID, admin.Signed)
	if err != nil {
		t.Fatal(err)
	}
	order := []*netmap.Network{alpha, bravo}
	if joinedFirst == "bravo" {
		order = []*netmap.Network{bravo, alpha}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range order {
		if err := e.state.Add(n); err != nil {
			t.Fatal(err)
		}
		e.recomputeLocked() // as joining does
	}
	return e, victim, intruder
}

// TestAddressOwnershipStable: an IPv4 that a member of another network
// was ground to share stays with whoever held it first, over 100
// recomputes, for routing, the inbound source check and magic DNS.
func TestAddressOwnershipStable(t *testing.T) {
	for _, first := range []string{"alpha", "bravo"} {
		t.Run(first+" joined first", func(t *testing.T) {
			e, victim, intruder := collidingState(t, first)
			shared := victim.IPv4(0)
			holder, newcomer := victim, intruder
			if first == "bravo" {
				holder, newcomer = intruder, victim
			}
			for i := range 100 {
				e.mu.Lock()
				e.recomputeLocked()
				pHolder, pNew := e.peers[holder], e.peers[newcomer]
				e.mu.Unlock()
				if p, ok := e.dp.Route(shared); !ok || p != pHolder.dp {
					t.Fatalf("recompute %d: %s routed to the newcomer (or nobody)", i, shared)
				}
				if e.dp.Owns(pNew.dp, shared) {
					t.Fatalf("recompute %d: the newcomer passes the source check with %s", i, shared)
				}
				if !e.dp.Owns(pNew.dp, newcomer.IPv6()) {
					t.Fatalf("recompute %d: the newcomer's IPv6 does not work", i)
				}
				v4, v6, ok := e.dns.Table().Addrs("nas.ray")
				if !ok || v4 != shared || v6 != holder.IPv6() {
					t.Fatalf("recompute %d: nas.ray = %v %v, want the holder's addresses", i, v4, v6)
				}
			}
			netName := "bravo"
			if newcomer == victim {
				netName = "alpha"
			}
			v4, v6, ok := e.dns.Table().Addrs("nas." + netName + ".ray")
			if !ok || v4.IsValid() || v6 != newcomer.IPv6() {
				t.Errorf("nas.%s.ray = %v %v, want only the newcomer's IPv6", netName, v4, v6)
			}
			var found bool
			for _, p := range e.Status().Peers {
				if p.ID != newcomer.String() {
					continue
				}
				found = true
				if len(p.Refused) != 1 || p.Refused[0] != shared || len(p.Warnings) != 2 || p.IPv4.IsValid() {
					t.Errorf("status of the newcomer: ipv4 %v refused %v warnings %q", p.IPv4, p.Refused, p.Warnings)
				}
			}
			if !found {
				t.Error("the newcomer is not in the status")
			}
		})
	}
}
