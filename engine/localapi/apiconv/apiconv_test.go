package apiconv

import (
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
)

func TestFirewallRule(t *testing.T) {
	known, stranger := key.NewNode().Public(), key.NewNode().Public()
	n, err := netmap.Create("work", false, known, "alpha", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other := key.NewNetwork().Public()
	names := Names{
		Peer: func(k key.NodePublic) string {
			if k == known {
				return "nas"
			}
			return ""
		},
		Network: func(id key.NetworkPublic) string {
			if id == n.ID {
				return "work"
			}
			return ""
		},
	}
	tests := []struct {
		name string
		in   apitype.FirewallRule
		peer key.NodePublic
		net  key.NetworkPublic
		want apitype.FirewallRule
	}{
		{"any", apitype.FirewallRule{Direction: "in", Action: "allow"}, key.NodePublic{}, key.NetworkPublic{},
			apitype.FirewallRule{Direction: "in", Action: "allow", Proto: "any"}},
		{"ports, known peer and network", apitype.FirewallRule{Direction: "in", Action: "deny", Proto: "tcp", Ports: "22,80-81"}, known, n.ID,
			apitype.FirewallRule{Direction: "in", Action: "deny", Proto: "tcp", Ports: "22,80-81", Peer: known.String(), PeerHostname: "nas", Network: "work"}},
		{"unknown peer and network by key", apitype.FirewallRule{Direction: "out", Action: "allow", Proto: "udp"}, stranger, other,
			apitype.FirewallRule{Direction: "out", Action: "allow", Proto: "udp", Peer: stranger.String(), Network: other.String()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseFirewallRule(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			r.Peer, r.Network = tc.peer, tc.net
			if got := FirewallRule(r, names); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []apitype.FirewallRule{
		{Direction: "sideways", Action: "allow"},
		{Direction: "in", Action: "maybe"},
		{Direction: "in", Action: "allow", Proto: "sctp-ish"},
		{Direction: "in", Action: "allow", Proto: "tcp", Ports: "70000"},
	} {
		if _, err := ParseFirewallRule(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestFirewallState(t *testing.T) {
	admin := key.NewNode().Public()
	n, err := netmap.Create("work", false, admin, "alpha", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var rs firewall.Ruleset
	for _, r := range []firewall.Rule{
		{Direction: firewall.In, Action: firewall.Allow, Proto: firewall.ProtoTCP},
		{Direction: firewall.Out, Action: firewall.Deny},
	} {
		if err := rs.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	sug := firewall.Suggested{}
	if _, err := sug.Offer(n.ID, []firewall.Rule{{Direction: firewall.In, Action: firewall.Allow, Network: n.ID}}); err != nil {
		t.Fatal(err)
	}
	none := func(key.NodePublic) string { return "" }
	st := FirewallState(rs, sug, []*netmap.Network{n}, 3, map[string]uint64{"x": 1},
		Names{Peer: none, Network: func(key.NetworkPublic) string { return "work" }})
	if len(st.Rules) != 2 || st.Rules[0].Index != 1 || st.Rules[1].Index != 2 || st.Flows != 3 || st.Stats["x"] != 1 {
		t.Errorf("state %+v", st)
	}
	if len(st.Suggested) != 1 || st.Suggested[0].Network != "work" || len(st.Suggested[0].Offered) != 1 || st.Suggested[0].Offered[0].Network != "work" {
		t.Errorf("suggested %+v", st.Suggested)
	}
}

func TestPeerState(t *testing.T) {
	tests := []struct {
		online, standby bool
		want            string
	}{
		{false, false, apitype.PeerOffline},
		{false, true, apitype.PeerOffline},
		{true, true, apitype.PeerStandby},
		{true, false, apitype.PeerOnline},
	}
	for _, tc := range tests {
		if got := PeerState(tc.online, tc.standby); got != tc.want {
			t.Errorf("PeerState(%v, %v) = %q, want %q", tc.online, tc.standby, got, tc.want)
		}
	}
}

func TestNetworkAndRequests(t *testing.T) {
	admin, joiner := key.NewNode().Public(), key.NewNode().Public()
	now := time.Now()
	n, err := netmap.Create("work", true, admin, "alpha", now)
	if err != nil {
		t.Fatal(err)
	}
	if an := Network(n); an.Name != "work" || an.ID != n.ID.String() || !an.Open || an.Members != 1 {
		t.Errorf("network %+v", an)
	}
	if err := n.AddRequest(netmap.JoinRequest{Node: joiner, Hostname: "beta", Received: now}); err != nil {
		t.Fatal(err)
	}
	reqs := JoinRequests(n, now)
	if len(reqs) != 1 || reqs[0].ID != joiner.String() || reqs[0].Hostname != "beta" || reqs[0].Network != "work" {
		t.Errorf("requests %+v", reqs)
	}
	if got := JoinRequests(n, now.Add(netmap.RequestTTL)); len(got) != 0 {
		t.Errorf("expired requests listed: %+v", got)
	}
}
