package main

import (
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/platform/dns"
)

func TestJudgeDNS(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		up         bool
		applyErr   string
		conf       string
		state      string
		detail     string
	}{
		{"off", "", true, "", "", apitype.DNSOff, "--no-dns"},
		{"down", dns.ModeResolvConf, false, "", "", apitype.DNSDown, "disconnected"},
		{"apply failed", dns.ModeResolved, true, "dbus: no link", "", apitype.DNSNotApplied, "dbus: no link"},
		{"resolved ok", dns.ModeResolved, true, "", "", apitype.DNSOK, "(resolved)"},
		{"resolv.conf ours", dns.ModeResolvConf, true, "", "# managed by rayfish\nnameserver 100.100.100.53\nnameserver 1.1.1.1\n", apitype.DNSOK, "names 100.100.100.53 first"},
		{"resolv.conf rewritten", dns.ModeResolvConf, true, "", "# dhcp\nnameserver 192.168.1.1\n", apitype.DNSNotApplied, "names 192.168.1.1 first, not 100.100.100.53: another program rewrote it"},
		{"resolv.conf empty", dns.ModeResolvConf, true, "", "search lan\n", apitype.DNSNotApplied, "names no server first"},
		{"resolv.conf ours second", dns.ModeResolvConf, true, "", "nameserver 9.9.9.9\nnameserver 100.100.100.53\n", apitype.DNSNotApplied, "9.9.9.9"},
	} {
		h := judgeDNS(tc.mode, tc.up, tc.applyErr, []byte(tc.conf))
		if h.State != tc.state || !strings.Contains(h.Detail, tc.detail) || h.Mode != tc.mode {
			t.Errorf("%s: %+v, want state %s with %q", tc.name, h, tc.state, tc.detail)
		}
	}
}

// TestDNSHealthFollowsApply: the health follows Apply's outcome and
// Restore, without waiting for the cache to expire.
func TestDNSHealthFollowsApply(t *testing.T) {
	tc := &tunConfig{dns: fakeModeManager{mode: dns.ModeResolved}}
	if h := tc.dnsHealth(); h.State != apitype.DNSDown {
		t.Fatalf("before Apply: %+v", h)
	}
	tc.health.noteApply(true, nil)
	if h := tc.dnsHealth(); h.State != apitype.DNSOK {
		t.Fatalf("after Apply: %+v", h)
	}
	tc.health.noteApply(true, errTest("link gone"))
	if h := tc.dnsHealth(); h.State != apitype.DNSNotApplied || !strings.Contains(h.Detail, "link gone") {
		t.Fatalf("after a failed Apply: %+v", h)
	}
	tc.health.noteApply(false, nil)
	if h := tc.dnsHealth(); h.State != apitype.DNSDown {
		t.Fatalf("after Restore: %+v", h)
	}
	if h := (&tunConfig{}).dnsHealth(); h.State != apitype.DNSOff {
		t.Fatalf("no manager: %+v", h)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

// fakeModeManager is a dns.Manager that only names its mode.
type fakeModeManager struct {
	dns.Manager
	mode string
}

func (f fakeModeManager) Mode() string { return f.mode }
