package localapi

import (
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestDiffNewcomer: the watch stream carries this node's own join
// requests and the firewall drops of the last minute, even when the
// drop table itself did not change (the minute passed).
func TestDiffNewcomer(t *testing.T) {
	drops := map[string]uint64{"firewall_in": 4}
	s1 := &apitype.Status{State: "up", Drops: drops, FirewallInLastMinute: 4}
	s2 := &apitype.Status{State: "up", Drops: drops, FirewallInLastMinute: 0,
		Joining: []apitype.Joining{{Network: "work", State: apitype.JoinWaiting}}}
	evs := Diff(s1, s2)
	if len(evs) != 2 {
		t.Fatalf("events %+v, want drops and joining", evs)
	}
	for _, ev := range evs {
		switch ev.Type {
		case apitype.EventDrops:
			if ev.FirewallInLastMinute != 0 || ev.Drops["firewall_in"] != 4 {
				t.Errorf("drops event %+v", ev)
			}
		case apitype.EventJoining:
			if len(ev.Joining) != 1 || ev.Joining[0].Network != "work" {
				t.Errorf("joining event %+v", ev)
			}
		default:
			t.Errorf("unexpected event %+v", ev)
		}
	}
	s3 := &apitype.Status{State: "up", Drops: drops}
	if evs := Diff(s2, s3); len(evs) != 1 || evs[0].Type != apitype.EventJoining || len(evs[0].Joining) != 0 {
		t.Errorf("cleared join request: %+v", evs)
	}
}
