//go:build netns

package netns

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logLines returns name's daemon log from line from on, and its length.
func (l *lab) logLines(name string, from int) ([]string, int) {
	b, _ := os.ReadFile(l.nodes[name].logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if from > len(lines) {
		from = len(lines)
	}
	return lines[from:], len(lines)
}

// sleepSeconds is how long TestSleep stops a daemon: SLEEP_SECONDS, by
// default 50 s: longer than a quiet direct path's trust (9 s) and the
// QUIC idle timeout (30 s, engine/transport.go), so the peers close
// their connections and their redials back off to the 15 s cap before
// the sleeper wakes up.
// make bench-impair uses 90 s, a laptop lid.
func sleepSeconds() int {
	if s, err := strconv.Atoi(os.Getenv("SLEEP_SECONDS")); err == nil && s > 0 {
		return s
	}
	return 50
}

// TestSleep stops a daemon with SIGSTOP, as a closed laptop lid would,
// then resumes it: every peer is online again within 5 s on every node,
// nobody lists a peer twice, the bulk channel runs on new keys (pings
// go through without bulk drops) and the logs show no error storm.
func TestSleep(t *testing.T) {
	names := []string{"a", "b", "c"}
	l := newLab(t, "i16s", 164, names...)
	for _, n := range names {
		l.start(n)
	}
	l.ray("a", "create", "lid")
	for _, n := range names[1:] {
		l.ray(n, "join", lastLine(l.ray("a", "invite", "lid")))
	}
	allOnline := func() bool {
		for _, x := range names {
			st := l.status(x)
			online := 0
			for _, p := range st.Peers {
				if p.Online && p.Carrier == "bulk" {
					online++
				}
			}
			if online != len(names)-1 {
				return false
			}
		}
		return true
	}
	waitUntil(t, 20*time.Second, "full mesh on the bulk channel", allOnline)
	pingAll := func(from string) {
		t.Helper()
		for _, to := range names {
			if to == from {
				continue
			}
			p, _ := l.peer(from, to)
			if out, err := nsCmd(l.nodes[from].ns, "ping", "-c", "5", "-i", "0.05", "-W", "1", p.IPv4.String()); err != nil {
				t.Errorf("%s -> %s after the sleep: %v\n%s", from, to, err, out)
			}
		}
	}
	pingAll("b")

	sleeper := l.nodes["b"]
	d := time.Duration(sleepSeconds()) * time.Second
	marks := map[string]int{}
	for _, n := range names {
		_, marks[n] = l.logLines(n, 0)
	}
	if err := sleeper.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	aSawOffline := !l.peerOnline("a", "b")
	if err := sleeper.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	woke := time.Now()
	waitUntil(t, 15*time.Second, "every peer online on every node", allOnline)
	back := time.Since(woke)
	t.Logf("SUMMARY: b stopped %v (a saw it offline: %v): every peer online on the bulk channel on every node %v after SIGCONT",
		d, aSawOffline, back.Round(time.Millisecond))
	if back > 5*time.Second {
		t.Errorf("peers online %v after the wake-up, want within 5 s", back)
	}
	// Let reconnection settle, then: no duplicates, fresh keys, quiet logs.
	time.Sleep(2 * time.Second)
	for _, n := range names {
		st := l.status(n)
		seen := map[string]bool{}
		for _, p := range st.Peers {
			if seen[p.ID] {
				t.Errorf("%s lists peer %s (%s) twice", n, p.Hostname, p.ID)
			}
			seen[p.ID] = true
		}
		if len(st.Peers) != len(names)-1 {
			t.Errorf("%s lists %d peers, want %d", n, len(st.Peers), len(names)-1)
		}
	}
	bulkDrops := func() uint64 {
		var sum uint64
		for _, n := range names {
			for k, v := range l.status(n).Drops {
				if strings.HasPrefix(k, "bulk_") {
					sum += v
				}
			}
		}
		return sum
	}
	before := bulkDrops()
	for _, n := range names {
		pingAll(n)
	}
	if after := bulkDrops(); after != before {
		t.Errorf("bulk packets dropped after the wake-up (stale keys?): %d -> %d", before, after)
	}
	// The peers closed the sleeper's connections at their idle timeout:
	// it must have dialled new ones (new TLS sessions, new bulk keys).
	if lines, _ := l.logLines("b", marks["b"]); d > 30*time.Second && strings.Count(strings.Join(lines, "\n"), `msg="peer connected"`) < len(names)-1 {
		t.Errorf("b did not reconnect to every peer after the sleep:\n%s", strings.Join(lines, "\n"))
	}
	var storm []string
	for _, n := range names {
		lines, _ := l.logLines(n, marks[n])
		warn := 0
		for _, line := range lines {
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				warn++
			}
		}
		storm = append(storm, n+": "+strconv.Itoa(len(lines))+" lines, "+strconv.Itoa(warn)+" warnings")
		if len(lines) > 40 || warn > 10 {
			t.Errorf("%s logged %d lines (%d warnings or errors) across the sleep:\n%s", n, len(lines), warn, strings.Join(lines, "\n"))
		}
	}
	t.Logf("SUMMARY: logs across the sleep and wake-up: %s; no duplicate peers; pings on new bulk keys without bulk drops", strings.Join(storm, ", "))
}
