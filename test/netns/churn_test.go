//go:build netns

package netns

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// churnEnv reads a positive integer knob of TestChurn (make bench-churn
// raises them), or def.
func churnEnv(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		t.Fatalf("%s=%q: want a count", name, s)
	}
	return v
}

// TestChurn restarts random nodes of a mesh under continuous pings: rounds
// of kill -9 (a crash) and of a clean stop, each followed by a restart.
// After every round all ordered pairs must ping within 15 s, every node
// must hold the same roster, the restarted node must keep its identity and
// a sound state file, and the nodes that stayed up must not grow
// goroutines or file descriptors. RAY_CHURN_NODES, RAY_CHURN_KILLS and
// RAY_CHURN_CLEAN size it (make bench-churn: 10 nodes, 50 and 10 rounds).
func TestChurn(t *testing.T) {
	nodes := churnEnv(t, "RAY_CHURN_NODES", 5)
	kills := churnEnv(t, "RAY_CHURN_KILLS", 5)
	cleans := churnEnv(t, "RAY_CHURN_CLEAN", 2)
	if nodes < 3 {
		t.Fatalf("RAY_CHURN_NODES=%d: want at least 3", nodes)
	}
	names := make([]string, nodes)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i+1)
	}
	l := newLab(t, "c16", 116, names...)
	c := &churn{l: l, t: t, names: names, ids: map[string]string{}, ip4: map[string]string{},
		pingers: map[string]*exec.Cmd{}, base: map[string]leakSample{}, last: map[string]leakSample{}, rounds: map[string]int{}}
	for _, n := range names {
		c.startNode(n)
	}
	t.Cleanup(c.stopPingers)
	l.ray(names[0], "create", "churn")
	code := lastLine(l.ray(names[0], "invite", "churn", "--reusable"))
	var wg sync.WaitGroup
	for _, n := range names[1:] {
		wg.Go(func() { l.ray(n, "join", code) })
	}
	wg.Wait()
	for _, n := range names {
		st := l.status(n)
		c.ids[n], c.ip4[n] = st.Self.ID, st.Self.IPv4.String()
	}
	if d, err := c.converge(60 * time.Second); err != nil {
		t.Fatalf("initial mesh: %v", err)
	} else {
		t.Logf("SUMMARY: %d-node mesh converged %v after the joins", nodes, d.Round(time.Millisecond))
	}
	for _, n := range names {
		c.startPinger(n)
	}
	c.sampleAll("")

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("victims drawn with seed %d", seed)
	var killTimes, cleanTimes []time.Duration
	for round := range kills + cleans {
		clean := round >= kills
		// The first node stays up through the kill rounds: it is the
		// long-lived survivor whose goroutines and fds are watched.
		victim := names[1+rng.IntN(nodes-1)]
		if clean {
			victim = names[rng.IntN(nodes)]
		}
		kind := "kill -9"
		if clean {
			kind = "clean stop"
		}
		c.stopPinger(victim)
		if clean {
			l.stop(victim)
		} else {
			l.kill(victim)
		}
		t0 := time.Now()
		c.startNode(victim)
		c.checkState(victim)
		// Recovery counts from the restart, the daemon's start included.
		if _, err := c.converge(15*time.Second - time.Since(t0)); err != nil {
			t.Fatalf("round %d (%s %s): not recovered in 15 s: %v", round+1, kind, victim, err)
		}
		d := time.Since(t0)
		c.startPinger(victim)
		if clean {
			cleanTimes = append(cleanTimes, d)
		} else {
			killTimes = append(killTimes, d)
		}
		t.Logf("round %d: %s %s, all pairs and rosters back %v after the restart", round+1, kind, victim, d.Round(time.Millisecond))
		c.sampleAll(victim)
	}
	t.Logf("SUMMARY: %d kill -9 rounds, recovery %s", kills, durStats(killTimes))
	t.Logf("SUMMARY: %d clean-restart rounds, recovery %s", cleans, durStats(cleanTimes))
	c.checkLeaks()
	for _, n := range names {
		if b, err := os.ReadFile(l.nodes[n].logPath); err == nil && strings.Contains(string(b), "panic:") {
			t.Errorf("%s: panic in its log", n)
		}
	}
}

// churn is TestChurn's state.
type churn struct {
	l       *lab
	t       *testing.T
	names   []string
	ids     map[string]string // hostname → node id, fixed at the first start
	ip4     map[string]string
	pingers map[string]*exec.Cmd
	// base is each node's first leak sample after its latest start, last
	// its latest; rounds counts the rounds it has survived since.
	base, last map[string]leakSample
	rounds     map[string]int
}

// leakSample is a daemon's goroutine and open-fd count.
type leakSample struct{ goroutines, fds int }

func (c *churn) startNode(n string) {
	c.l.start(n, "--pprof", "127.0.0.1:6060")
}

// startPinger keeps n pinging its successor in the ring, 5 a second, as
// the background traffic the churn happens under.
func (c *churn) startPinger(n string) {
	i := slices.Index(c.names, n)
	to := c.names[(i+1)%len(c.names)]
	cmd := exec.Command("ip", "netns", "exec", c.l.nodes[n].ns, "ping", "-q", "-i", "0.2", "-W", "1", c.ip4[to])
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go cmd.Wait()
	c.pingers[n] = cmd
}

func (c *churn) stopPinger(n string) {
	if cmd := c.pingers[n]; cmd != nil {
		cmd.Process.Kill()
		delete(c.pingers, n)
	}
}

func (c *churn) stopPingers() {
	for n := range c.pingers {
		c.stopPinger(n)
	}
}

