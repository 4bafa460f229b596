package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// statusOf is n's `ray status --json`.
func statusOf(t *testing.T, n *testNode) apitype.Status {
	t.Helper()
	var st apitype.Status
	if err := json.Unmarshal([]byte(n.must(t, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestTranscriptCreateJoinHints: create and join print the firewall hint,
// join says which name this device got, `join -` reads the code from
// stdin, and status counts inbound packets the firewall dropped in the
// last minute, with the hint (issue 19 items 1 and 9, issue 12 L7).
func TestTranscriptCreateJoinHints(t *testing.T) {
	a, b, c := startTestNode(t, "alpha"), startTestNode(t, "bravo"), startTestNode(t, "charlie")
	out := a.must(t, "create", "home")
	wantMatch(t, "create", out, `(?m)^inbound connections to this device are blocked except ping; open a port with: ray firewall add in allow -p tcp -P 8080$`)
	code := lastLine(a.must(t, "invite", "home", "--reusable"))
	wantMatch(t, "invite expiry has a zone", a.must(t, "invite", "home"), `expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z+\-0-9]+:`)

	// The code on stdin, not in argv; bravo asks for a name already taken.
	out, errw, st := b.rayIn(t, code+"\n", "join", "-", "--hostname", "alpha")
	if st != 0 {
		t.Fatalf("join -: exit %d: %s", st, errw)
	}
	wantMatch(t, "join as", out, `joined network "home" as alpha-1 \(2 members\)`)
	wantMatch(t, "join says the name changed", out, `the name alpha was taken in "home", so this device is alpha-1 there`)
	wantMatch(t, "join hint", out, `inbound connections to this device are blocked except ping`)
	if _, errw, st := c.rayIn(t, "", "join", "-"); st != 2 || !strings.Contains(errw, "no code on stdin") {
		t.Errorf("join - with empty stdin: exit %d, %q", st, errw)
	}

	waitUntil(t, 10*time.Second, "alpha and alpha-1 connected both ways", func() bool {
		pa, pb := a.e.Status().Peers, b.e.Status().Peers
		return len(pa) == 1 && pa[0].Online && len(pb) == 1 && pb[0].Online
	})
	// alpha-1 sends UDP to a port alpha's firewall does not open until
	// three arrived. The next packet goes once the last one was counted
	// (or after five polls: the first may race the bulk channel's
	// set-up), so none is still in flight when the count is read below.
	sa, sb := a.e.Status().Self, b.e.Status().Self
	seen, idle := ^uint64(0), 0
	waitUntil(t, 10*time.Second, "three firewall_in drops in the last minute", func() bool {
		c := a.e.Status().FirewallInLastMinute
		if c >= 3 {
			return true
		}
		if c != seen || idle >= 5 {
			b.tun.ToEngine <- enginetest.UDPPacket(sb.IPv4, sa.IPv4, 40000, 8080, 10)
			seen, idle = c, 0
		} else {
			idle++
		}
		return false
	})
	sj := statusOf(t, a)
	n := sj.FirewallInLastMinute
	if n < 3 || sj.Drops["firewall_in"] != n {
		t.Errorf("status --json: firewall_in_last_minute %d, drops %d", n, sj.Drops["firewall_in"])
	}
	out = a.must(t, "status")
	wantMatch(t, "status firewall line", out, fmt.Sprintf(`the firewall blocked %d inbound packet\(s\) in the last minute: inbound connections to this device are blocked except ping; open a port with: ray firewall add in allow -p tcp -P 8080`, n))
	if out := b.must(t, "status"); strings.Contains(out, "firewall blocked") {
		t.Errorf("bravo dropped nothing, yet status says %q", out)
	}
}

// TestTranscriptNamingPeers: peers are named by hostname, overlay IP or
// any unique id prefix; this node's own name is said to be this node;
// an ambiguous name lists the candidates; join requests are decided by
// prefix; tables show hostnames next to ids (issue 19 item 4).
func TestTranscriptNamingPeers(t *testing.T) {
	a, b := pair(t)
	c := startTestNode(t, "charlie")
	sb := b.e.Status().Self

	for _, name := range []string{"bravo", "bravo.home", "bravo.home.ray", sb.IPv4.String(), sb.ID[:6], strings.ToUpper(sb.ID[:10])} {
		if out, errw, st := a.ray(t, "ping", name, "-c1", "-i", "10ms"); st != 0 || !strings.Contains(out, "reply from bravo") {
			t.Errorf("ping %s: exit %d %q %q", name, st, out, errw)
		}
	}
	for _, name := range []string{"alpha", a.e.Status().Self.IPv4.String(), a.e.Status().Self.ID[:8]} {
		if _, errw, st := a.ray(t, "ping", name); st != 1 || !strings.Contains(errw, "is this node") {
			t.Errorf("ping own %s: exit %d %q", name, st, errw)
		}
	}
	if _, errw, st := a.ray(t, "ping", "bravo", "-c", "0"); st != 2 || !strings.Contains(errw, "1 or more") {
		t.Errorf("ping -c 0: exit %d %q", st, errw)
	}
	if _, errw, st := a.ray(t, "ping", "nobody"); st != 1 || !strings.Contains(errw, `no peer named "nobody"`) {
		t.Errorf("ping nobody: exit %d %q", st, errw)
	}

	// charlie joins a second network as "bravo": the bare name is ambiguous.
	a.must(t, "create", "work")
	code := lastLine(a.must(t, "invite", "work", "--approval"))
	out, _, st := c.ray(t, "join", code, "--hostname", "bravo", "--wait", "200ms")
	wantMatch(t, "approval join says it waits", out, `^waiting for an admin of work to approve this device \(Ctrl-C keeps the request\)`)
	if st != 3 {
		t.Errorf("join with approval and no decision: exit %d, want 3", st)
	}
	wantMatch(t, "joiner status", c.must(t, "status"), `waiting for an admin of work to approve this device \(requested `)
	sc := c.e.Status().Self
	wantMatch(t, "requests show hostname and id", a.must(t, "requests", "work"), `(?m)^`+sc.ID+` +bravo +\d{4}-`)
	if _, errw, st := a.ray(t, "accept", "work", "zzzz"); st != 1 || !strings.Contains(errw, `no pending join request "zzzz"`) {
		t.Errorf("accept unknown prefix: exit %d %q", st, errw)
	}
	wantMatch(t, "accept by prefix", a.must(t, "accept", "work", sc.ID[:5]), `^accepted `)
	waitUntil(t, 10*time.Second, "charlie in work", func() bool { return len(c.e.Status().Networks) == 1 })
	waitUntil(t, 10*time.Second, "alpha and charlie connected", func() bool {
		p, ok := peerNamed(a, c.e.Status().Self.ID)
		return ok && p.Online
	})
	// Two peers are named bravo: the bare name stays with the one that
	// held it first (as in magic DNS), host.network names the other.
	if out, _, st := a.ray(t, "ping", "bravo", "-c1"); st != 0 || !strings.Contains(out, "reply from bravo ("+sb.IPv4.String()+")") {
		t.Errorf("ping bare bravo: exit %d %q, want the first holder %s", st, out, sb.IPv4)
	}
	wantMatch(t, "bare name refused", a.must(t, "status"), `warning: bravo: name bravo.ray refused: bravo \(`+sb.ID[:8]+`\) held it first`)
	if out, _, st := a.ray(t, "ping", "bravo.work", "-c1"); st != 0 || !strings.Contains(out, "reply from bravo") {
		t.Errorf("ping bravo.work: exit %d %q", st, out)
	}

	// The firewall table names the peer.
	out = a.must(t, "firewall", "add", "in", "allow", "-p", "tcp", "-P", "22", "--peer", sb.ID[:7])
	wantMatch(t, "firewall table", out, `tcp +22 +bravo \(`+sb.ID[:8]+`\)`)
	wantMatch(t, "status peer ids", a.must(t, "status"), `(?m)^bravo +`+sb.ID[:8]+` +`)
}

// peerNamed finds n's peer by node id.
func peerNamed(n *testNode, id string) (apitype.Peer, bool) {
	for _, p := range n.e.Status().Peers {
		if p.ID == id {
			return p, true
		}
	}
	return apitype.Peer{}, false
}

// TestTranscriptStandby: in standby `ray ping` says rayfish is down, and
// peers show the node as standby until it is up again (issue 19 item 3).
func TestTranscriptStandby(t *testing.T) {
	a, b := pair(t)
	wantMatch(t, "down", b.must(t, "down"), `^rayfish is down \(standby`)
	_, errw, st := b.ray(t, "ping", "alpha", "-c1")
	if st != 1 {
		t.Errorf("ping while down: exit %d", st)
	}
	wantMatch(t, "ping while down", errw, `^ray: rayfish is down \(standby\): no traffic flows; run ray up first\n$`)
	waitUntil(t, 5*time.Second, "alpha sees bravo in standby", func() bool {
		p, ok := peerNamed(a, b.e.Status().Self.ID)
		return ok && p.State == apitype.PeerStandby
	})
	if p, _ := peerNamed(a, b.e.Status().Self.ID); !p.Online {
		t.Errorf("bravo in standby is still connected, yet online=%v", p.Online)
	}
	wantMatch(t, "alpha's status", a.must(t, "status"), `(?m)^bravo .* standby \(down\)`)
	wantMatch(t, "bravo's own status", b.must(t, "status"), `rayfish is down \(standby\)`)
	out, errw, st := a.ray(t, "ping", "bravo", "-c1")
	if st != 1 || !strings.Contains(out, "bravo is down (standby") {
		t.Errorf("ping a peer in standby: exit %d %q %q", st, out, errw)
	}
	b.must(t, "up")
	waitUntil(t, 5*time.Second, "alpha sees bravo online again", func() bool {
		p, ok := peerNamed(a, b.e.Status().Self.ID)
		return ok && p.State == apitype.PeerOnline
	})
	if out, _, st := b.ray(t, "ping", "alpha", "-c1"); st != 0 {
		t.Errorf("ping after up: exit %d %q", st, out)
	}
}

// TestTranscriptApprovalDenied: a live wait for approval ends with a
// clear message when an admin denies, and the joiner's status says so.
func TestTranscriptApprovalDenied(t *testing.T) {
	a, c := startTestNode(t, "alpha"), startTestNode(t, "charlie")
	a.must(t, "create", "work")
	code := lastLine(a.must(t, "invite", "work", "--approval"))
	type result struct {
		out, errw string
		code      int
	}
	done := make(chan result, 1)
	go func() {
		out, errw, st := c.ray(t, "join", code, "--wait", "30s")
		done <- result{out, errw, st}
	}()
	waitUntil(t, 10*time.Second, "the request reaches alpha", func() bool { return len(a.e.Status().Requests) == 1 })
	waitUntil(t, 5*time.Second, "charlie's status shows the wait", func() bool {
		j := c.e.Status().Joining
		return len(j) == 1 && j[0].State == apitype.JoinWaiting && j[0].Network == "work"
	})
	wantMatch(t, "deny by hostname", a.must(t, "deny", "work", "charlie"), `^denied charlie`)
	select {
	case r := <-done:
		if r.code != 1 {
			t.Errorf("denied join: exit %d", r.code)
		}
		wantMatch(t, "denied join", r.out, `^waiting for an admin of work to approve this device`)
		wantMatch(t, "denied join", r.errw, `^ray: an admin of "work" denied this device's join request\n$`)
	case <-time.After(10 * time.Second):
		t.Fatal("the join did not end when the admin denied it")
	}
	wantMatch(t, "joiner's status", c.must(t, "status"), `an admin of work denied this device's join request`)
	if n := len(c.e.Status().Networks); n != 0 {
		t.Errorf("denied joiner has %d networks", n)
	}
}

// TestTranscriptJoinOpenByID: `ray join NETWORK_ID` joins an open network
// through an admin this node can reach; a closed network's id gets a
// clear error (issue 19 item 6).
func TestTranscriptJoinOpenByID(t *testing.T) {
	a, b := pair(t)
	out := a.must(t, "create", "lobby", "--open")
	var lobbyID string
	for _, n := range a.e.Status().Networks {
		if n.Name == "lobby" {
			lobbyID = n.ID
		}
	}
	wantMatch(t, "create --open", out, `anyone may join with: ray join `+lobbyID)
	wantMatch(t, "join by id", b.must(t, "join", lobbyID), `^joined network "lobby" as bravo \(2 members\)`)
	if _, errw, st := b.ray(t, "join", lobbyID); st != 1 || !strings.Contains(errw, `already a member of network "lobby"`) {
		t.Errorf("second join: exit %d %q", st, errw)
	}

	a.must(t, "create", "work", "--closed")
	var workID string
	for _, n := range a.e.Status().Networks {
		if n.Name == "work" {
			workID = n.ID
		}
	}
	_, errw, st := b.ray(t, "join", workID)
	if st != 1 {
		t.Errorf("join a closed network by id: exit %d", st)
	}
	wantMatch(t, "closed by id", errw, `network "work" is closed: it admits by invite code or approval only`)
	if n := len(a.e.Status().Requests); n != 0 {
		t.Errorf("a refused id join left %d requests", n)
	}

	// Nobody this node can reach admins an unknown network.
	lone := startTestNode(t, "lone")
	_, errw, st = lone.ray(t, "join", lobbyID)
	if st != 1 || !strings.Contains(errw, "found no admin of network") {
		t.Errorf("join with no admin in reach: exit %d %q", st, errw)
	}
}

// TestTranscriptSettingsAndHelp: config show is for people (--json for
// JSON), config set mdns works as documented, firewall default says what
// changed, netcheck without relays says why it has nothing (issue 19
// items 5 and 9).
func TestTranscriptSettingsAndHelp(t *testing.T) {
	a := startTestNode(t, "alpha")
	out := a.must(t, "config", "show")
	wantMatch(t, "config show", out, `(?m)^relays: +none \(ray config set relay URL\)\nmdns: +on\nconnect-on-start: +on\noperator: +none`)
	var p apitype.Prefs
	if err := json.Unmarshal([]byte(a.must(t, "config", "show", "--json")), &p); err != nil || !p.MDNS {
		t.Errorf("config show --json: %v %+v", err, p)
	}
	wantMatch(t, "config set mdns", a.must(t, "config", "set", "mdns", "off"), `(?m)^mdns: +off$`)
	if !strings.Contains(a.must(t, "mdns", "on"), "LAN discovery (mDNS) on") {
		t.Error("mdns on")
	}
	wantMatch(t, "firewall default", a.must(t, "firewall", "default", "allow"), `^inbound default changed: allow \(was deny\)\n`)
	wantMatch(t, "firewall default out", a.must(t, "firewall", "default", "out", "allow"), `^outbound default unchanged: allow\n`)
	wantMatch(t, "netcheck", a.must(t, "netcheck"), `no relays configured: .*\n.*ray config set relay URL`)
	for _, args := range [][]string{{"firewall", "--help"}, {"up", "--help"}, {"config", "--help"}, {"mdns", "--help"}, {"stop", "--help"}} {
		if out, _, st := a.ray(t, args...); st != 0 || !strings.HasPrefix(out, "usage: ray ") {
			t.Errorf("%v: exit %d %q", args, st, out)
		}
	}
	out = a.must(t, "invite", "--help")
	if !strings.Contains(out, "-approval") || strings.Contains(out, "-approval ray") {
		t.Errorf("invite --help: %q", out)
	}
	if out := a.must(t, "join", "--help"); !strings.Contains(out, "-wait") {
		t.Errorf("join --help lacks --wait: %q", out)
	}
}

// TestTranscriptApprovalCtrlC: Ctrl-C while waiting for approval keeps
// the request: the CLI says so, the daemon keeps waiting, and an accept
// later still admits this node.
func TestTranscriptApprovalCtrlC(t *testing.T) {
	a, c := startTestNode(t, "alpha"), startTestNode(t, "charlie")
	a.must(t, "create", "work")
	code := lastLine(a.must(t, "invite", "work", "--approval"))
	ctx, cancel := context.WithCancel(context.Background())
	var out, errw bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runCtx(ctx, []string{"--socket", c.socket, "join", code, "--wait", "1m"}, strings.NewReader(""), &out, &errw)
	}()
	waitUntil(t, 10*time.Second, "the request reaches alpha", func() bool { return len(a.e.Status().Requests) == 1 })
	cancel() // Ctrl-C
	select {
	case st := <-done:
		if st != 3 {
			t.Errorf("Ctrl-C: exit %d, want 3", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-C did not end the wait")
	}
	wantMatch(t, "Ctrl-C", errw.String(), `^ray: still waiting for an admin of work; the daemon keeps the request \(ray status shows it\)\n$`)
	a.must(t, "accept", "work", "charlie")
	waitUntil(t, 10*time.Second, "charlie joins after all", func() bool { return len(c.e.Status().Networks) == 1 })
	if j := c.e.Status().Joining; len(j) != 0 {
		t.Errorf("joined, yet status still lists %+v", j)
	}
}
