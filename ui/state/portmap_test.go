package state

import (
	"slices"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestPortMapRows: the router's mappings and the member relay in plain
// words, for each state the daemon reports.
func TestPortMapRows(t *testing.T) {
	renew := time.Date(2026, 12, 5, 2, 30, 0, 0, time.Local)
	udp := apitype.NetcheckPortMapping{Protocol: "nat-pmp", External: "198.18.100.11:41641", LeaseS: 7200, RenewAt: renew, Gateway: "198.19.1.1"}
	both := udp
	both.RelayTCP = &apitype.RelayPortMapping{Port: 41383, Protocol: "nat-pmp", External: "198.18.100.11:41383", LeaseS: 7200, RenewAt: renew}
	refused := udp
	refused.RelayTCP = &apitype.RelayPortMapping{Port: 41383, Error: "nat-pmp: refused"}
	udpRow := Row{Label: "Port mapping (UDP)", Value: "198.18.100.11:41641 by NAT-PMP, lease 2h0m0s, renewed at 02:30:00, router 198.19.1.1", Copy: "198.18.100.11:41641"}
	for _, tc := range []struct {
		name string
		pm   *apitype.NetcheckPortMapping
		mr   *apitype.MemberRelay
		want []Row
	}{
		{name: "older daemon", want: []Row{{Label: "Port mapping", Value: "Unknown: the daemon does not report it (an older daemon?)."}}},
		{name: "off", pm: &apitype.NetcheckPortMapping{Error: "off (ray config set portmap off)"},
			mr: &apitype.MemberRelay{Why: "not reachable: no public address, and port mapping is off (ray config set portmap off)"},
			want: []Row{
				{Label: "Port mapping (UDP)", Value: "none: off (ray config set portmap off)"},
				{Label: "Member relay", Value: "not serving: not reachable: no public address, and port mapping is off (ray config set portmap off)"},
			}},
		{name: "UDP only", pm: &udp, mr: &apitype.MemberRelay{Why: "off (ray config set serve-relay off)"},
			want: []Row{udpRow, {Label: "Member relay", Value: "not serving: off (ray config set serve-relay off)"}}},
		{name: "both mapped, serving", pm: &both, mr: &apitype.MemberRelay{Serving: true, URL: "http://198.18.100.11:41383", Via: apitype.MemberRelayMapped},
			want: []Row{udpRow,
				{Label: "Port mapping (relay TCP)", Value: "198.18.100.11:41383 → port 41383 by NAT-PMP, lease 2h0m0s, renewed at 02:30:00", Copy: "198.18.100.11:41383"},
				{Label: "Member relay", Value: "serving http://198.18.100.11:41383 (through the port mapping)", Copy: "http://198.18.100.11:41383"},
			}},
		{name: "TCP refused", pm: &refused, mr: &apitype.MemberRelay{Why: "not reachable yet: the gateway has not mapped the relay's TCP port 41383: nat-pmp: refused"},
			want: []Row{udpRow,
				{Label: "Port mapping (relay TCP)", Value: "port 41383 not mapped: nat-pmp: refused"},
				{Label: "Member relay", Value: "not serving: not reachable yet: the gateway has not mapped the relay's TCP port 41383: nat-pmp: refused"},
			}},
		{name: "public address", pm: &apitype.NetcheckPortMapping{}, mr: &apitype.MemberRelay{Serving: true, URL: "http://203.0.113.7:41383", Via: apitype.MemberRelayConfigured},
			want: []Row{
				{Label: "Port mapping (UDP)", Value: "none"},
				{Label: "Member relay", Value: "serving http://203.0.113.7:41383 (--serve-relay, or this device's public address)", Copy: "http://203.0.113.7:41383"},
			}},
	} {
		if got := PortMapRows(tc.pm, tc.mr); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// TestModelPortMapRows: the rows follow the watch stream's self events:
// the relay's mapping and URL appear with the mappings and go with them.
func TestModelPortMapRows(t *testing.T) {
	m := New("1.2.0")
	if m.PortMapRows() != nil {
		t.Fatal("rows before the snapshot")
	}
	ev := snapshot(apitype.StateUp)
	ev.Status.Self.PortMapping = &apitype.NetcheckPortMapping{Error: "looking for a gateway that maps ports"}
	ev.Status.Self.MemberRelay = &apitype.MemberRelay{Why: "not reachable: no public address, and the gateway maps no UDP port yet"}
	m.Apply(ev)
	labels := func() []string {
		var l []string
		for _, r := range m.PortMapRows() {
			l = append(l, r.Label+": "+r.Value)
		}
		return l
	}
	want := []string{"Port mapping (UDP): none: looking for a gateway that maps ports", "Member relay: not serving: not reachable: no public address, and the gateway maps no UDP port yet"}
	if got := labels(); !slices.Equal(got, want) {
		t.Fatalf("before mapping: %q", got)
	}
	self := ev.Status.Self
	self.PortMapping = &apitype.NetcheckPortMapping{Protocol: "pcp", External: "198.18.7.7:41641", LeaseS: 7200,
		RelayTCP: &apitype.RelayPortMapping{Port: 41383, Protocol: "pcp", External: "198.18.7.7:41383", LeaseS: 7200}}
	self.MemberRelay = &apitype.MemberRelay{Serving: true, URL: "http://198.18.7.7:41383", Via: apitype.MemberRelayMapped}
	m.Apply(apitype.WatchEvent{Type: apitype.EventSelf, Self: &self})
	want = []string{
		"Port mapping (UDP): 198.18.7.7:41641 by PCP, lease 2h0m0s",
		"Port mapping (relay TCP): 198.18.7.7:41383 → port 41383 by PCP, lease 2h0m0s",
		"Member relay: serving http://198.18.7.7:41383 (through the port mapping)",
	}
	if got := labels(); !slices.Equal(got, want) {
		t.Fatalf("mapped: %q", got)
	}
	self = ev.Status.Self
	m.Apply(apitype.WatchEvent{Type: apitype.EventSelf, Self: &self})
	if got := labels(); len(got) != 2 || got[1] != "Member relay: not serving: not reachable: no public address, and the gateway maps no UDP port yet" {
		t.Fatalf("mapping gone: %q", got)
	}
	m.DaemonGone(nil)
	if m.PortMapRows() != nil {
		t.Error("rows kept after the daemon went away")
	}
}
