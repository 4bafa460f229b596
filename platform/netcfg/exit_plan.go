package netcfg

// This file plans the use of an exit node: the Linux policy routing rules
// and the route plan shared by Windows and macOS. It has no build
// constraint so that its tests run everywhere.

import (
	"fmt"
	"net/netip"
	"slices"
)

// Linux policy routing for an exit node, like Tailscale's table 52:
// exitTable holds default routes (IPv4 and IPv6) via the TUN, and rules in
// front of the main table's send everything there except the daemon's own
// (FwMark) traffic, link-local destinations, the LAN (AllowLAN) and the
// Exclude prefixes, which keep the main table. Rules and routes carry
// routeProtocol, so that a later Apply, Teardown or Cleanup finds exactly
// ours.
const (
	exitTable   = 82 // 'R'; Tailscale uses 52
	mainTable   = 254
	fwMarkMask  = 0xff_0000
	prioMark    = 5280 // fwmark FwMark/fwMarkMask lookup main
	prioLAN     = 5281 // to link-local and (AllowLAN) LAN prefixes lookup main
	prioExclude = 5282 // to Exclude prefixes lookup main
	prioExit    = 5290 // lookup exitTable
)

// linkLocal lists destinations that never go to the exit node.
var linkLocal = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
}

// ipRule is one Linux policy routing rule of the exit plan.
type ipRule struct {
	Family   family
	Priority int
	Mark     bool         // matches FwMark/fwMarkMask
	Dst      netip.Prefix // zero: every destination
	Table    int
}

func (r ipRule) String() string {
	s := fmt.Sprintf("%v %d", r.Family, r.Priority)
	if r.Mark {
		s += fmt.Sprintf(" fwmark %#x/%#x", FwMark, fwMarkMask)
	}
	if r.Dst.IsValid() {
		s += " to " + r.Dst.String()
	}
	if r.Table == mainTable {
		return s + " lookup main"
	}
	return fmt.Sprintf("%s lookup %d", s, r.Table)
}

// linuxExitRules returns the rules for exit (validated), in order: per
// family the FwMark rule, link-local and (AllowLAN) lan prefixes, Exclude
// prefixes, then everything to exitTable. IPv6 rules are left out when v6
// is false.
func linuxExitRules(exit *Exit, lan []netip.Prefix, v6 bool) []ipRule {
	if exit == nil {
		return nil
	}
	var out []ipRule
	add := func(r ipRule) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	for _, f := range []family{familyV4, familyV6} {
		if f == familyV6 && !v6 {
			continue
		}
		inFamily := func(p netip.Prefix) bool { return (f == familyV4) == p.Addr().Is4() }
		add(ipRule{Family: f, Priority: prioMark, Mark: true, Table: mainTable})
		for _, p := range linkLocal {
			if inFamily(p) {
				add(ipRule{Family: f, Priority: prioLAN, Dst: p, Table: mainTable})
			}
		}
		if exit.AllowLAN {
			for _, p := range lan {
				if inFamily(p) {
					add(ipRule{Family: f, Priority: prioLAN, Dst: p.Masked(), Table: mainTable})
				}
			}
		}
		for _, p := range exit.Exclude {
			if inFamily(p) {
				add(ipRule{Family: f, Priority: prioExclude, Dst: p, Table: mainTable})
			}
		}
		add(ipRule{Family: f, Priority: prioExit, Table: exitTable})
	}
	return out
}

// lanPrefixes returns the prefixes of the directly connected networks of
// addrs (the addresses of the host's other interfaces): masked, without
// loopback, link-local, multicast, unspecified and host prefixes, and
// deduplicated.
func lanPrefixes(addrs []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range addrs {
		a, err := normalize(a)
		if err != nil {
			continue
		}
		ip := a.Addr()
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() ||
			a.Bits() == 0 || a.IsSingleIP() {
			continue
		}
		if m := a.Masked(); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}
