package localapi

import (
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// TestDiffDNS: a change of DNS health is one "dns" event carrying the new
// health; the same health (a fresh copy) is no event.
func TestDiffDNS(t *testing.T) {
	ok := &apitype.Status{State: "up", DNS: &apitype.DNSHealth{State: apitype.DNSOK, Mode: "resolv.conf", Detail: "fine"}}
	okAgain := &apitype.Status{State: "up", DNS: &apitype.DNSHealth{State: apitype.DNSOK, Mode: "resolv.conf", Detail: "fine"}}
	bad := &apitype.Status{State: "up", DNS: &apitype.DNSHealth{State: apitype.DNSNotApplied, Mode: "resolv.conf", Detail: "rewritten"}}
	evs := Diff(ok, bad)
	if len(evs) != 1 || evs[0].Type != apitype.EventDNS || evs[0].DNS == nil || evs[0].DNS.State != apitype.DNSNotApplied {
		t.Fatalf("ok -> not applied: %+v", evs)
	}
	if evs := Diff(ok, okAgain); len(evs) != 0 {
		t.Errorf("unchanged health gave %+v", evs)
	}
}
