package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Windows Name Resolution Policy Table. A rule is a registry key named by
// a GUID under one of two bases: the local table, read by the DNS client
// directly, and the Group Policy table, which replaces the local one
// entirely whenever it holds any rule. rayfish writes its rule to the
// local table, and to the Group Policy table too when that one holds
// rules of others (then a policy refresh makes it effective).
const (
	nrptBaseLocal = `SYSTEM\CurrentControlSet\Services\Dnscache\Parameters\DnsPolicyConfig`
	nrptBaseGP    = `SOFTWARE\Policies\Microsoft\Windows NT\DNSClient\DnsPolicyConfig`
	// nrptRuleID names rayfish's rule; it is fixed so that a restart
	// finds and removes a rule a crashed daemon left.
	nrptRuleID = "{7a1f0c52-3b6e-4d89-a5c4-72617966697e}"
	// nrptConfigOptions 8: use GenericDNSServers for matching names.
	nrptConfigOptions = 8
	// nrptVersion is the rule format PowerShell's Add-DnsClientNrptRule
	// writes.
	nrptVersion = 2
)

// Bare names (`ping bravo`): an NRPT rule only routes names, so the
// first search domain becomes the TUN interface's connection-specific
// DNS suffix (the "Domain" value of its TCP/IP settings), which Windows
// appends to single-label names unless a global suffix search list is
// configured. Restore deletes the value.
const (
	tcpipInterfaces = `SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces`
	suffixValue     = "Domain"
)

