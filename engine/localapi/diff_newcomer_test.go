package localapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/platform/ipc"
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

// TestJoinPendingNamesNetwork: a join that waits for approval answers
// with the network it waits for, so the app can name it.
func TestJoinPendingNamesNetwork(t *testing.T) {
	n, err := netmap.Create("lab", false, key.NewNode().Public(), "alpha", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	code := netmap.Invite{Kind: netmap.InviteApproval, Network: n.ID, NetworkName: "lab", Inviter: key.NewNode().Public(),
		Expires: time.Now().Add(time.Hour)}.Encode()
	s := New(&fake{}, nil)
	root := &ipc.Cred{UID: 0, Username: "root", IsAdmin: true}
	w := do(t, s, root, "POST", apitype.PathJoin, `{"code":"`+code+`","wait":"1s"}`, nil)
	var resp apitype.JoinResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != 200 {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	if !resp.Pending || resp.Network.Name != "lab" || resp.Network.ID != n.ID.String() {
		t.Errorf("response %+v", resp)
	}
}
