package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/packet"
)

// refused runs a command that must fail with a one-line error and
// returns that line.
func (n *testNode) refused(t *testing.T, args ...string) string {
	t.Helper()
	out, errw, code := n.ray(t, args...)
	if code == 0 {
		t.Fatalf("ray %s succeeded: %s", strings.Join(args, " "), out)
	}
	if lines := strings.Split(strings.TrimSpace(errw), "\n"); len(lines) != 1 {
		t.Errorf("ray %s: %d lines of error, want one: %q", strings.Join(args, " "), len(lines), errw)
	}
	return errw
}

func peerOf(st *apitype.Status, host string) apitype.Peer {
	for _, p := range st.Peers {
		if p.Hostname == host {
			return p
		}
	}
	return apitype.Peer{}
}

func TestTranscriptExitNodeAndRoutes(t *testing.T) {
	a, b := pair(t)
	lan := "198.18.78.0/24"

	// bravo offers; bad offers change nothing.
	wantMatch(t, "advertise exit", b.must(t, "advertise", "exit-node", "on"), "offers to be an exit node")
	wantMatch(t, "advertise routes", b.must(t, "advertise", "routes", lan), "offers 198.18.78.0/24")
	for _, bad := range []struct{ arg, msg string }{
		{"198.18.78.1/24", "not canonical \\(did you mean 198.18.78.0/24\\?\\)"},
		{"0.0.0.0/0", "default route: use ray advertise exit-node on"},
		{"100.64.0.0/16", "overlaps 100.64.0.0/10"},
		{"fd72:6179:6669:5::/64", "overlaps fd72:6179:6669::/48"},
		{"banana", "not a prefix"},
	} {
		wantMatch(t, "advertise "+bad.arg, b.refused(t, "advertise", "routes", bad.arg), bad.msg)
	}
	if adv := b.e.Status().Advertised; !adv.ExitNode || !slices.Equal(adv.Routes, []string{lan}) {
		t.Fatalf("bravo advertises %+v after refused changes", adv)
	}
	b.refused(t, "advertise", "exit-node", "maybe")

	// alpha learns the offers through bravo's signed record.
	waitUntil(t, 10*time.Second, "alpha sees bravo's offers", func() bool {
		rs, err := a.e.NetworkRoutes("home")
		return err == nil && len(rs.Members) == 1 && rs.Members[0].ExitNodeOffered && len(rs.Members[0].Routes) == 1
	})
	wantMatch(t, "exit-node list", a.must(t, "exit-node", "list"), `bravo\s+\S+\s+online\s+no\s+no`)
	wantMatch(t, "use unapproved", a.refused(t, "exit-node", "use", "bravo"), "bravo .* is not an approved exit node")
	wantMatch(t, "use unknown", a.refused(t, "exit-node", "use", "charlie"), "charlie")
	if st := a.e.Status(); st.ExitNode != nil {
		t.Fatalf("exit node set after a refusal: %+v", st.ExitNode)
	}
	wantMatch(t, "routes before approval", a.must(t, "routes", "home"),
		`bravo\s+exit-node\s+yes\s+no\n.*bravo\s+198.18.78.0/24\s+yes\s+no`)

	// Approvals: admin only, offered routes only.
	wantMatch(t, "member approves", b.refused(t, "routes", "approve", "home", "alpha", "exit-node"), "only an admin")
	wantMatch(t, "not offered", a.refused(t, "routes", "approve", "home", "bravo", "10.0.0.0/8"), "bravo does not offer 10.0.0.0/8 \\(its offers: exit-node, 198.18.78.0/24\\)")
	wantMatch(t, "bad prefix", a.refused(t, "routes", "approve", "home", "bravo", "198.18.78.9/24"), "not canonical")
	wantMatch(t, "non-member", a.refused(t, "routes", "approve", "home", "zulu", "exit-node"), "zulu")
	if _, errw, code := a.ray(t, "routes", "approves", "home", "bravo", "exit-node"); code != 2 || !strings.Contains(errw, "usage: ray routes") {
		t.Errorf("bad verb: exit %d %q", code, errw)
	}
	a.must(t, "routes", "approve", "home", "bravo", "exit-node")
	wantMatch(t, "approve route", a.must(t, "routes", "approve", "home", "bravo", lan), `approved bravo 198.18.78.0/24 in "home"`)
	wantMatch(t, "approve twice", a.refused(t, "routes", "approve", "home", "bravo", lan), "already approved")
	var rs apitype.NetworkRoutes
	if err := json.Unmarshal([]byte(a.must(t, "routes", "home", "--json")), &rs); err != nil {
		t.Fatal(err)
	}
	if len(rs.Members) != 1 || !rs.Members[0].ExitNodeApproved || len(rs.Members[0].Routes) != 1 || !rs.Members[0].Routes[0].Approved {
		t.Fatalf("routes --json: %+v", rs)
	}
	// bravo follows the signed roster: a member sees the approvals too.
	waitUntil(t, 10*time.Second, "bravo sees its approvals", func() bool {
		out, _, _ := b.ray(t, "routes", "home")
		return regexp.MustCompile(`198.18.78.0/24\s+yes\s+yes`).MatchString(out)
	})

	// alpha uses bravo as exit node.
	wantMatch(t, "use", a.must(t, "exit-node", "use", "bravo", "--allow-lan"), "all traffic now goes through bravo \\(online\\); the local LAN stays reachable")
	st := a.e.Status()
	if st.ExitNode == nil || st.ExitNode.Hostname != "bravo" || st.ExitNode.State != apitype.ExitStateOnline || !st.ExitNode.AllowLAN {
		t.Fatalf("exit_node %+v", st.ExitNode)
	}
	if p := peerOf(st, "bravo"); !p.ExitNodeApproved || !slices.Equal(p.Routes, []string{lan}) {
		t.Errorf("peer bravo: exit approved %v routes %v", p.ExitNodeApproved, p.Routes)
	}
	wantMatch(t, "status", a.must(t, "status"), "exit node: bravo \\(online\\)")
	wantMatch(t, "status routes", a.must(t, "status"), "bravo offers: exit node; routes 198.18.78.0/24")
	var js map[string]any
	if err := json.Unmarshal([]byte(a.must(t, "status", "--json")), &js); err != nil {
		t.Fatal(err)
	}
	if x, _ := js["exit_node"].(map[string]any); x["state"] != "online" {
		t.Errorf("status --json exit_node = %v", js["exit_node"])
	}
	wantMatch(t, "exit-node list in use", a.must(t, "exit-node", "list"), `bravo\s+\S+\s+online\s+yes\s+yes`)

	// The choice is persisted.
	prefs, err := os.ReadFile(filepath.Join(filepath.Dir(a.socket), "state", "prefs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(prefs), `"exit_node": "`+peerOf(st, "bravo").ID+`"`) {
		t.Errorf("prefs.json does not keep the exit node:\n%s", prefs)
	}

	// Withdrawing the approval keeps the exit node selected but unapproved
	// (traffic stops rather than leaks).
	a.must(t, "routes", "unapprove", "home", "bravo", "exit-node")
	if x := a.e.Status().ExitNode; x == nil || x.State != apitype.ExitStateUnapprov {
		t.Fatalf("after unapproval exit_node %+v, want unapproved", x)
	}
	wantMatch(t, "status blocked", a.must(t, "status"), "BLOCKED")
	wantMatch(t, "unapprove twice", a.refused(t, "routes", "unapprove", "home", "bravo", "exit-node"), "has no approval")

	a.must(t, "routes", "accept", "off")
	if a.e.Status().AcceptRoutes {
		t.Error("accept still on")
	}
	wantMatch(t, "status accept off", a.must(t, "status"), "subnet routes: not accepted")
	a.must(t, "routes", "accept", "on")
	wantMatch(t, "off", a.must(t, "exit-node", "off"), "exit node off")
	if x := a.e.Status().ExitNode; x != nil {
		t.Errorf("exit node after off: %+v", x)
	}
	wantMatch(t, "clear routes", b.must(t, "advertise", "routes", ""), "offers no subnet routes")
	waitUntil(t, 10*time.Second, "alpha sees the routes withdrawn", func() bool {
		return len(peerOf(a.e.Status(), "bravo").Routes) == 0
	})
}

// waitPacket waits for a packet to dst on tun's kernel side.
func waitPacket(t *testing.T, tun *enginetest.TUN, dst netip.Addr) bool {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case pkt := <-tun.FromEngine:
			var info packet.Info
			if packet.Parse(pkt, &info) == nil && info.Dst == dst {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// TestRoutesDataPath sends packets through the in-process data planes:
// a subnet route only after approval, replies with its sources, the exit
// node for everything else, and the kill switch once it is withdrawn.
func TestRoutesDataPath(t *testing.T) {
	a, b := pair(t)
	b.must(t, "firewall", "default", "in", "allow")
	b.must(t, "advertise", "routes", "198.18.78.0/24")
	b.must(t, "advertise", "exit-node", "on")
	waitUntil(t, 10*time.Second, "alpha sees bravo's offers", func() bool {
		rs, err := a.e.NetworkRoutes("home")
		return err == nil && len(rs.Members) == 1 && len(rs.Members[0].Routes) == 1 && rs.Members[0].ExitNodeOffered
	})
	aIP, bIP := a.e.Status().Self.IPv4, b.e.Status().Self.IPv4
	lan, inet := netip.MustParseAddr("198.18.78.20"), netip.MustParseAddr("198.18.77.10")

	a.tun.ToEngine <- enginetest.UDPPacket(aIP, lan, 1000, 2000, 100)
	if waitPacket(t, b.tun, lan) {
		t.Fatal("a packet to the LAN crossed before approval")
	}
	a.must(t, "routes", "approve", "home", "bravo", "198.18.78.0/24")
	waitUntil(t, 10*time.Second, "alpha uses the route", func() bool {
		return len(peerOf(a.e.Status(), "bravo").Routes) == 1
	})
	a.tun.ToEngine <- enginetest.UDPPacket(aIP, lan, 1000, 2000, 100)
	if !waitPacket(t, b.tun, lan) {
		t.Fatalf("the subnet router did not get the packet; alpha drops %v, bravo drops %v", a.e.Status().Drops, b.e.Status().Drops)
	}
	b.tun.ToEngine <- enginetest.UDPPacket(lan, aIP, 2000, 1000, 100)
	if !waitPacket(t, a.tun, aIP) {
		t.Fatalf("the reply from the LAN was dropped: %v", a.e.Status().Drops)
	}
	spoofed := a.e.Status().Drops["spoofed_source"]
	b.tun.ToEngine <- enginetest.UDPPacket(inet, aIP, 2000, 1000, 100)
	waitUntil(t, 3*time.Second, "a source outside bravo's route refused", func() bool {
		return a.e.Status().Drops["spoofed_source"] == spoofed+1
	})

	a.must(t, "routes", "approve", "home", "bravo", "exit-node")
	waitUntil(t, 10*time.Second, "alpha sees the exit node approved", func() bool {
		return peerOf(a.e.Status(), "bravo").ExitNodeApproved
	})
	a.must(t, "exit-node", "use", "bravo")
	a.tun.ToEngine <- enginetest.UDPPacket(aIP, inet, 1000, 2000, 100)
	if !waitPacket(t, b.tun, inet) {
		t.Fatalf("the exit node did not get the packet: %v", a.e.Status().Drops)
	}
	b.tun.ToEngine <- enginetest.UDPPacket(inet, aIP, 2000, 1000, 100)
	if !waitPacket(t, a.tun, aIP) {
		t.Fatalf("the reply through the exit node was dropped: %v", a.e.Status().Drops)
	}
	// The overlay address of bravo itself still goes to bravo directly.
	a.tun.ToEngine <- enginetest.UDPPacket(aIP, bIP, 1000, 2000, 100)
	if !waitPacket(t, b.tun, bIP) {
		t.Fatal("mesh traffic to the exit node itself lost")
	}

	a.must(t, "routes", "unapprove", "home", "bravo", "exit-node")
	down := a.e.Status().Drops["exit_node_down"]
	a.tun.ToEngine <- enginetest.UDPPacket(aIP, inet, 1000, 2000, 100)
	waitUntil(t, 3*time.Second, "the kill switch drops the packet", func() bool {
		return a.e.Status().Drops["exit_node_down"] == down+1
	})
	if waitPacket(t, b.tun, inet) {
		t.Error("a packet crossed to a withdrawn exit node")
	}
}