// suffixPlan returns the key of interface guid's TCP/IP settings and the
// value that makes the first search domain its DNS suffix; no key
// without a search domain or interface.
func suffixPlan(guid string, search []string) (string, []regValue) {
	s := searchList(search, nil)
	if guid == "" || len(s) == 0 {
		return "", nil
	}
	return tcpipInterfaces + `\` + guid, []regValue{{Name: suffixValue, Kind: regString, Str: s[0]}}
}

// regKind is a registry value type.
type regKind int

const (
	regString      regKind = iota // REG_SZ
	regMultiString                // REG_MULTI_SZ
	regDWord                      // REG_DWORD
)

// regValue is one named registry value.
type regValue struct {
	Name  string
	Kind  regKind
	Str   string
	Strs  []string
	DWord uint32
}

// registry is the part of the Windows registry (under HKEY_LOCAL_MACHINE)
// the NRPT mode uses; tests fake it.
type registry interface {
	// SubKeyNames lists the subkeys of path (nil if path is missing).
	SubKeyNames(path string) ([]string, error)
	// WriteValues creates path if needed and sets vals in it.
	WriteValues(path string, vals []regValue) error
	// DeleteKey deletes path (which has no subkeys) and reports whether
	// it existed.
	DeleteKey(path string) (existed bool, err error)
	// DeleteValue deletes value name of path; a missing one is no error.
	DeleteValue(path, name string) error
}

// nrptSystem are the OS calls around registry changes.
type nrptSystem interface {
	// RefreshPolicy applies Group Policy registry changes now.
	RefreshPolicy() error
	// FlushCache empties the DNS client's cache.
	FlushCache() error
}

// nrptValues returns the values of a rule sending domains to servers.
func nrptValues(domains []string, servers []netip.Addr) []regValue {
	names := make([]string, len(domains))
	for i, d := range domains {
		names[i] = "." + d // NRPT wants a leading dot for a suffix
	}
	addrs := make([]string, len(servers))
	for i, s := range servers {
		addrs[i] = s.WithZone("").String()
	}
	return []regValue{
		{Name: "Version", Kind: regDWord, DWord: nrptVersion},
		{Name: "Name", Kind: regMultiString, Strs: names},
		{Name: "GenericDNSServers", Kind: regString, Str: strings.Join(addrs, "; ")},
		{Name: "ConfigOptions", Kind: regDWord, DWord: nrptConfigOptions},
		{Name: "IPSECCARestriction", Kind: regString, Str: ""},
	}
}

// nrptManager is the Windows mode.
type nrptManager struct {
	reg       registry
	sys       nrptSystem
	stateDir  string
	log       *slog.Logger
	upstreams func(skip []netip.Addr) ([]netip.AddrPort, error)
	// ifaceGUID returns an interface's GUID ("{…}") by name; nil skips
	// the DNS suffix.
	ifaceGUID func(name string) (string, error)

	mu sync.Mutex // serialises Apply and Restore
}

func (m *nrptManager) Mode() string { return ModeNRPT }

// foreignGPRules reports whether the Group Policy table holds rules that
// are not rayfish's.
func foreignGPRules(reg registry) (bool, error) {
	names, err := reg.SubKeyNames(nrptBaseGP)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(names, func(n string) bool { return !strings.EqualFold(n, nrptRuleID) }), nil
}

func (m *nrptManager) Apply(cfg Config) error {
	if err := validate(cfg); err != nil {
		return err
	}
	domains := normalizeDomains(cfg.Domains)
	if len(domains) == 0 {
		return errors.New("dns: no domains to route to magic DNS")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	gp, err := foreignGPRules(m.reg)
	if err != nil {
		return fmt.Errorf("dns: read group policy NRPT: %w", err)
	}
	keys := []string{nrptBaseLocal + `\` + nrptRuleID}
	if gp {
		keys = append(keys, nrptBaseGP+`\`+nrptRuleID)
	}
	guid := ""
	if m.ifaceGUID != nil && len(cfg.Search) > 0 {
		if guid, err = m.ifaceGUID(cfg.Interface); err != nil {
			m.log.Warn("dns: no DNS suffix for bare names", "interface", cfg.Interface, "err", err)
		}
	}
	suffixKey, suffixVals := suffixPlan(guid, cfg.Search)
	if old, _ := loadState(m.stateDir); old != nil && old.SuffixKey != "" && old.SuffixKey != suffixKey {
		if err := m.reg.DeleteValue(old.SuffixKey, suffixValue); err != nil {
			m.log.Warn("dns: remove an old DNS suffix", "err", err)
		}
	}
	st := &state{Mode: ModeNRPT, Keys: keys, SuffixKey: suffixKey}
	if err := saveState(m.stateDir, st); err != nil {
		return err
	}
	vals := nrptValues(domains, cfg.Nameservers)
	for _, k := range keys {
		if err := m.reg.WriteValues(k, vals); err != nil {
			err = fmt.Errorf("dns: write NRPT rule %s: %w", k, err)
			return errors.Join(err, m.restoreLocked(st))
		}
	}
	if suffixKey != "" {
		if err := m.reg.WriteValues(suffixKey, suffixVals); err != nil {
			m.log.Warn("dns: set the DNS suffix for bare names", "err", err)
		}
	}
	if !gp {
		// Our rule may linger in the GP table from a time it held others.
		if _, err := m.reg.DeleteKey(nrptBaseGP + `\` + nrptRuleID); err != nil {
			m.log.Warn("dns: remove stale group policy NRPT rule", "err", err)
		}
	}
	m.afterChange(gp)
	m.log.Info("dns: configured", "mode", ModeNRPT, "domains", domains, "group_policy", gp)
	return nil
}

func (m *nrptManager) Restore() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := loadState(m.stateDir)
	if err != nil || st == nil {
		return err
	}
	if st.Mode != ModeNRPT {
		return restoreState(m.stateDir, st, m.log)
	}
	return m.restoreLocked(st)
}

func (m *nrptManager) restoreLocked(st *state) error {
	if err := deleteNRPTRule(m.reg, m.sys, st, m.log); err != nil {
		return fmt.Errorf("dns: restore %s: %w", ModeNRPT, err)
	}
	return removeState(m.stateDir)
}

// deleteNRPTRule removes rayfish's rule from both tables, and the DNS
// suffix st names.
func deleteNRPTRule(reg registry, sys nrptSystem, st *state, log *slog.Logger) error {
	var errs []error
	if st.SuffixKey != "" {
		if err := reg.DeleteValue(st.SuffixKey, suffixValue); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := reg.DeleteKey(nrptBaseLocal + `\` + nrptRuleID); err != nil {
		errs = append(errs, err)
	}
	gp, err := reg.DeleteKey(nrptBaseGP + `\` + nrptRuleID)
	if err != nil {
		errs = append(errs, err)
	}
	m := nrptManager{sys: sys, log: log}
	m.afterChange(gp)
	return errors.Join(errs...)
}

// afterChange refreshes Group Policy if its table changed, and flushes
// the DNS cache so old answers for the domains go.
func (m *nrptManager) afterChange(gp bool) {
	if gp {
		if err := m.sys.RefreshPolicy(); err != nil {
			m.log.Warn("dns: group policy refresh failed", "err", err)
		}
	}
	if err := m.sys.FlushCache(); err != nil {
		m.log.Debug("dns: flush DNS cache", "err", err)
	}
}

func (m *nrptManager) Upstreams(skip ...netip.Addr) ([]netip.AddrPort, error) {
	return m.upstreams(skip)
}
