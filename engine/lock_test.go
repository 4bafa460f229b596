package engine_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
)

// fakeNet records what the engine asks of the OS; Apply can be made to
// block (a slow netlink or resolver) or fail.
type fakeNet struct {
	mu      sync.Mutex
	calls   []string
	gate    chan struct{} // non-nil: Apply waits for it to close
	entered chan struct{} // receives when Apply starts waiting on gate
	fail    error
}

func (f *fakeNet) Apply(addrs []netip.Prefix) error {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprint(addrs))
	gate, fail := f.gate, f.fail
	f.mu.Unlock()
	if gate != nil {
		f.entered <- struct{}{}
		<-gate
	}
	return fail
}

func (f *fakeNet) Down() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "down")
	return nil
}

func (f *fakeNet) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

// within fails the test if fn does not return within d: what a
// control-plane operation must do while the OS configuration is stuck.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s blocked", what)
	}
}

// TestReconfigOutsideLock: the OS configuration is applied by one
// routine outside the engine lock. While it is stuck in the OS (a fake
// netcfg that blocks), the control plane goes on — creating a network,
// issuing an invite, saving state, status — and the changes that pile up
// meanwhile are applied once, as the latest state.
func TestReconfigOutsideLock(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		fn := &fakeNet{entered: make(chan struct{}, 1)}
		n := startNodeNet(t, "alpha", t.TempDir(), fn)
		defer n.e.Close()
		if got := fn.log(); len(got) != 1 || got[0] == "down" {
			t.Fatalf("at start the OS got %v, want one Apply", got)
		}

		gate := make(chan struct{})
		fn.mu.Lock()
		fn.gate = gate
		fn.mu.Unlock()
		first := prefixes("100.64.0.1/10")
		n.e.SetTUNAddrsForTest(first)
		select {
		case <-fn.entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the reconfig routine never applied the new addresses")
		}

		// The routine is stuck in the OS: the control plane must not be.
		within(t, 2*time.Second, "CreateNetwork", func() {
			if _, err := n.e.CreateNetwork("home", false); err != nil {
				t.Error(err)
			}
		})
		within(t, 2*time.Second, "Invite", func() {
			if _, _, err := n.e.Invite("home", netmap.InviteSingle, 0); err != nil {
				t.Error(err)
			}
		})
		within(t, 2*time.Second, "Status", func() {
			if st := n.e.Status(); len(st.Networks) != 1 || st.State != apitype.StateUp {
				t.Errorf("status: %d networks, state %v", len(st.Networks), st.State)
			}
		})
		if b, err := os.ReadFile(n.dir + "/state.json"); err != nil || !strings.Contains(string(b), `"home"`) {
			t.Errorf("state not saved while the OS was busy: %v", err)
		}
		// A burst of changes while the routine is busy...
		var last []netip.Prefix
		for i := 2; i <= 6; i++ {
			last = prefixes(fmt.Sprintf("100.64.0.%d/10", i))
			n.e.SetTUNAddrsForTest(last)
		}
		fn.mu.Lock()
		fn.gate = nil
		fn.mu.Unlock()
		close(gate)
		// ...is applied once, as its last state.
		want := []string{fmt.Sprint(first), fmt.Sprint(last)}
		enginetest.WaitFor(t, 5*time.Second, "the burst applied", func() bool {
			got := fn.log()
			return len(got) >= 3 && slices.Equal(got[1:], want)
		})
		time.Sleep(100 * time.Millisecond)
		if got := fn.log(); !slices.Equal(got[1:], want) {
			t.Errorf("after the burst the OS got %v, want %v", got[1:], want)
		}
	})
}

// TestSetUpThroughReconfig: down and up still reach the OS and report its
// errors; a refused "up" leaves the data plane down; an "up" stuck in the
// OS holds no lock (it used to block every control-plane call).
func TestSetUpThroughReconfig(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		fn := &fakeNet{entered: make(chan struct{}, 1)}
		n := startNodeNet(t, "alpha", t.TempDir(), fn)
		defer n.e.Close()
		if err := n.e.SetUp(false); err != nil {
			t.Fatal(err)
		}
		if got := fn.log(); got[len(got)-1] != "down" || n.e.Status().State != apitype.StateDown {
			t.Fatalf("down: OS got %v, state %v", got, n.e.Status().State)
		}
		fn.mu.Lock()
		fn.fail = errors.New("netlink says no")
		fn.mu.Unlock()
		if err := n.e.SetUp(true); err == nil || !strings.Contains(err.Error(), "netlink says no") {
			t.Fatalf("up with a failing OS: err %v", err)
		}
		if st := n.e.Status().State; st != apitype.StateDown {
			t.Errorf("state %v after a refused up, want down", st)
		}
		// A roster change while down does not touch the OS.
		calls := len(fn.log())
		n.e.SetTUNAddrsForTest(prefixes("100.64.9.9/10"))
		time.Sleep(100 * time.Millisecond)
		if got := fn.log(); len(got) != calls {
			t.Errorf("addresses applied while down: %v", got[calls:])
		}
		gate := make(chan struct{})
		fn.mu.Lock()
		fn.fail, fn.gate = nil, gate
		fn.mu.Unlock()
		upErr := make(chan error, 1)
		go func() { upErr <- n.e.SetUp(true) }()
		<-fn.entered
		within(t, 2*time.Second, "CreateNetwork during a stuck SetUp", func() {
			if _, err := n.e.CreateNetwork("home", false); err != nil {
				t.Error(err)
			}
		})
		close(gate)
		if err := <-upErr; err != nil {
			t.Fatal(err)
		}
		if got := fn.log(); got[len(got)-1] != fmt.Sprint(prefixes("100.64.9.9/10")) {
			t.Errorf("up applied %v, want the latest addresses", got[len(got)-1])
		}
		if st := n.e.Status().State; st != apitype.StateUp {
			t.Errorf("state %v after up, want up", st)
		}
	})
}

