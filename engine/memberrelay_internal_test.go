package engine

import (
	"net/netip"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/portmap"
)

// TestServeMemberRelay: a member relay is served when asked, or by
// default when the node is reachable (public address or port mapping),
// and `ray config set serve-relay off` turns the default off.
func TestServeMemberRelay(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		asked, pref, public, mapped bool
		want                        bool
	}{
		{name: "public address", pref: true, public: true, want: true},
		{name: "mapped port", pref: true, mapped: true, want: true},
		{name: "public and mapped", pref: true, public: true, mapped: true, want: true},
		{name: "neither", pref: true, want: false},
		{name: "user off, public", public: true, want: false},
		{name: "user off, mapped", mapped: true, want: false},
		{name: "asked with --serve-relay", asked: true, want: true},
		{name: "asked, user off", asked: true, public: true, want: true},
	} {
		if got := ServeMemberRelay(tc.asked, tc.pref, tc.public, tc.mapped); got != tc.want {
			t.Errorf("%s: ServeMemberRelay = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestMappedRelayFor: the mapped member relay needs both mappings (UDP:
// reachable, TCP: the relay), a relay port and the preference.
func TestMappedRelayFor(t *testing.T) {
	udp := portmap.Status{Mapping: portmap.Mapping{External: netip.MustParseAddrPort("198.18.100.11:41641")}}
	tcp := portmap.Status{Mapping: portmap.Mapping{External: netip.MustParseAddrPort("198.18.100.11:41384")}}
	for _, tc := range []struct {
		name     string
		pref     bool
		port     uint16
		udp, tcp portmap.Status
		want     string
	}{
		{name: "both mapped", pref: true, port: 41383, udp: udp, tcp: tcp, want: "http://198.18.100.11:41384"},
		{name: "UDP only", pref: true, port: 41383, udp: udp},
		{name: "TCP only", pref: true, port: 41383, tcp: tcp},
		{name: "user off", port: 41383, udp: udp, tcp: tcp},
		{name: "no relay port", pref: true, udp: udp, tcp: tcp},
	} {
		r := mappedRelayFor(tc.pref, tc.port, tc.udp, tc.tcp)
		got := ""
		if r != nil {
			got = r.url
			if r.local != "127.0.0.1:41383" || r.ext != tcp.External {
				t.Errorf("%s: %+v, want dialled on 127.0.0.1:41383", tc.name, r)
			}
		}
		if got != tc.want {
			t.Errorf("%s: mapped relay %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestMemberRelayWhy: a node that serves no member relay says why, from
// the preference, a busy port and its port mappings.
func TestMemberRelayWhy(t *testing.T) {
	udp := apitype.NetcheckPortMapping{Protocol: "pcp", External: "198.18.100.11:41641", LeaseS: 7200}
	tcpAsking := udp
	tcpAsking.RelayTCP = &apitype.RelayPortMapping{Port: 41383, Error: "asking the gateway"}
	for _, tc := range []struct {
		name string
		pref bool
		busy string
		port uint16
		pm   apitype.NetcheckPortMapping
		want string
	}{
		{name: "user off", port: 41383, pm: udp, want: "off (ray config set serve-relay off)"},
		{name: "port busy", pref: true, busy: "port 41383 busy: address already in use", pm: udp, want: "port 41383 busy: address already in use"},
		{name: "--no-portmap", pref: true, pm: apitype.NetcheckPortMapping{Error: "off (ray daemon --no-portmap)"},
			want: "not reachable: no public address, and port mapping is off (ray daemon --no-portmap)"},
		{name: "portmap pref off", pref: true, port: 41383, pm: apitype.NetcheckPortMapping{Error: "off (ray config set portmap off)"},
			want: "not reachable: no public address, and port mapping is off (ray config set portmap off)"},
		{name: "no relay port", pref: true, pm: udp, want: "not reachable: no public address, and no relay port to map"},
		{name: "no UDP mapping", pref: true, port: 41383, pm: apitype.NetcheckPortMapping{Error: "no port mapping on gateway 198.19.1.1: pcp: timeout"},
			want: "not reachable: no public address, and the gateway maps no UDP port yet: no port mapping on gateway 198.19.1.1: pcp: timeout"},
		{name: "TCP not yet", pref: true, port: 41383, pm: tcpAsking,
			want: "not reachable yet: the gateway has not mapped the relay's TCP port 41383: asking the gateway"},
		{name: "no TCP mapper", pref: true, port: 41383, pm: udp,
			want: "not reachable yet: the gateway has not mapped the relay's TCP port 41383"},
	} {
		if got := memberRelayWhy(tc.pref, tc.busy, tc.port, tc.pm); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
