package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func TestPrintStatusRefused(t *testing.T) {
	st := &apitype.Status{
		State: apitype.StateUp,
		Self:  apitype.Self{Hostname: "box", IPv4: netip.MustParseAddr("100.64.0.1"), IPv6: netip.MustParseAddr("fd72:6179:6669::1")},
		Peers: []apitype.Peer{{
			Hostname: "nas", IPv6: netip.MustParseAddr("fd72:6179:6669::9"), Networks: []string{"work"},
			Path: apitype.PathNone, Refused: []netip.Addr{netip.MustParseAddr("100.64.9.9")},
			Warnings: []string{"address 100.64.9.9 (network work) refused: printer held it first"},
		}},
	}
	var b bytes.Buffer
	printStatus(&b, st)
	out := b.String()
	for _, want := range []string{
		"- (refused 100.64.9.9)",
		"warning: nas: address 100.64.9.9 (network work) refused: printer held it first",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "invalid IP") {
		t.Errorf("status prints an invalid address:\n%s", out)
	}
}