// TestVerifyIncomingWithoutLock: the handshake check reads the member
// set without the engine lock, so handshakes go on while it is held.
func TestVerifyIncomingWithoutLock(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		root := t.TempDir()
		a := startNode(t, "alpha", root+"/a")
		defer a.e.Close()
		b := startNode(t, "beta", root+"/b")
		defer b.e.Close()
		if _, err := a.e.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		join(t, a, b, "home", netmap.InviteSingle)

		unlock := a.e.HoldLockForTest()
		defer unlock()
		within(t, 2*time.Second, "verifyIncoming", func() {
			if err := a.e.VerifyMeshPeerForTest(t, b.e.NodeKeyForTest()); err != nil {
				t.Errorf("member refused: %v", err)
			}
			if err := a.e.VerifyMeshPeerForTest(t, key.NewNode()); err == nil {
				t.Error("stranger admitted")
			}
		})
	})
}

// TestPeerHostnameNoRace: connects and disconnects log the peer's
// hostname while roster changes rewrite it; run with -race (the hostname
// used to be read after the lock was released).
func TestPeerHostnameNoRace(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		root := t.TempDir()
		a := startNode(t, "alpha", root+"/a")
		defer func() { a.e.Close() }()
		b := startNode(t, "beta", root+"/b")
		defer func() { b.e.Close() }()
		if _, err := a.e.CreateNetwork("home", false); err != nil {
			t.Fatal(err)
		}
		join(t, a, b, "home", netmap.InviteSingle)
		for i := range 2 {
			enginetest.WaitFor(t, 10*time.Second, "beta online", func() bool { p, ok := a.peer("beta"); return ok && p.Online })
			b.e.Close() // alpha's connection ends: a disconnect, then a connect
			b = startNode(t, "beta", root+"/b")
			// Roster changes on alpha rewrite what it knows of beta.
			if _, err := a.e.CreateNetwork(fmt.Sprintf("extra%d", i), false); err != nil {
				t.Fatal(err)
			}
		}
		enginetest.WaitFor(t, 10*time.Second, "beta back", func() bool { p, ok := a.peer("beta"); return ok && p.Online })
	})
}

// TestCloseStopsEveryGoroutine: with gossip queued to every peer and a
// peer gone, closing the engines leaves no goroutine behind (each peer's
// sender and control writer, the reconfig routine, connections).
func TestCloseStopsEveryGoroutine(t *testing.T) {
	onVirtualNet(t, func(t *testing.T) {
		nodes := meshOfThree(t, t.TempDir())
		a, b, c := nodes[0], nodes[1], nodes[2]
		enginetest.WaitFor(t, 10*time.Second, "beta sees gamma", func() bool { p, ok := b.peer("gamma"); return ok && p.Online })
		// Roster changes gossiped through the control queues.
		for i := range 5 {
			rules := []apitype.FirewallRule{{Direction: "in", Action: "allow", Proto: "tcp", Ports: fmt.Sprint(1000 + i)}}
			if err := a.e.ChangeFirewall(apitype.FirewallChange{Op: apitype.FirewallSuggest, Network: "home", Rules: rules}); err != nil {
				t.Fatal(err)
			}
		}
		enginetest.WaitFor(t, 10*time.Second, "gamma gets the last roster", func() bool {
			return c.e.Status().Networks[0].Version == a.e.Status().Networks[0].Version
		})
		if err := c.e.Leave("home"); err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, 10*time.Second, "beta drops gamma", func() bool { _, ok := b.peer("gamma"); return !ok })
		if d := a.e.Status().Drops["control_queue"]; d != 0 {
			t.Errorf("%d control messages dropped in a quiet mesh", d)
		}
		for _, n := range nodes {
			if err := n.e.Close(); err != nil {
				t.Errorf("%s: close: %v", n.name, err)
			}
		}
	})
}
