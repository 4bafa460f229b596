package state

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func TestOnboarding(t *testing.T) {
	noNets := snapshot(apitype.StateUp)
	noNets.Status.Networks = nil
	member := snapshot(apitype.StateUp, peer("3", "nas", false, apitype.PathNone))
	member.Status.Networks[0].Admin = false
	tests := []struct {
		name       string
		events     []apitype.WatchEvent
		gone       bool
		want       Onboarding
		inviteNet  string
		inviteText string
	}{
		{name: "before the snapshot", want: OnboardNone},
		{name: "daemon gone", events: []apitype.WatchEvent{noNets}, gone: true, want: OnboardNone},
		{name: "no network", events: []apitype.WatchEvent{noNets}, want: OnboardJoinOrCreate},
		{name: "alone in an admin network", events: []apitype.WatchEvent{snapshot(apitype.StateUp)},
			want: OnboardInvite, inviteNet: "home", inviteText: "Invite your next device"},
		{name: "only offline peers", events: []apitype.WatchEvent{member},
			want: OnboardInvite, inviteText: "Ask an admin of the network"},
		{name: "a peer online", events: []apitype.WatchEvent{snapshot(apitype.StateUp, peer("3", "nas", true, apitype.PathDirect))},
			want: OnboardNone, inviteNet: "home"},
		{name: "peer comes online later", events: []apitype.WatchEvent{member,
			{Type: apitype.EventPeer, Peer: ptr(peer("3", "nas", true, apitype.PathRelay))}}, want: OnboardNone},
		{name: "left the last network", events: []apitype.WatchEvent{snapshot(apitype.StateUp),
			{Type: apitype.EventNetworks, Networks: nil}}, want: OnboardJoinOrCreate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New("1.2.0")
			for _, ev := range tt.events {
				m.Apply(ev)
			}
			if tt.gone {
				m.DaemonGone(errors.New("gone"))
			}
			if got := m.Onboarding(); got != tt.want {
				t.Errorf("Onboarding() = %v, want %v", got, tt.want)
			}
			if got := m.InviteNetwork(); got != tt.inviteNet {
				t.Errorf("InviteNetwork() = %q, want %q", got, tt.inviteNet)
			}
			if tt.inviteText != "" && !strings.Contains(m.InviteStepText(), tt.inviteText) {
				t.Errorf("InviteStepText() = %q, want it to contain %q", m.InviteStepText(), tt.inviteText)
			}
		})
	}
}

func TestRulesFor(t *testing.T) {
	rules := []apitype.FirewallRule{
		{Index: 1, Direction: "in", Action: "allow", Proto: "tcp", Ports: "22"},
		{Index: 2, Direction: "in", Action: "allow", Proto: "any", Peer: "3"},
		{Index: 3, Direction: "in", Action: "deny", Proto: "udp", Peer: "NAS"},
		{Index: 4, Direction: "out", Action: "deny", Proto: "any", Network: "work"},
		{Index: 5, Direction: "in", Action: "allow", Proto: "any", Peer: "4"},
		{Index: 6, Direction: "in", Action: "allow", Proto: "tcp", Network: "home", Peer: "3"},
	}
	nas := peer("3", "nas", true, apitype.PathDirect)
	phone := peer("4", "phone", true, apitype.PathDirect)
	phone.Networks = []string{"work"}
	anon := peer("5", "", true, apitype.PathDirect)
	tests := []struct {
		p    apitype.Peer
		want []int
	}{
		{nas, []int{1, 2, 3, 6}},
		{phone, []int{1, 4, 5}},
		{anon, []int{1}},
	}
	for _, tt := range tests {
		var got []int
		for _, r := range RulesFor(rules, tt.p) {
			got = append(got, r.Index)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("RulesFor(%s) = %v, want %v", tt.p.ID, got, tt.want)
		}
	}
}

