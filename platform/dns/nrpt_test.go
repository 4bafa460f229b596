package dns

import (
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeRegistry is an in-memory HKEY_LOCAL_MACHINE.
type fakeRegistry struct {
	keys    map[string][]regValue // path -> values
	failOn  string                // WriteValues on this path fails
	deletes []string
}

func newFakeRegistry() *fakeRegistry { return &fakeRegistry{keys: make(map[string][]regValue)} }

func (r *fakeRegistry) SubKeyNames(path string) ([]string, error) {
	var out []string
	for k := range r.keys {
		if rest, ok := strings.CutPrefix(k, path+`\`); ok && !strings.Contains(rest, `\`) {
			out = append(out, rest)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (r *fakeRegistry) WriteValues(path string, vals []regValue) error {
	if path == r.failOn {
		return errors.New("access denied")
	}
	// Like the registry: values are set one by one, others stay.
	for _, v := range vals {
		r.keys[path] = slices.DeleteFunc(r.keys[path], func(o regValue) bool { return o.Name == v.Name })
		r.keys[path] = append(r.keys[path], v)
	}
	return nil
}

func (r *fakeRegistry) DeleteKey(path string) (bool, error) {
	r.deletes = append(r.deletes, path)
	_, ok := r.keys[path]
	delete(r.keys, path)
	return ok, nil
}

func (r *fakeRegistry) DeleteValue(path, name string) error {
	r.keys[path] = slices.DeleteFunc(r.keys[path], func(v regValue) bool { return v.Name == name })
	if len(r.keys[path]) == 0 {
		delete(r.keys, path)
	}
	return nil
}

type fakeSystem struct{ refreshes, flushes int }

func (s *fakeSystem) RefreshPolicy() error { s.refreshes++; return nil }
func (s *fakeSystem) FlushCache() error    { s.flushes++; return nil }

const (
	localKey = nrptBaseLocal + `\` + nrptRuleID
	gpKey    = nrptBaseGP + `\` + nrptRuleID
)

func newNRPT(t *testing.T, reg *fakeRegistry, sys *fakeSystem, stateDir string) *nrptManager {
	return &nrptManager{
		reg: reg, sys: sys, stateDir: stateDir, log: testLog(t),
		upstreams: func(skip []netip.Addr) ([]netip.AddrPort, error) {
			return toUpstreams([]netip.Addr{netip.MustParseAddr("198.18.0.53"), magic4}, skip), nil
		},
	}
}

func TestNRPTValues(t *testing.T) {
	got := nrptValues([]string{"ray", "home.ray"}, magic)
	want := []regValue{
		{Name: "Version", Kind: regDWord, DWord: 2},
		{Name: "Name", Kind: regMultiString, Strs: []string{".ray", ".home.ray"}},
		{Name: "GenericDNSServers", Kind: regString, Str: "100.100.100.53; fd72:6179:6669::53"},
		{Name: "ConfigOptions", Kind: regDWord, DWord: 8},
		{Name: "IPSECCARestriction", Kind: regString, Str: ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Kind != w.Kind || g.Str != w.Str || g.DWord != w.DWord || !slices.Equal(g.Strs, w.Strs) {
			t.Errorf("value %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestNRPTApplyRestoreLocal(t *testing.T) {
	reg, sys, stateDir := newFakeRegistry(), &fakeSystem{}, t.TempDir()
	m := newNRPT(t, reg, sys, stateDir)
	if m.Mode() != ModeNRPT {
		t.Errorf("Mode() = %q", m.Mode())
	}
	if err := m.Apply(Config{Interface: "rayfish", Nameservers: magic, Domains: []string{"~ray."}}); err != nil {
		t.Fatal(err)
	}
	vals, ok := reg.keys[localKey]
	if !ok {
		t.Fatalf("no rule at %s; keys %v", localKey, reg.keys)
	}
	if vals[1].Name != "Name" || !slices.Equal(vals[1].Strs, []string{".ray"}) {
		t.Errorf("rule names %+v", vals[1])
	}
	if _, ok := reg.keys[gpKey]; ok {
		t.Error("rule written to the group policy table although it holds no other rule")
	}
	if sys.refreshes != 0 || sys.flushes != 1 {
		t.Errorf("refreshes %d flushes %d, want 0 and 1", sys.refreshes, sys.flushes)
	}
	st, err := loadState(stateDir)
	if err != nil || st == nil || st.Mode != ModeNRPT {
		t.Fatalf("state = %+v, %v", st, err)
	}
	ups, err := m.Upstreams(magic...)
	if err != nil || !slices.Equal(ups, []netip.AddrPort{netip.MustParseAddrPort("198.18.0.53:53")}) {
		t.Errorf("Upstreams = %v, %v", ups, err)
	}

	// A restarted daemon (a new manager) restores from the backup.
	m2 := newNRPT(t, reg, sys, stateDir)
	if err := m2.Restore(); err != nil {
		t.Fatal(err)
	}
	if len(reg.keys) != 0 {
		t.Errorf("keys left after Restore: %v", reg.keys)
	}
	if exists(statePath(stateDir)) {
		t.Error("backup left after Restore")
	}
	// Restore without a backup touches nothing.
	reg.deletes = nil
	if err := m2.Restore(); err != nil || len(reg.deletes) != 0 {
		t.Errorf("Restore without backup: %v, deletes %v", err, reg.deletes)
	}
}

func TestNRPTGroupPolicy(t *testing.T) {
	reg, sys := newFakeRegistry(), &fakeSystem{}
	other := nrptBaseGP + `\{00000000-0000-0000-0000-000000000001}`
	reg.keys[other] = []regValue{{Name: "Name", Kind: regMultiString, Strs: []string{".corp"}}}
	m := newNRPT(t, reg, sys, t.TempDir())
	if err := m.Apply(Config{Nameservers: magic[:1], Domains: []string{"ray"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.keys[gpKey]; !ok {
		t.Error("rule not written to the group policy table that holds other rules")
	}
	if _, ok := reg.keys[localKey]; !ok {
		t.Error("rule not written to the local table")
	}
	if sys.refreshes != 1 {
		t.Errorf("refreshes = %d, want 1", sys.refreshes)
	}
	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.keys[other]; !ok {
		t.Error("Restore removed someone else's rule")
	}
	if len(reg.keys) != 1 {
		t.Errorf("keys after Restore: %v", reg.keys)
	}
	if sys.refreshes != 2 {
		t.Errorf("refreshes = %d after removing the group policy rule, want 2", sys.refreshes)
	}
}

func TestNRPTWriteFailureRollsBack(t *testing.T) {
	reg, sys := newFakeRegistry(), &fakeSystem{}
	reg.keys[nrptBaseGP+`\{other}`] = nil
	reg.failOn = gpKey
	stateDir := filepath.Join(t.TempDir(), "state")
	m := newNRPT(t, reg, sys, stateDir)
	if err := m.Apply(Config{Nameservers: magic, Domains: []string{"ray"}}); err == nil {
		t.Fatal("Apply succeeded although a write failed")
	}
	if _, ok := reg.keys[localKey]; ok {
		t.Error("local rule left after a failed Apply")
	}
	if exists(statePath(stateDir)) {
		t.Error("backup left after a failed Apply")
	}
}

func TestNRPTValidates(t *testing.T) {
	m := newNRPT(t, newFakeRegistry(), &fakeSystem{}, t.TempDir())
	if err := m.Apply(Config{Nameservers: magic}); err == nil {
		t.Error("Apply without domains succeeded")
	}
}

func TestSuffixPlan(t *testing.T) {
	key, vals := suffixPlan("{guid}", []string{"Ray", "home.ray"})
	if key != tcpipInterfaces+`\{guid}` || len(vals) != 1 || vals[0].Name != "Domain" || vals[0].Kind != regString || vals[0].Str != "ray" {
		t.Errorf("suffixPlan = %q %+v", key, vals)
	}
	if key, _ := suffixPlan("{guid}", nil); key != "" {
		t.Errorf("no search domains: key %q", key)
	}
	if key, _ := suffixPlan("", []string{"ray"}); key != "" {
		t.Errorf("no interface: key %q", key)
	}
}

// The TUN's DNS suffix makes bare names resolve; Restore and crash
// recovery take it away again.
func TestNRPTSearchSuffix(t *testing.T) {
	reg, sys := newFakeRegistry(), &fakeSystem{}
	stateDir := t.TempDir()
	m := newNRPT(t, reg, sys, stateDir)
	m.ifaceGUID = func(name string) (string, error) {
		if name != "rayfish0" {
			t.Errorf("GUID asked for %q", name)
		}
		return "{0000-tun}", nil
	}
	ifKey := tcpipInterfaces + `\{0000-tun}`
	reg.keys[ifKey] = []regValue{{Name: "EnableDHCP", Kind: regDWord}}
	cfg := Config{Interface: "rayfish0", Nameservers: magic, Domains: []string{"ray"}, Search: []string{"ray", "home.ray"}}
	if err := m.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(reg.keys[ifKey], func(v regValue) bool { return v.Name == "Domain" && v.Str == "ray" }) {
		t.Fatalf("interface values %+v: no DNS suffix", reg.keys[ifKey])
	}
	if err := m.Restore(); err != nil {
		t.Fatal(err)
	}
	if vals := reg.keys[ifKey]; len(vals) != 1 || vals[0].Name != "EnableDHCP" {
		t.Errorf("after Restore interface values %+v, want only the others'", vals)
	}

	// Crash: the next start's recovery removes it too.
	if err := m.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	st, err := loadState(stateDir)
	if err != nil || st == nil || st.SuffixKey != ifKey {
		t.Fatalf("backup %+v %v: want the suffix key", st, err)
	}
	if err := deleteNRPTRule(reg, sys, st, testLog(t)); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(reg.keys[ifKey], func(v regValue) bool { return v.Name == "Domain" }) {
		t.Error("suffix left after crash recovery")
	}
}
