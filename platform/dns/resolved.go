package dns

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
)

// systemd-resolved's D-Bus names.
const (
	resolvedName      = "org.freedesktop.resolve1"
	resolvedPath      = "/org/freedesktop/resolve1"
	resolvedInterface = "org.freedesktop.resolve1.Manager"
)

// resolvedStub is resolved's local listener, the upstream of last resort
// in resolved mode.
var resolvedStub = netip.MustParseAddrPort("127.0.0.53:53")

// resolvedAddr is the D-Bus (iay) of SetLinkDNS: an address family and
// the address bytes.
type resolvedAddr struct {
	Family  int32
	Address []byte
}

// resolvedDomain is the D-Bus (sb) of SetLinkDomains: a domain and
// whether it only routes queries (the "~domain" form) rather than also
// being a search domain.
type resolvedDomain struct {
	Domain      string
	RoutingOnly bool
}

// Address families as resolved wants them (Linux values).
const (
	afInet  = 2
	afInet6 = 10
)

// linkCall is one step of configuring resolved, in both of its spellings:
// a D-Bus method call and a resolvectl command line.
type linkCall struct {
	Method string   // on resolvedInterface
	Args   []any    // D-Bus arguments
	Cmd    []string // resolvectl arguments
	// Optional steps may fail (older resolved versions lack some
	// settings); the failure is logged.
	Optional bool
}

// resolvedLinkDomains returns the link's domains: the search domains
// (which also route), then the routing-only domains not among them.
func resolvedLinkDomains(routing, search []string) []resolvedDomain {
	var out []resolvedDomain
	seen := func(d string) bool {
		return slices.ContainsFunc(out, func(o resolvedDomain) bool { return o.Domain == d })
	}
	for _, d := range searchList(search, nil) {
		out = append(out, resolvedDomain{Domain: d})
	}
	for _, d := range normalizeDomains(routing) {
		if !seen(d) {
			out = append(out, resolvedDomain{Domain: d, RoutingOnly: true})
		}
	}
	return out
}

// resolvedSetPlan configures link ifindex/ifname: magic DNS servers,
// search domains and routing-only domains, never the default route, no LLMNR, mDNS, DNSSEC
// or DNS-over-TLS towards magic DNS (it speaks none of them), then a cache
// flush so earlier negative answers go.
func resolvedSetPlan(ifindex int, ifname string, servers []netip.Addr, domains, search []string) []linkCall {
	idx := int32(ifindex)
	var addrs []resolvedAddr
	var addrText []string
	for _, s := range servers {
		s = s.Unmap()
		fam := int32(afInet)
		if s.Is6() {
			fam = afInet6
		}
		addrs = append(addrs, resolvedAddr{Family: fam, Address: s.AsSlice()})
		addrText = append(addrText, s.WithZone("").String())
	}
	doms := resolvedLinkDomains(domains, search)
	var domText []string
	for _, d := range doms {
		if d.RoutingOnly {
			domText = append(domText, "~"+d.Domain)
		} else {
			domText = append(domText, d.Domain)
		}
	}
	setting := func(method, verb, value string) linkCall {
		return linkCall{Method: method, Args: []any{idx, value}, Cmd: []string{verb, ifname, value}, Optional: true}
	}
	return []linkCall{
		{Method: "SetLinkDNS", Args: []any{idx, addrs}, Cmd: append([]string{"dns", ifname}, addrText...)},
		{Method: "SetLinkDomains", Args: []any{idx, doms}, Cmd: append([]string{"domain", ifname}, domText...)},
		{Method: "SetLinkDefaultRoute", Args: []any{idx, false}, Cmd: []string{"default-route", ifname, "false"}, Optional: true},
		setting("SetLinkLLMNR", "llmnr", "no"),
		setting("SetLinkMulticastDNS", "mdns", "no"),
		setting("SetLinkDNSSEC", "dnssec", "no"),
		setting("SetLinkDNSOverTLS", "dnsovertls", "no"),
		{Method: "FlushCaches", Cmd: []string{"flush-caches"}, Optional: true},
	}
}

// resolvedRevertPlan drops every setting of the link.
func resolvedRevertPlan(ifindex int, ifname string) []linkCall {
	return []linkCall{
		{Method: "RevertLink", Args: []any{int32(ifindex)}, Cmd: []string{"revert", ifname}},
		{Method: "FlushCaches", Cmd: []string{"flush-caches"}, Optional: true},
	}
}

// resolvedBackend carries out linkCalls (over D-Bus or with resolvectl).
type resolvedBackend interface {
	// do runs calls in order and stops at the first required one that
	// fails; optional failures are logged.
	do(ctx context.Context, calls []linkCall, log *slog.Logger) error
}

// runPlan runs calls with call, as resolvedBackend.do describes.
func runPlan(calls []linkCall, log *slog.Logger, call func(linkCall) error) error {
	for _, c := range calls {
		if err := call(c); err != nil {
			if c.Optional {
				log.Debug("dns: optional resolved setting failed", "method", c.Method, "err", err)
				continue
			}
			return fmt.Errorf("%s: %w", c.Method, err)
		}
	}
	return nil
}

// resolvConfUsesResolved reports whether a resolv.conf (its symlink
// target, if it is one, and its content) hands lookups to
// systemd-resolved.
func resolvConfUsesResolved(symlink string, content []byte) bool {
	if strings.Contains(symlink, "systemd/resolve") {
		return true
	}
	if bytes.Contains(content, []byte("systemd-resolved")) {
		return true
	}
	return slices.Contains(parseNameservers(content), resolvedStub.Addr())
}

// nsswitchUsesResolve reports whether nsswitch.conf's hosts line asks
// nss-resolve (which bypasses resolv.conf) first or at all.
func nsswitchUsesResolve(content []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(content))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "hosts:")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if f == "resolve" {
				return true
			}
		}
	}
	return false
}

// linuxProbe is what New learns about the system on Linux.
type linuxProbe struct {
	// usesResolved: resolv.conf or nsswitch hand lookups to resolved.
	usesResolved bool
	// busResolved: resolved is on the system bus, in our network
	// namespace.
	busResolved bool
	// cliResolved: resolvectl answers and resolved runs in our network
	// namespace.
	cliResolved bool
}

// chooseLinuxMode picks the mode for what probe found.
func chooseLinuxMode(p linuxProbe) string {
	switch {
	case !p.usesResolved:
		return ModeResolvConf
	case p.busResolved:
		return ModeResolved
	case p.cliResolved:
		return ModeResolvectl
	default:
		return ModeResolvConf
	}
}

// parseUpstreamsResolved reads resolved's list of uplink servers (the
// content of /run/systemd/resolve/resolv.conf); with none, the stub.
func parseUpstreamsResolved(content []byte, skip []netip.Addr) []netip.AddrPort {
	ups := toUpstreams(parseNameservers(content), append(slices.Clone(skip), resolvedStub.Addr()))
	if len(ups) == 0 {
		return []netip.AddrPort{resolvedStub}
	}
	return ups
}

// errNoLink is returned by the interface lookup for a missing link.
var errNoLink = errors.New("no such network interface")