// converge waits until every ordered pair pings over the overlay and all
// nodes report the same roster; it returns how long that took.
func (c *churn) converge(limit time.Duration) (time.Duration, error) {
	t0 := time.Now()
	deadline := t0.Add(limit)
	pending := map[[2]string]bool{}
	for _, a := range c.names {
		for _, b := range c.names {
			if a != b {
				pending[[2]string{a, b}] = true
			}
		}
	}
	var rosterErr error
	for {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for p := range pending {
			wg.Go(func() {
				if _, err := nsCmd(c.l.nodes[p[0]].ns, "ping", "-c", "1", "-W", "1", c.ip4[p[1]]); err == nil {
					mu.Lock()
					delete(pending, p)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(pending) == 0 {
			if rosterErr = c.sameRoster(); rosterErr == nil {
				return time.Since(t0), nil
			}
		}
		if time.Now().After(deadline) {
			if len(pending) > 0 {
				var ps []string
				for p := range pending {
					ps = append(ps, p[0]+"→"+p[1])
				}
				sort.Strings(ps)
				return 0, fmt.Errorf("%d pairs unreachable: %s", len(ps), strings.Join(ps, " "))
			}
			return 0, rosterErr
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sameRoster checks that every node holds the network at one version with
// every node as a member, and sees all the others by their ids.
func (c *churn) sameRoster() error {
	var version uint64
	for i, n := range c.names {
		st, err := c.statusErr(n)
		if err != nil {
			return err
		}
		if len(st.Networks) != 1 {
			return fmt.Errorf("%s: %d networks", n, len(st.Networks))
		}
		nw := st.Networks[0]
		if i == 0 {
			version = nw.Version
		}
		if nw.Version != version || nw.Members != len(c.names) {
			return fmt.Errorf("%s: roster version %d with %d members, %s has version %d", n, nw.Version, nw.Members, c.names[0], version)
		}
		if st.Self.ID != c.ids[n] {
			return fmt.Errorf("%s: id changed from %s to %s", n, c.ids[n], st.Self.ID)
		}
		seen := map[string]string{}
		for _, p := range st.Peers {
			seen[p.Hostname] = p.ID
		}
		for _, m := range c.names {
			if m != n && seen[m] != c.ids[m] {
				return fmt.Errorf("%s: peer %s has id %q, want %s", n, m, seen[m], c.ids[m])
			}
		}
	}
	return nil
}

func (c *churn) statusErr(n string) (*apitype.Status, error) {
	out, err := c.l.rayErr(n, "status", "--json")
	if err != nil {
		return nil, fmt.Errorf("status of %s: %v: %s", n, err, out)
	}
	var st apitype.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("status of %s: %v", n, err)
	}
	return &st, nil
}

// checkState checks that a restarted node's state files are whole: the
// state parses as JSON, the key file is there with mode 0600, and the
// daemon did not fall back to its backup.
func (c *churn) checkState(n string) {
	c.t.Helper()
	dir := c.l.nodes[n].stateDir
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil || !json.Valid(b) {
		c.t.Fatalf("%s: state.json after restart: %v (%d bytes, valid %v)", n, err, len(b), json.Valid(b))
	}
	fi, err := os.Stat(filepath.Join(dir, "node.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		c.t.Fatalf("%s: node.key after restart: %v %v", n, err, fi)
	}
	if log, _ := os.ReadFile(c.l.nodes[n].logPath); strings.Contains(string(log), "DAMAGED") {
		c.t.Fatalf("%s: the daemon found its state damaged:\n%s", n, tail(string(log), 20))
	}
}

// sample reads n's goroutines from its pprof endpoint and counts its fds.
func (c *churn) sample(n string) leakSample {
	c.t.Helper()
	out, err := nsCmd(c.l.nodes[n].ns, "curl", "-sf", "http://127.0.0.1:6060/debug/pprof/goroutine?debug=1")
	var s leakSample
	if err != nil {
		c.t.Fatalf("%s: pprof: %v %s", n, err, out)
	}
	if _, err := fmt.Sscanf(out, "goroutine profile: total %d", &s.goroutines); err != nil {
		c.t.Fatalf("%s: pprof answer %q: %v", n, tail(out, 1), err)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.l.nodes[n].cmd.Process.Pid))
	if err != nil {
		c.t.Fatalf("%s: fds: %v", n, err)
	}
	s.fds = len(fds)
	return s
}

// sampleAll records every node's counts after a round; the restarted
// node ("" for none) starts its count over.
func (c *churn) sampleAll(restarted string) {
	for _, n := range c.names {
		s := c.sample(n)
		if _, ok := c.base[n]; !ok || n == restarted {
			c.base[n], c.rounds[n] = s, 0
		} else {
			c.rounds[n]++
		}
		c.last[n] = s
	}
}

// checkLeaks fails when a node that survived at least three rounds grew
// its goroutines or fds beyond what a few in-flight reconnections hold.
func (c *churn) checkLeaks() {
	c.t.Helper()
	const slackG, slackFD = 12, 6
	checked := 0
	for _, n := range c.names {
		if c.rounds[n] < 3 {
			continue
		}
		checked++
		b, l := c.base[n], c.last[n]
		c.t.Logf("SUMMARY: %s survived %d rounds: goroutines %d → %d, fds %d → %d", n, c.rounds[n], b.goroutines, l.goroutines, b.fds, l.fds)
		if l.goroutines > b.goroutines+slackG || l.fds > b.fds+slackFD {
			c.t.Errorf("%s grew over %d rounds: goroutines %d → %d, fds %d → %d", n, c.rounds[n], b.goroutines, l.goroutines, b.fds, l.fds)
		}
	}
	if checked == 0 {
		c.t.Errorf("no node survived 3 rounds: nothing to check for leaks")
	}
}

func durStats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("min %v median %v max %v", s[0].Round(time.Millisecond), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}
