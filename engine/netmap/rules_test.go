package netmap

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

func TestSetRulesTravelsSigned(t *testing.T) {
	now := time.Now()
	n, err := Create("home", false, key.NewNode().Public(), "alpha", now)
	if err != nil {
		t.Fatal(err)
	}
	v := n.Roster.Version
	rules := json.RawMessage(`[{"direction":"in","action":"allow","proto":"tcp","ports":"8080"}]`)
	if changed, err := n.SetRules(rules, now); err != nil || !changed {
		t.Fatalf("SetRules: %v %v", changed, err)
	}
	if n.Roster.Version != v+1 {
		t.Errorf("version %d, want %d", n.Roster.Version, v+1)
	}
	if changed, _ := n.SetRules(rules, now); changed {
		t.Error("same rules bumped the version")
	}
	r, err := n.Signed.Verify(n.ID)
	if err != nil || string(r.Rules) != string(rules) {
		t.Fatalf("verified rules %q, %v", r.Rules, err)
	}
	for _, bad := range []string{`{"a":1}`, `[1,`, "x"} {
		if _, err := n.SetRules(json.RawMessage(bad), now); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	member, _ := FromRoster(n.ID, n.Signed)
	if _, err := member.SetRules(rules, now); err == nil {
		t.Error("a non-admin set rules")
	}
}
