package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestPortMapLines: the port mapping, the member relay's TCP mapping and
// the member relay in the words `ray netcheck` and `ray status` print.
func TestPortMapLines(t *testing.T) {
	now := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	udp := apitype.NetcheckPortMapping{Protocol: "pcp", External: "198.18.100.11:41641", LeaseS: 7200,
		RenewAt: now.Add(59*time.Minute + 20*time.Second), Gateway: "198.19.1.1"}
	tcp := &apitype.RelayPortMapping{Port: 41383, Protocol: "pcp", External: "198.18.100.11:41384", LeaseS: 7200, RenewAt: now.Add(40 * time.Second)}
	both := udp
	both.RelayTCP = tcp
	unmapped := udp
	unmapped.RelayTCP = &apitype.RelayPortMapping{Port: 41383, Error: "pcp: NOT_AUTHORIZED"}
	serving := &apitype.MemberRelay{Serving: true, URL: "http://198.18.100.11:41384", Via: apitype.MemberRelayMapped}
	for _, tc := range []struct {
		name string
		pm   *apitype.NetcheckPortMapping
		mr   *apitype.MemberRelay
		want []string
	}{
		{name: "older daemon"},
		{name: "off", pm: &apitype.NetcheckPortMapping{Error: "off (ray daemon --no-portmap)"},
			mr: &apitype.MemberRelay{Why: "not reachable: no public address, and port mapping is off (ray daemon --no-portmap)"},
			want: []string{
				"port mapping:  none (off (ray daemon --no-portmap))",
				"member relay:  not serving: not reachable: no public address, and port mapping is off (ray daemon --no-portmap)",
			}},
		{name: "UDP only, serve-relay off", pm: &udp, mr: &apitype.MemberRelay{Why: "off (ray config set serve-relay off)"},
			want: []string{
				"port mapping:  UDP 198.18.100.11:41641 by pcp via 198.19.1.1, lease 2h0m0s, renews in 59m",
				"member relay:  not serving: off (ray config set serve-relay off)",
			}},
		{name: "both mapped", pm: &both, mr: serving,
			want: []string{
				"port mapping:  UDP 198.18.100.11:41641 by pcp via 198.19.1.1, lease 2h0m0s, renews in 59m",
				"relay mapping: TCP 198.18.100.11:41384 -> port 41383 by pcp, lease 2h0m0s, renews in 40s",
				"member relay:  serving http://198.18.100.11:41384 (through the port mapping)",
			}},
		{name: "TCP refused", pm: &unmapped, mr: &apitype.MemberRelay{Why: "not reachable yet: the gateway has not mapped the relay's TCP port 41383: pcp: NOT_AUTHORIZED"},
			want: []string{
				"port mapping:  UDP 198.18.100.11:41641 by pcp via 198.19.1.1, lease 2h0m0s, renews in 59m",
				"relay mapping: TCP port 41383 not mapped (pcp: NOT_AUTHORIZED)",
				"member relay:  not serving: not reachable yet: the gateway has not mapped the relay's TCP port 41383: pcp: NOT_AUTHORIZED",
			}},
		{name: "public address", pm: &apitype.NetcheckPortMapping{Error: "looking for a gateway that maps ports"},
			mr: &apitype.MemberRelay{Serving: true, URL: "http://203.0.113.7:41383", Via: apitype.MemberRelayConfigured},
			want: []string{
				"port mapping:  none (looking for a gateway that maps ports)",
				"member relay:  serving http://203.0.113.7:41383 (--serve-relay, or this host's public address)",
			}},
	} {
		var b bytes.Buffer
		printPortMap(&b, 15, tc.pm, tc.mr, now)
		got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if b.Len() == 0 {
			got = nil
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, b.String(), strings.Join(tc.want, "\n"))
		}
	}
}

// TestLeaseText: the lease and when the daemon renews it.
func TestLeaseText(t *testing.T) {
	now := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		lease int
		renew time.Time
		want  string
	}{
		{0, time.Time{}, ""},
		{7200, time.Time{}, ", lease 2h0m0s"},
		{7200, now.Add(time.Hour), ", lease 2h0m0s, renews in 1h0m"},
		{12, now.Add(5500 * time.Millisecond), ", lease 12s, renews in 6s"},
		{7200, now.Add(-time.Second), ", lease 2h0m0s, renewing"},
	} {
		if got := leaseText(tc.lease, tc.renew, now); got != tc.want {
			t.Errorf("leaseText(%d, %v) = %q, want %q", tc.lease, tc.renew.Sub(now), got, tc.want)
		}
	}
}

// TestPrintStatusPortMapping: `ray status` shows the port mappings and
// the member relay the daemon reports, and nothing about them when it
// reports none.
func TestPrintStatusPortMapping(t *testing.T) {
	pm := &apitype.NetcheckPortMapping{Protocol: "nat-pmp", External: "198.18.100.11:41641", LeaseS: 7200, Gateway: "198.19.1.1",
		RelayTCP: &apitype.RelayPortMapping{Port: 41383, Protocol: "nat-pmp", External: "198.18.100.11:41383", LeaseS: 7200}}
	st := &apitype.Status{State: apitype.StateUp, Self: apitype.Self{Hostname: "box", PortMapping: pm,
		MemberRelay: &apitype.MemberRelay{Serving: true, URL: "http://198.18.100.11:41383", Via: apitype.MemberRelayMapped}}}
	var b bytes.Buffer
	printStatus(&b, st)
	for _, want := range []string{
		"\nport mapping:  UDP 198.18.100.11:41641 by nat-pmp via 198.19.1.1, lease 2h0m0s\n",
		"\nrelay mapping: TCP 198.18.100.11:41383 -> port 41383 by nat-pmp, lease 2h0m0s\n",
		"\nmember relay:  serving http://198.18.100.11:41383 (through the port mapping)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	printStatus(&b, &apitype.Status{State: apitype.StateUp})
	if out := b.String(); strings.Contains(out, "port mapping") || strings.Contains(out, "member relay") {
		t.Errorf("status of a daemon that reports no port mapping:\n%s", out)
	}
}
