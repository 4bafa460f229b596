package state

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestFirewallHint: the peers view's line about inbound packets the
// firewall dropped in the last minute follows the watch stream.
func TestFirewallHint(t *testing.T) {
	m := New("1.2.0")
	snap := snapshot(apitype.StateUp)
	snap.Status.FirewallInLastMinute = 0
	m.Apply(snap)
	if h := m.FirewallHint(); h != "" {
		t.Errorf("no drops, hint %q", h)
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventDrops, Drops: map[string]uint64{"firewall_in": 5}, FirewallInLastMinute: 5})
	want := "The firewall blocked 5 inbound packets in the last minute. Inbound connections to this device are blocked except ping; open a port with: ray firewall add in allow -p tcp -P 8080"
	if h := m.FirewallHint(); h != want {
		t.Errorf("hint %q, want %q", h, want)
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventDrops, Drops: map[string]uint64{"firewall_in": 5}})
	if h := m.FirewallHint(); h != "" {
		t.Errorf("the minute passed, hint still %q", h)
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventDrops, FirewallInLastMinute: 1})
	if h := m.FirewallHint(); !strings.HasPrefix(h, "The firewall blocked 1 inbound packet in") {
		t.Errorf("singular: %q", h)
	}
	m.DaemonGone(errors.New("gone"))
	if h := m.FirewallHint(); h != "" {
		t.Errorf("daemon gone, hint %q", h)
	}
}

// TestJoinWaitsAndStandby: this device's own join requests and peers in
// standby are shown as such.
func TestJoinWaitsAndStandby(t *testing.T) {
	m := New("1.2.0")
	p := peer("7", "bravo", true, apitype.PathDirect)
	p.State = apitype.PeerStandby
	snap := snapshot(apitype.StateUp, p)
	since := time.Date(2026, 1, 2, 3, 4, 0, 0, time.Local)
	snap.Status.Joining = []apitype.Joining{{Network: "work", ID: "n", State: apitype.JoinWaiting, Since: since}}
	m.Apply(snap)
	if got := m.JoinWaits(); len(got) != 1 || !strings.HasPrefix(got[0], "Waiting for an admin of work to approve this device (since 03:04 ") {
		t.Errorf("join waits %q", got)
	}
	if badge, reason := PeerBadge(m.Peers()[0]); badge != "standby" || !strings.Contains(reason, "ray down") {
		t.Errorf("badge %q %q", badge, reason)
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventJoining, Joining: []apitype.Joining{{Network: "work", State: apitype.JoinDenied}}})
	if got := m.JoinWaits(); len(got) != 1 || got[0] != "An admin of work denied this device's join request" {
		t.Errorf("after denial %q", got)
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventJoining})
	if got := m.JoinWaits(); len(got) != 0 {
		t.Errorf("cleared: %q", got)
	}
}
