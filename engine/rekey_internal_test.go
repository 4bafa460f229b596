package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// startEngineIn starts an engine on loopback with its state in dir, so
// that a test can stop and start it again.
func startEngineIn(t *testing.T, dir, name string) *Engine {
	t.Helper()
	return startEngineTUN(t, dir, name, enginetest.NewTUN())
}

// startEngineTUN is startEngineIn with the fake TUN given.
func startEngineTUN(t *testing.T, dir, name string, fake *enginetest.TUN) *Engine {
	t.Helper()
	var e *Engine
	cfg := LoopbackConfig(dir, name, fake, &e)
	onTestNetHost(t, name, &cfg)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// joinHome has n join network home of admin with a fresh code.
func joinHome(t *testing.T, admin, n *Engine) {
	t.Helper()
	code, _, err := admin.Invite("home", netmap.InviteSingle, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join(context.Background(), code, "", 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// home returns a copy of e's view of network home: key, secret, roster.
func home(e *Engine) (n netmap.Network, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if h := e.state.ByName("home"); h != nil {
		return *h, true
	}
	return netmap.Network{}, false
}

func online(e *Engine, k key.NodePublic) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.peers[k]
	return p != nil && p.cur.Load() != nil
}

// TestRekeyWithdrawnAdmin: alpha shares admin rights with beta and gamma,
// withdraws gamma's and rekeys. beta gets the new secret and its changes
// reach every member; gamma, which kept the old secret, can neither sign
// a roster members take nor fork the key.
func TestRekeyWithdrawnAdmin(t *testing.T) {
	onTestNet(t, func(t *testing.T) {
		a := startTestEngine(t, "alpha")
		b := startTestEngine(t, "beta")
		c := startTestEngine(t, "gamma")
		d := startTestEngine(t, "delta")
		if _, err := a.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		for _, e := range []*Engine{b, c, d} {
			joinHome(t, a, e)
		}
		enginetest.WaitFor(t, 10*time.Second, "alpha online with all", func() bool {
			return online(a, b.self) && online(a, c.self) && online(d, c.self) && online(d, a.self)
		})
		if _, err := d.Rekey("home"); err == nil || err.Error() != `only an admin of "home" can rekey the network` {
			t.Errorf("member rekeys: %v", err)
		}
		if _, err := a.Rekey("work"); err == nil || err.Error() != `no network named "work"` {
			t.Errorf("unknown network: %v", err)
		}
		for _, name := range []string{"beta", "gamma"} {
			if _, err := a.SetAdmin("home", name, true); err != nil {
				t.Fatal(err)
			}
		}
		enginetest.WaitFor(t, 5*time.Second, "beta and gamma hold the secret", func() bool {
			nb, _ := home(b)
			nc, _ := home(c)
			return nb.IsAdmin() && nc.IsAdmin()
		})
		nc, _ := home(c)
		kept := nc.Secret // gamma does not follow the protocol
		if _, err := a.SetAdmin("home", "gamma", false); err != nil {
			t.Fatal(err)
		}
		resp, err := a.Rekey("home")
		if err != nil {
			t.Fatal(err)
		}
		if resp.Generation != 1 || !slices.Equal(resp.Admins, []string{"beta"}) {
			t.Errorf("rekey response %+v, want generation 1 to beta", resp)
		}
		na, _ := home(a)
		newKey := na.Key()
		if newKey == na.ID {
			t.Fatal("the key did not change")
		}
		enginetest.WaitFor(t, 5*time.Second, "every node follows the new key; beta holds it", func() bool {
			for _, e := range []*Engine{b, c, d} {
				if n, _ := home(e); n.Key() != newKey {
					return false
				}
			}
			nb, _ := home(b)
			nc, _ := home(c)
			return nb.IsAdmin() && nb.Secret.Public() == newKey && !nc.IsAdmin()
		})

		// gamma signs a roster making itself admin again under the old key.
		nd, _ := home(d)
		r := *nd.Roster
		r.Members = slices.Clone(r.Members)
		for i := range r.Members {
			if r.Members[i].Node == c.self {
				r.Members[i].Admin = true
			}
		}
		r.Version += 10
		forged, err := r.Sign(kept)
		if err != nil {
			t.Fatal(err)
		}
		// and forks the key with a hand-over of its own.
		wNew := key.NewNetwork()
		h := netmap.Handover{Network: nd.ID, Gen: 1, Old: nd.ID, New: wNew.Public(), By: c.self, Time: time.Now().UTC().Truncate(time.Second)}
		hs, err := r.SignChain(wNew, []netmap.Handover{h.Sign(kept, c.nodeKey)})
		if err != nil {
			t.Fatal(err)
		}
		d.mu.Lock()
		fromGamma := d.peers[c.self]
		d.mu.Unlock()
		for _, s := range []netmap.SignedRoster{forged, hs} {
			d.applyRoster(fromGamma, s)
		}
		if n, _ := home(d); n.Roster.Version != nd.Roster.Version || n.Roster.AdminOf(c.self) || n.Key() != newKey {
			t.Fatalf("delta took the withdrawn admin's roster: version %d (had %d), gamma admin %v", n.Roster.Version, nd.Roster.Version, n.Roster.AdminOf(c.self))
		}

		// beta, still an admin, signs with the new key: delta takes it.
		if _, err := b.RemovePeer("home", "gamma"); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, 5*time.Second, "delta takes beta's roster", func() bool {
			n, _ := home(d)
			_, ok := n.Roster.Member(c.self)
			return !ok && n.Key() == newKey
		})
		if st := d.Status(); st.Networks[0].KeyGeneration != 1 {
			t.Errorf("status key generation %d, want 1", st.Networks[0].KeyGeneration)
		}
	})
}

// TestRekeyOfflineMemberCatchesUp: beta is stopped while alpha rekeys;
// started again, it follows the hand-over from alpha's roster, and keeps
// the new key across a restart.
func TestRekeyOfflineMemberCatchesUp(t *testing.T) {
	onTestNet(t, func(t *testing.T) {
		a := startTestEngine(t, "alpha")
		dir := t.TempDir()
		b := startEngineIn(t, dir, "beta")
		if _, err := a.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		joinHome(t, a, b)
		enginetest.WaitFor(t, 10*time.Second, "connected", func() bool { return online(a, b.self) })
		b.Close()
		for range 2 {
			if _, err := a.Rekey("home"); err != nil {
				t.Fatal(err)
			}
		}
		na, _ := home(a)
		b = startEngineIn(t, dir, "beta")
		enginetest.WaitFor(t, 10*time.Second, "beta follows two hand-overs", func() bool {
			n, _ := home(b)
			return n.Key() == na.Key() && n.Roster.Version == na.Roster.Version
		})
		b.Close()
		b = startEngineIn(t, dir, "beta")
		if n, ok := home(b); !ok || n.Key() != na.Key() || n.Generation() != 2 {
			t.Errorf("after a restart beta holds generation %d", n.Generation())
		}
	})
}

// TestRemovedWhileOffline: gamma is removed while stopped. Started again,
// every member refuses its handshake; alpha, asked why, answers with a
// signed proof, and gamma shows the removal. An unsigned claim is not
// believed.
func TestRemovedWhileOffline(t *testing.T) {
	onTestNet(t, func(t *testing.T) {
		a := startTestEngine(t, "alpha")
		b := startTestEngine(t, "beta")
		dir := t.TempDir()
		c := startEngineIn(t, dir, "gamma")
		if _, err := a.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		joinHome(t, a, b)
		joinHome(t, a, c)
		enginetest.WaitFor(t, 10*time.Second, "connected", func() bool { return online(a, c.self) && online(b, c.self) })
		c.Close()
		if _, err := a.RemovePeer("home", "gamma"); err != nil {
			t.Fatal(err)
		}
		// beta is told by a forged claim that it was removed: nothing changes.
		nb, _ := home(b)
		b.mu.Lock()
		fromAlpha := b.peers[a.self]
		b.mu.Unlock()
		forged := netmap.RemovalProof{Network: nb.ID, Node: b.self, Removed: time.Now(), Version: nb.Roster.Version + 5}
		b.applyRemovalProof(fromAlpha, forged)
		forged.Sig = key.NewNetwork().Sign([]byte("anything"))
		b.applyRemovalProof(fromAlpha, forged)
		if _, ok := home(b); !ok || len(b.Status().Removed) != 0 {
			t.Fatal("beta believed an unsigned removal")
		}

		c = startEngineIn(t, dir, "gamma")
		enginetest.WaitFor(t, 15*time.Second, "gamma learns it was removed", func() bool {
			st := c.Status()
			return len(st.Networks) == 0 && len(st.Removed) == 1 && st.Removed[0].Name == "home" && !st.Removed[0].Deleted
		})
	})
}

// TestConcurrentRekey: two admins rekey at the same moment; every node
// ends on one key and one roster, and both admins hold the winning
// secret.
func TestConcurrentRekey(t *testing.T) {
	onTestNet(t, func(t *testing.T) {
		a := startTestEngine(t, "alpha")
		b := startTestEngine(t, "beta")
		m := startTestEngine(t, "gamma")
		if _, err := a.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		joinHome(t, a, b)
		joinHome(t, a, m)
		enginetest.WaitFor(t, 10*time.Second, "connected", func() bool { return online(a, b.self) && online(b, m.self) && online(b, a.self) })
		if _, err := a.SetAdmin("home", "beta", true); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, 5*time.Second, "beta holds the secret", func() bool { n, _ := home(b); return n.IsAdmin() })
		errs := make(chan error, 2)
		for _, e := range []*Engine{a, b} {
			go func() { _, err := e.Rekey("home"); errs <- err }()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		enginetest.WaitFor(t, 10*time.Second, "one key and one roster everywhere; both admins hold the key", func() bool {
			na, _ := home(a)
			nb, _ := home(b)
			nm, _ := home(m)
			return na.IsAdmin() && nb.IsAdmin() && na.Secret.Public() == na.Key() && nb.Secret.Public() == na.Key() &&
				nb.Key() == na.Key() && nm.Key() == na.Key() &&
				nb.Roster.Version == na.Roster.Version && nm.Roster.Version == na.Roster.Version
		})
		na, _ := home(a)
		t.Logf("converged on generation %d, version %d", na.Generation(), na.Roster.Version)
	})
}
