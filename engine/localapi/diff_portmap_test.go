package localapi

import (
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestDiffPortMapping: the port mappings and the member relay travel in
// the watch stream as a "self" event when they change (the window's
// Diagnostics tab follows them), and an unchanged copy is no event.
func TestDiffPortMapping(t *testing.T) {
	status := func(mapped bool) *apitype.Status {
		st := &apitype.Status{State: "up", Self: apitype.Self{ID: "n1",
			PortMapping: &apitype.NetcheckPortMapping{Error: "looking for a gateway that maps ports"},
			MemberRelay: &apitype.MemberRelay{Why: "not reachable: no public address, and the gateway maps no UDP port yet"}}}
		if mapped {
			st.Self.PortMapping = &apitype.NetcheckPortMapping{Protocol: "pcp", External: "198.18.7.7:41641", LeaseS: 7200,
				RelayTCP: &apitype.RelayPortMapping{Port: 41383, Protocol: "pcp", External: "198.18.7.7:41383", LeaseS: 7200}}
			st.Self.MemberRelay = &apitype.MemberRelay{Serving: true, URL: "http://198.18.7.7:41383", Via: apitype.MemberRelayMapped}
		}
		return st
	}
	evs := Diff(status(false), status(true))
	if len(evs) != 1 || evs[0].Type != apitype.EventSelf || evs[0].Self.PortMapping.RelayTCP == nil || !evs[0].Self.MemberRelay.Serving {
		t.Fatalf("mapped: %+v", evs)
	}
	evs = Diff(status(true), status(false))
	if len(evs) != 1 || evs[0].Type != apitype.EventSelf || evs[0].Self.PortMapping.RelayTCP != nil || evs[0].Self.MemberRelay.Serving {
		t.Fatalf("mapping gone: %+v", evs)
	}
	if evs := Diff(status(true), status(true)); len(evs) != 0 {
		t.Errorf("unchanged mappings gave %+v", evs)
	}
}
