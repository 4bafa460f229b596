package main

import (
	"strings"
	"testing"
)

func TestFirewallCommands(t *testing.T) {
	add := firewallCommands(true)
	if len(add) != 2 || strings.Join(add[0], " ") != strings.Join(firewallCommands(false)[0], " ") {
		t.Fatalf("add should first delete the old rule: %q", add)
	}
	rule := strings.Join(add[1], " ")
	for _, want := range []string{"add rule", "name=" + firewallRuleName, "dir=in", "action=allow", "profile=any",
		"localip=100.64.0.0/10,fd72:6179:6669::/48", "remoteip=100.64.0.0/10,fd72:6179:6669::/48"} {
		if !strings.Contains(rule, want) {
			t.Errorf("rule lacks %q: %s", want, rule)
		}
	}
	if del := strings.Join(firewallCommands(false)[0], " "); del != "advfirewall firewall delete rule name="+firewallRuleName {
		t.Errorf("remove = %q", del)
	}
}
