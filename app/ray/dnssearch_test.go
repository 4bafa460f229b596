package main

import (
	"log/slog"
	"net/netip"
	"slices"
	"testing"

	"github.com/rayfish/rayfish/platform/dns"
)

func TestSearchDomains(t *testing.T) {
	tests := []struct {
		networks []string
		want     []string
	}{
		{nil, []string{"ray"}},
		{[]string{"home"}, []string{"ray", "home.ray"}},
		{[]string{"Home", "my net", "home", "!!!"}, []string{"ray", "home.ray", "my-net.ray"}},
		{[]string{"a", "b", "c", "d", "e", "f", "g"}, []string{"ray", "a.ray", "b.ray", "c.ray", "d.ray", "e.ray"}},
	}
	for _, tt := range tests {
		if got := searchDomains(tt.networks); !slices.Equal(got, tt.want) {
			t.Errorf("searchDomains(%q) = %q, want %q", tt.networks, got, tt.want)
		}
	}
}

// fakeDNS records what the daemon asks of the OS resolver.
type fakeDNS struct {
	applied  []dns.Config
	restored int
}

func (f *fakeDNS) Apply(c dns.Config) error { f.applied = append(f.applied, c); return nil }
func (f *fakeDNS) Restore() error           { f.restored++; return nil }
func (f *fakeDNS) Mode() string             { return "fake" }
func (f *fakeDNS) Upstreams(...netip.Addr) ([]netip.AddrPort, error) {
	return nil, nil
}

func TestSearchDomainsFollowNetworks(t *testing.T) {
	f := &fakeDNS{}
	tc := &tunConfig{name: "rayfish0", dns: f, log: slog.New(slog.DiscardHandler)}
	// Networks known while down: remembered, nothing applied.
	tc.setNetworks([]string{"home"})
	if len(f.applied) != 0 {
		t.Fatalf("applied while down: %+v", f.applied)
	}
	tc.applyDNS("rayfish0")
	if len(f.applied) != 1 || !slices.Equal(f.applied[0].Search, []string{"ray", "home.ray"}) {
		t.Fatalf("applied %+v, want search ray home.ray", f.applied)
	}
	tc.setNetworks([]string{"home"}) // no change: no rewrite
	tc.setNetworks([]string{"home", "work"})
	if len(f.applied) != 2 || !slices.Equal(f.applied[1].Search, []string{"ray", "home.ray", "work.ray"}) {
		t.Fatalf("after joining work: %+v", f.applied)
	}
	tc.restoreDNS()
	tc.setNetworks([]string{"home"}) // down again: the system's config stays
	if len(f.applied) != 2 || f.restored != 1 {
		t.Fatalf("after Down: applied %d, restored %d", len(f.applied), f.restored)
	}
}
