package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestResolvedSetPlan(t *testing.T) {
	plan := resolvedSetPlan(7, "ray0", magic, []string{"ray", "home.ray", "lab.ray"}, []string{"ray", "home.ray"})
	// D-Bus signatures of org.freedesktop.resolve1.Manager's methods.
	wantSig := map[string]string{
		"SetLinkDNS":          "ia(iay)",
		"SetLinkDomains":      "ia(sb)",
		"SetLinkDefaultRoute": "ib",
		"SetLinkLLMNR":        "is",
		"SetLinkMulticastDNS": "is",
		"SetLinkDNSSEC":       "is",
		"SetLinkDNSOverTLS":   "is",
		"FlushCaches":         "",
		"RevertLink":          "i",
	}
	wantCmd := map[string]string{
		"SetLinkDNS":          "dns ray0 100.100.100.53 fd72:6179:6669::53",
		"SetLinkDomains":      "domain ray0 ray home.ray ~lab.ray",
		"SetLinkDefaultRoute": "default-route ray0 false",
		"SetLinkLLMNR":        "llmnr ray0 no",
		"SetLinkMulticastDNS": "mdns ray0 no",
		"SetLinkDNSSEC":       "dnssec ray0 no",
		"SetLinkDNSOverTLS":   "dnsovertls ray0 no",
		"FlushCaches":         "flush-caches",
		"RevertLink":          "revert ray0",
	}
	var methods []string
	for _, c := range append(plan, resolvedRevertPlan(7, "ray0")...) {
		methods = append(methods, c.Method)
		if got := dbus.SignatureOf(c.Args...).String(); got != wantSig[c.Method] {
			t.Errorf("%s: D-Bus signature %q, want %q", c.Method, got, wantSig[c.Method])
		}
		if got := strings.Join(c.Cmd, " "); got != wantCmd[c.Method] {
			t.Errorf("%s: resolvectl %q, want %q", c.Method, got, wantCmd[c.Method])
		}
		if len(c.Args) > 0 && c.Args[0] != int32(7) {
			t.Errorf("%s: ifindex argument %v", c.Method, c.Args[0])
		}
	}
	if want := []string{"SetLinkDNS", "SetLinkDomains", "SetLinkDefaultRoute", "SetLinkLLMNR", "SetLinkMulticastDNS",
		"SetLinkDNSSEC", "SetLinkDNSOverTLS", "FlushCaches", "RevertLink", "FlushCaches"}; !slices.Equal(methods, want) {
		t.Errorf("methods %v, want %v", methods, want)
	}
	if plan[0].Optional || plan[1].Optional {
		t.Error("DNS servers and domains must be required steps")
	}

	addrs := plan[0].Args[1].([]resolvedAddr)
	if addrs[0].Family != afInet || !slices.Equal(addrs[0].Address, []byte{100, 100, 100, 53}) {
		t.Errorf("IPv4 server %+v", addrs[0])
	}
	if addrs[1].Family != afInet6 || len(addrs[1].Address) != 16 {
		t.Errorf("IPv6 server %+v", addrs[1])
	}
	doms := plan[1].Args[1].([]resolvedDomain)
	if !slices.Equal(doms, []resolvedDomain{{"ray", false}, {"home.ray", false}, {"lab.ray", true}}) {
		t.Errorf("domains %+v", doms)
	}
}

// fakeBackend records the plans it runs and fails the methods in fail.
type fakeBackend struct {
	calls []string
	fail  map[string]bool
}

func (b *fakeBackend) do(_ context.Context, calls []linkCall, log *slog.Logger) error {
	return runPlan(calls, log, func(c linkCall) error {
		b.calls = append(b.calls, c.Method)
		if b.fail[c.Method] {
			return errors.New("org.freedesktop.DBus.Error.UnknownMethod")
		}
		return nil
	})
}

func newFakeResolved(t *testing.T, links map[string]int) (*resolvedManager, *fakeBackend, string) {
	b := &fakeBackend{fail: map[string]bool{}}
	stateDir := filepath.Join(t.TempDir(), "state")
	m := newResolvedManager(ModeResolved, b, stateDir, testLog(t))
	m.ifindex = func(name string) (int, error) {
		if i, ok := links[name]; ok {
			return i, nil
		}
		return 0, fmt.Errorf("%w: %q", errNoLink, name)
	}
	return m, b, stateDir
}

func TestResolvedManagerApplyRestore(t *testing.T) {
	links := map[string]int{"ray0": 7}
	m, b, stateDir := newFakeResolved(t, links)
	b.fail["SetLinkDNSOverTLS"] = true // optional: old resolved
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	if len(b.calls) != 8 {
		t.Errorf("calls %v, want the whole set plan", b.calls)
	}
	st, err := loadState(stateDir)
	if err != nil || st == nil || st.Interface != "ray0" || st.Index != 7 || st.Mode != ModeResolved {
		t.Fatalf("state %+v, %v", st, err)
	}

	b.calls = nil
	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.calls, []string{"RevertLink", "FlushCaches"}) {
		t.Errorf("Restore calls %v", b.calls)
	}
	if exists(statePath(stateDir)) {
		t.Error("backup left after Restore")
	}
}

func TestResolvedManagerRequiredFailureReverts(t *testing.T) {
	m, b, stateDir := newFakeResolved(t, map[string]int{"ray0": 7})
	b.fail["SetLinkDomains"] = true
	if err := m.Apply(applyCfg); err == nil {
		t.Fatal("Apply succeeded although SetLinkDomains failed")
	}
	if !slices.Equal(b.calls, []string{"SetLinkDNS", "SetLinkDomains", "RevertLink", "FlushCaches"}) {
		t.Errorf("calls %v, want the set plan up to the failure, then a revert", b.calls)
	}
	if exists(statePath(stateDir)) {
		t.Error("backup left after a failed Apply")
	}
}