func TestRuleText(t *testing.T) {
	tests := []struct {
		r    apitype.FirewallRule
		want string
	}{
		{apitype.FirewallRule{Direction: "in", Action: "allow", Proto: "tcp", Ports: "8080"}, "in allow tcp port 8080 with any peer"},
		{apitype.FirewallRule{Direction: "in", Action: "deny", Proto: "any", Peer: "k7nas00000000000", PeerHostname: "nas"}, "in deny any from nas"},
		{apitype.FirewallRule{Direction: "out", Action: "deny", Proto: "udp", Peer: "k7nas00000000000"}, "out deny udp to k7nas00000…"},
		{apitype.FirewallRule{Direction: "out", Action: "allow", Proto: "any", Network: "work", Seeded: true}, "out allow any with work · seeded"},
		{apitype.FirewallRule{Direction: "in", Action: "allow", Proto: "icmp", PeerHostname: "nas", Network: "home"}, "in allow icmp from nas (network home)"},
		{apitype.FirewallRule{Direction: "in", Action: "allow"}, "in allow – with any peer"},
	}
	for _, tt := range tests {
		if got := RuleText(tt.r); got != tt.want {
			t.Errorf("RuleText(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func rowMap(rows []Row) map[string]Row {
	m := make(map[string]Row)
	for _, r := range rows {
		m[r.Label] = r
	}
	return m
}

func TestNetcheckRows(t *testing.T) {
	full := apitype.Netcheck{
		UDPPort: 41641, ReflexiveV4: "198.18.0.5:41641", MappingV4: "endpoint-independent", MappingV6: "unknown",
		HomeRelay:   "https://relay.example:443",
		PortMapping: apitype.NetcheckPortMapping{Protocol: "nat-pmp", External: "198.18.0.9:41641", LeaseS: 7200},
		STUN:        []apitype.NetcheckSTUN{{Server: "198.18.0.1:3478", Reflexive: "198.18.0.5:41641", RTTMs: 2.5}, {Server: "198.18.0.2:3478", Error: "timeout"}},
		Relays:      []apitype.NetcheckRelay{{URL: "https://relay.example:443", LatencyMs: 12}, {URL: "https://r2.example", Error: "refused"}},
	}
	rows := rowMap(NetcheckRows(full))
	want := map[string]string{
		"UDP port":                        "41641",
		"Public IPv4":                     "198.18.0.5:41641",
		"Public IPv6":                     "–",
		"NAT (IPv4)":                      "easy (endpoint-independent): direct connections work",
		"NAT (IPv6)":                      "unknown",
		"Home relay":                      "https://relay.example:443",
		"STUN 198.18.0.1:3478":            "saw us as 198.18.0.5:41641 in 2.5 ms",
		"STUN 198.18.0.2:3478":            "failed: timeout",
		"Relay https://relay.example:443": "12 ms",
		"Relay https://r2.example":        "failed: refused",
	}
	for label, v := range want {
		if rows[label].Value != v {
			t.Errorf("row %q = %q, want %q", label, rows[label].Value, v)
		}
	}
	if rows["Public IPv4"].Copy != "198.18.0.5:41641" || rows["Public IPv6"].Copy != "" {
		t.Errorf("copy texts: v4 %q v6 %q", rows["Public IPv4"].Copy, rows["Public IPv6"].Copy)
	}
	if _, ok := rows["Relays"]; ok {
		t.Error("a netcheck with relays says none are configured")
	}

	empty := rowMap(NetcheckRows(apitype.Netcheck{MappingV4: "address-dependent"}))
	if !strings.Contains(empty["Relays"].Value, "none configured") {
		t.Errorf("no relays: row %q", empty["Relays"].Value)
	}
	if !strings.HasPrefix(empty["UDP port"].Value, "not bound") {
		t.Errorf("no port: %q", empty["UDP port"].Value)
	}
	if _, ok := rows["Port mapping"]; ok {
		t.Error("netcheck rows repeat the port mapping the Port mapping card shows live")
	}
	if !strings.HasPrefix(empty["NAT (IPv4)"].Value, "hard") {
		t.Errorf("hard NAT: %q", empty["NAT (IPv4)"].Value)
	}
	if empty["DHT"].Value != "off" {
		t.Errorf("DHT off: %q", empty["DHT"].Value)
	}
}

func TestDHTRow(t *testing.T) {
	pub := time.Date(2026, 12, 4, 21, 5, 9, 0, time.Local)
	tests := []struct {
		d    apitype.NetcheckDHT
		want string
	}{
		{apitype.NetcheckDHT{}, "off"},
		{apitype.NetcheckDHT{Error: "off (ray config set dht off)"}, "off: off (ray config set dht off)"},
		{apitype.NetcheckDHT{On: true, Nodes: 12}, "on, 12 nodes, not published yet"},
		{apitype.NetcheckDHT{On: true, Nodes: 140, LastPublish: pub}, "on, 140 nodes, last published 21:05:09"},
		{apitype.NetcheckDHT{On: true, Nodes: 0, Error: "no bootstrap node answered"}, "on, 0 nodes, not published yet: no bootstrap node answered"},
	}
	for _, tt := range tests {
		if got := DHTRow(tt.d); got.Label != "DHT" || got.Value != tt.want {
			t.Errorf("DHTRow(%+v) = %+v, want %q", tt.d, got, tt.want)
		}
	}
}

func TestFoundViaText(t *testing.T) {
	for via, want := range map[string]string{
		"invite": "the invite it joined with", "roster": "the network's member list",
		"mdns": "the local network (mDNS)", "dht": "the public DHT", "relay": "a relay", "carrier-pigeon": "carrier-pigeon",
	} {
		if got := FoundViaText(via); got != want {
			t.Errorf("FoundViaText(%q) = %q, want %q", via, got, want)
		}
	}
}

func TestPeerRows(t *testing.T) {
	relayed := peer("3", "nas", true, apitype.PathRelay)
	relayed.Endpoint = "https://relay.example"
	relayed.RelayReason = "both sides are behind hard NATs"
	relayed.RTTMs = 48
	relayed.RxBytes, relayed.TxBytes = 3<<20, 1<<10
	relayed.Carrier = "bulk"
	relayed.Warnings = []string{"refused 100.64.0.9"}
	relayed.DiscoveredVia = "dht"
	relayed.DNSName = "nas.ray"
	relayed.OS, relayed.Version = "linux/arm64", "1.2.0"
	relayed.Candidates = []string{"198.18.0.3:41641", "https://relay.example"}
	direct := peer("4", "phone", true, apitype.PathDirect)
	direct.Endpoint = "198.18.0.4:41641"
	direct.OS = "darwin/arm64"
	offline := peer("5", "", false, apitype.PathNone)

	tests := []struct {
		p    apitype.Peer
		want map[string]string
		no   []string
	}{
		{relayed, map[string]string{
			"Name": "nas", "IPv4": "100.64.0.3", "Networks": "home",
			"Path": "relayed through https://relay.example (bulk)", "Why": "both sides are behind hard NATs",
			"Round trip": "48 ms", "Traffic": "in 3.0 MiB · out 1.0 KiB", "Warning": "refused 100.64.0.9",
			"Found via": "the public DHT", "DNS name": "nas.ray", "Runs": "Linux (arm64) · rayfish 1.2.0",
			"Candidates": "198.18.0.3:41641, https://relay.example",
		}, nil},
		{direct, map[string]string{"Path": "direct to 198.18.0.4:41641", "Round trip": "–", "Runs": "macOS (arm64)"},
			[]string{"Why", "Warning", "Found via", "DNS name", "Candidates"}},
		{offline, map[string]string{"Name": "5", "Path": "offline", "Why": "never seen online"}, []string{"Runs", "DNS name", "Candidates"}},
	}
	for _, tt := range tests {
		rows := rowMap(PeerRows(tt.p))
		for label, v := range tt.want {
			if rows[label].Value != v {
				t.Errorf("%s: row %q = %q, want %q", tt.p.ID, label, rows[label].Value, v)
			}
		}
		for _, label := range tt.no {
			if _, ok := rows[label]; ok {
				t.Errorf("%s: unexpected row %q", tt.p.ID, label)
			}
		}
		if rows["IPv6"].Copy != tt.p.IPv6.String() || rows["Node id"].Copy != tt.p.ID {
			t.Errorf("%s: copy texts %q %q", tt.p.ID, rows["IPv6"].Copy, rows["Node id"].Copy)
		}
	}
	if c := rowMap(PeerRows(relayed))["DNS name"].Copy; c != "nas.ray" {
		t.Errorf("DNS name copy %q", c)
	}
}

func TestSoftwareText(t *testing.T) {
	tests := []struct{ os, version, want string }{
		{"linux/amd64", "1.2.0", "Linux (amd64) · rayfish 1.2.0"},
		{"windows/arm64", "", "Windows (arm64)"},
		{"darwin", "", "macOS"},
		{"plan9/386", "0.1.0-dev", "plan9 (386) · rayfish 0.1.0-dev"},
		{"", "1.2.0", "rayfish 1.2.0"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := SoftwareText(tt.os, tt.version); got != tt.want {
			t.Errorf("SoftwareText(%q, %q) = %q, want %q", tt.os, tt.version, got, tt.want)
		}
	}
}

func TestFirewallForgottenWithDaemon(t *testing.T) {
	m := New("1.2.0")
	m.Apply(snapshot(apitype.StateUp))
	if _, ok := m.Firewall(); ok {
		t.Fatal("firewall known before it was fetched")
	}
	m.SetFirewall(apitype.FirewallState{DefaultIn: "deny"})
	if st, ok := m.Firewall(); !ok || st.DefaultIn != "deny" {
		t.Fatalf("Firewall() = %+v, %v", st, ok)
	}
	m.DaemonGone(nil)
	if _, ok := m.Firewall(); ok {
		t.Error("firewall state kept after the daemon went away")
	}
}

func TestDropAndSelfRows(t *testing.T) {
	m := New("1.2.0")
	if m.SelfRows() != nil || m.DropRows() != nil {
		t.Fatal("rows before the snapshot")
	}
	ev := snapshot(apitype.StateUp)
	ev.Status.Drops = map[string]uint64{"firewall_in": 7, "no_route": 7, "mtu": 30, "unknown_peer": 0}
	ev.Status.Self.ListenPort = 41641
	m.Apply(ev)
	got := m.DropRows()
	want := []Row{{Label: "mtu", Value: "30"}, {Label: "firewall in", Value: "7"}, {Label: "no route", Value: "7"}}
	if !slices.Equal(got, want) {
		t.Errorf("DropRows() = %v, want %v", got, want)
	}
	rows := m.SelfRows()
	if len(rows) != 2 || rows[0].Value != "41641" || !strings.HasPrefix(rows[1].Value, "none yet") {
		t.Errorf("SelfRows() without endpoints = %v", rows)
	}
	self := ev.Status.Self
	self.Endpoints = []string{"198.18.0.5:41641", "[2001:db8::5]:41641"}
	m.Apply(apitype.WatchEvent{Type: apitype.EventSelf, Self: &self})
	rows = m.SelfRows()
	if len(rows) != 3 || rows[2].Copy != "[2001:db8::5]:41641" {
		t.Errorf("SelfRows() = %v", rows)
	}
}

func TestPeerURL(t *testing.T) {
	v4 := peer("3", "nas", true, apitype.PathDirect)
	v6 := v4
	v6.IPv4 = netip.Addr{}
	none := v6
	none.IPv6 = netip.Addr{}
	named := v4
	named.DNSName = "nas.home.ray"
	odd := v4
	odd.DNSName = "nas.ray/@evil.example"
	tests := []struct {
		p       apitype.Peer
		port    string
		byName  bool
		want    string
		wantErr string
	}{
		{v4, "8080", false, "http://100.64.0.3:8080/", ""},
		{v4, " 443 ", false, "https://100.64.0.3:443/", ""},
		{v6, "80", false, "http://[fd72:6179:6669::3]:80/", ""},
		{v4, "0", false, "", `"0" is not a port (1-65535)`},
		{v4, "65536", false, "", `"65536" is not a port (1-65535)`},
		{v4, "http", false, "", `"http" is not a port (1-65535)`},
		{v4, "-1", true, "", `"-1" is not a port (1-65535)`},
		{none, "80", false, "", "nas has no address yet"},
		// By magic DNS name while the system resolver points at rayfish.
		{named, "8080", true, "http://nas.home.ray:8080/", ""},
		{named, "443", true, "https://nas.home.ray:443/", ""},
		{named, "8080", false, "http://100.64.0.3:8080/", ""},
		{v4, "8080", true, "http://100.64.0.3:8080/", ""},
		{odd, "80", true, "http://100.64.0.3:80/", ""},
	}
	for _, tt := range tests {
		got, err := PeerURL(tt.p, tt.port, tt.byName)
		if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
			t.Errorf("PeerURL(%v %q, %q, %v) = %q, %v; want %q, %q", tt.p.IPv4, tt.p.DNSName, tt.port, tt.byName, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestTooltipRelayed(t *testing.T) {
	standby := peer("5", "tv", true, apitype.PathRelay)
	standby.State = apitype.PeerStandby
	tests := []struct {
		peers []apitype.Peer
		want  string // "" means no relay line
	}{
		{[]apitype.Peer{peer("3", "nas", true, apitype.PathDirect)}, ""},
		{[]apitype.Peer{peer("3", "nas", true, apitype.PathRelay), peer("4", "pi", false, apitype.PathRelay), standby},
			"\n1 peer only through a relay (slower): see Map or Peers"},
		{[]apitype.Peer{peer("3", "nas", true, apitype.PathRelay), peer("4", "pi", true, apitype.PathRelay)},
			"\n2 peers only through a relay (slower): see Map or Peers"},
	}
	for _, tt := range tests {
		m := New("1.2.0")
		m.Apply(snapshot(apitype.StateUp, tt.peers...))
		tip := m.TrayTooltip()
		if tt.want == "" && strings.Contains(tip, "relay") || tt.want != "" && !strings.Contains(tip, tt.want) {
			t.Errorf("tooltip %q, want the relay line %q", tip, tt.want)
		}
	}
}
