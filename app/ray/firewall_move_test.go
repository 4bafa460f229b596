package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestFirewallMove: `ray firewall move` reorders the rules (up, down,
// top, bottom, a position) and refuses bad input with one line, leaving
// the rules as they were.
func TestFirewallMove(t *testing.T) {
	n := startTestNode(t, "alpha")
	n.must(t, "firewall", "add", "in", "allow", "-p", "tcp", "-P", "22")
	n.must(t, "firewall", "add", "in", "allow", "-p", "tcp", "-P", "80")
	order := func() string {
		var st apitype.FirewallState
		if err := json.Unmarshal([]byte(n.must(t, "firewall", "show", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, r := range st.Rules {
			s = append(s, r.Proto+":"+r.Ports)
		}
		return strings.Join(s, " ")
	}
	if got := order(); got != "tcp:80 tcp:22 icmp:" {
		t.Fatalf("start: %s", got)
	}
	for _, step := range []struct{ args, want string }{
		{"1 down", "tcp:22 tcp:80 icmp:"},
		{"3 top", "icmp: tcp:22 tcp:80"},
		{"1 bottom", "tcp:22 tcp:80 icmp:"},
		{"2 up", "tcp:80 tcp:22 icmp:"},
		{"3 2", "tcp:80 icmp: tcp:22"},
	} {
		n.must(t, append([]string{"firewall", "move"}, strings.Fields(step.args)...)...)
		if got := order(); got != step.want {
			t.Fatalf("move %s: %s, want %s", step.args, got, step.want)
		}
	}
	for _, bad := range []struct{ args, err string }{
		{"1 up", "rule #1 is already first"},
		{"3 down", "cannot move rule #3 to #4: positions go from 1 to 3"},
		{"9 top", "no rule #9 (there are 3; see ray firewall show)"},
		{"x up", `"x" is not a rule number`},
		{"1 sideways", `"sideways" is not up, down, top, bottom or a position`},
		{"1", "usage: ray firewall move INDEX"},
	} {
		_, errw, st := n.ray(t, append([]string{"firewall", "move"}, strings.Fields(bad.args)...)...)
		if st == 0 || !strings.Contains(errw, bad.err) || strings.Count(strings.TrimSpace(errw), "\n") != 0 {
			t.Errorf("move %s: exit %d, stderr %q; want one line with %q", bad.args, st, errw, bad.err)
		}
		if got := order(); got != "tcp:80 icmp: tcp:22" {
			t.Fatalf("failed move %s changed the rules: %s", bad.args, got)
		}
	}
}