func TestResolvedManagerLinkGone(t *testing.T) {
	links := map[string]int{"ray0": 7}
	m, b, stateDir := newFakeResolved(t, links)
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	delete(links, "ray0") // the TUN went away with the daemon
	b.calls = nil
	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if len(b.calls) != 0 {
		t.Errorf("calls %v for a link that is gone", b.calls)
	}
	if exists(statePath(stateDir)) {
		t.Error("backup left")
	}

	if err := m.Apply(Config{Interface: "missing", Nameservers: magic, Domains: []string{"ray"}}); !errors.Is(err, errNoLink) {
		t.Errorf("Apply on a missing link = %v", err)
	}
}

func TestResolvedManagerRelinks(t *testing.T) {
	links := map[string]int{"ray0": 7}
	m, b, _ := newFakeResolved(t, links)
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	links["ray0"] = 9 // the TUN was recreated; the old index is gone
	b.calls = nil
	if err := m.Apply(applyCfg); err != nil {
		t.Fatal(err)
	}
	if b.calls[0] != "SetLinkDNS" {
		t.Errorf("calls %v: reverting a stale index would hit another link", b.calls)
	}
}

func TestResolvedManagerValidates(t *testing.T) {
	m, b, _ := newFakeResolved(t, map[string]int{"ray0": 7})
	for _, cfg := range []Config{
		{Interface: "ray0", Nameservers: magic},
		{Interface: "ray0", Nameservers: magic, Domains: []string{"a b"}},
		{Interface: "ray0"},
	} {
		if err := m.Apply(cfg); err == nil {
			t.Errorf("Apply(%+v) succeeded", cfg)
		}
	}
	if len(b.calls) != 0 {
		t.Errorf("calls %v for invalid configs", b.calls)
	}
}

func TestResolvedUpstreams(t *testing.T) {
	dir := t.TempDir()
	m, _, _ := newFakeResolved(t, nil)
	m.upstreamsFile = filepath.Join(dir, "resolv.conf")

	ups, err := m.Upstreams(magic...)
	if err != nil || !slices.Equal(ups, []netip.AddrPort{resolvedStub}) {
		t.Errorf("Upstreams without the file = %v, %v; want the stub", ups, err)
	}
	writeFile(t, m.upstreamsFile, "# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\n"+
		"nameserver 198.18.0.53\nnameserver 100.100.100.53\nnameserver 127.0.0.53\nsearch .\n", 0o644)
	ups, err = m.Upstreams(magic...)
	if err != nil || !slices.Equal(ups, []netip.AddrPort{netip.MustParseAddrPort("198.18.0.53:53")}) {
		t.Errorf("Upstreams = %v, %v", ups, err)
	}
}

func TestChooseLinuxMode(t *testing.T) {
	tests := []struct {
		p    linuxProbe
		want string
	}{
		{linuxProbe{}, ModeResolvConf},
		{linuxProbe{busResolved: true}, ModeResolvConf}, // resolved runs but nobody asks it
		{linuxProbe{usesResolved: true, busResolved: true, cliResolved: true}, ModeResolved},
		{linuxProbe{usesResolved: true, cliResolved: true}, ModeResolvectl},
		{linuxProbe{usesResolved: true}, ModeResolvConf}, // unreachable: another netns
	}
	for _, tt := range tests {
		if got := chooseLinuxMode(tt.p); got != tt.want {
			t.Errorf("chooseLinuxMode(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestResolvConfUsesResolved(t *testing.T) {
	tests := []struct {
		symlink, content string
		want             bool
	}{
		{"../run/systemd/resolve/stub-resolv.conf", "", true},
		{"/run/systemd/resolve/resolv.conf", "nameserver 198.18.0.53", true},
		{"", "# This file is managed by man:systemd-resolved(8). Do not edit.\nnameserver 127.0.0.53\n", true},
		{"", "nameserver 127.0.0.53\noptions edns0 trust-ad\n", true},
		{"", "nameserver 198.18.0.53\n", false},
		{"/run/resolvconf/resolv.conf", "nameserver 198.18.0.53\n", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := resolvConfUsesResolved(tt.symlink, []byte(tt.content)); got != tt.want {
			t.Errorf("resolvConfUsesResolved(%q, %q) = %v", tt.symlink, tt.content, got)
		}
	}
	nss := map[string]bool{
		"hosts: files dns\n": false,
		"hosts: files resolve [!UNAVAIL=return] dns myhostname\n":     true,
		"# hosts: resolve\nhosts: files dns\n":                        false,
		"passwd: files\nhosts:   mymachines resolve files myhostname": true,
		"hosts: files dns # resolve later":                            false,
	}
	for content, want := range nss {
		if got := nsswitchUsesResolve([]byte(content)); got != want {
			t.Errorf("nsswitchUsesResolve(%q) = %v", content, got)
		}
	}
}

func TestMountPoint(t *testing.T) {
	if !isMountPoint("/proc") {
		t.Error("/proc is not reported as a mount point")
	}
	f := filepath.Join(t.TempDir(), "file")
	writeFile(t, f, "x", 0o644)
	if isMountPoint(f) {
		t.Errorf("%s reported as a mount point", f)
	}
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/x\134y`: `/x\y`, `/bad\09`: `/bad\09`, `/end\04`: `/end\04`} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSameNetns(t *testing.T) {
	if !sameNetns(os.Getpid()) {
		t.Error("this process is not in its own network namespace")
	}
	if sameNetns(1 << 30) {
		t.Error("a nonexistent process shares our namespace")
	}
}
