// Package netcfg configures rayfish's TUN interface: its addresses, MTU, link
// state and routes, the use of an exit node (Config.Exit) and serving as an
// exit node or subnet router (Config.Forward).
//
// Apply is idempotent: it brings the interface to exactly the given Config,
// removing addresses (and routes it added earlier) that are no longer wanted,
// so the engine can call it again whenever its view of the network changes
// (including the host's LAN, which Exit.AllowLAN follows). Teardown undoes
// it on a best-effort basis; closing the TUN removes most of the state
// anyway. Cleanup, called at daemon start, removes what a crashed daemon
// left outside the TUN (Linux: exit-node rules, forwarding, the guard).
//
// Exit node, per OS:
//   - Linux: policy routing (exit_plan.go): table 82 holds default routes
//     via the TUN; rules send everything there except sockets marked with
//     FwMark (Control), link-local destinations, the LAN (with
//     AllowLAN) and Exclude. With strict reverse-path filtering
//     (rp_filter=1) the kernel drops replies to marked sockets from
//     addresses not in Exclude, so the daemon's peers and relays belong in
//     Exclude as well.
//   - Windows and macOS: a route plan (splitExitPlan): the default route's
//     halves via the TUN, host routes via the original gateway for
//     Exclude, the LAN captured in halves unless AllowLAN.
//
// Forwarding (masquerade, IP forwarding) is Linux only (forward_linux.go);
// elsewhere Apply returns ErrNoForward after applying the rest.
//
// Per OS:
//   - Linux talks netlink directly (vishvananda/netlink) and never shells out.
//   - darwin runs ifconfig(8) and route(8); the argument lists are built by
//     pure functions that are tested on every OS.
//   - Windows calls winipcfg behind a small interface, so that the sequencing
//     logic is tested on every OS with a fake.
package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Config is the desired state of the TUN interface.
type Config struct {
	// Name is the interface name, as returned by the device's Name().
	Name string
	// MTU of the interface; 0 leaves it unchanged.
	MTU int
	// Addrs are the interface's addresses with their prefix lengths, e.g.
	// 100.64.1.2/10 and fd72:6179:6669:0:x:x:x:x/48. The prefix of each
	// address is routed to the interface.
	Addrs []netip.Prefix
	// Routes are additional prefixes routed to the interface.
	Routes []netip.Prefix
	// LUID is the Windows interface LUID (see platform/tun.LUID). When it is
	// zero on Windows, the interface is looked up by Name. Ignored elsewhere.
	LUID uint64
	// Exit, when non-nil, sends all IPv4 and IPv6 traffic through the
	// interface (this node uses an exit node), except the daemon's own
	// sockets (marked with FwMark on Linux) and the Exclude prefixes.
	Exit *Exit
	// Forward makes this host a router for the mesh while it serves as an
	// exit node or subnet router: IP forwarding on, and traffic from the
	// overlay ranges that leaves through another interface masqueraded.
	// Everything it set up is undone when Forward goes false, on Teardown,
	// and by Cleanup after a crash.
	Forward bool
}

// Exit configures the use of an exit node.
type Exit struct {
	// AllowLAN keeps the directly connected LAN prefixes off the tunnel.
	AllowLAN bool
	// Exclude lists underlay addresses (peers' direct paths, relays) that
	// must keep using the normal routes; host prefixes.
	Exclude []netip.Prefix
}

// FwMark marks the daemon's own sockets on Linux so that policy routing
// keeps their traffic on the underlay while an exit node is in use.
const FwMark = 0x52_0000

// ErrNoIPv6 is returned (wrapped) by Apply when the system has IPv6 turned
// off entirely. Everything else in the Config has been applied in that case;
// callers may treat it as a warning.
var ErrNoIPv6 = errors.New("IPv6 is not available on this system")

// ErrNoGuard is returned (wrapped) by Apply on Linux when the overlay
// guard could not be installed (no nftables in the kernel): packets for
// our overlay addresses arriving on other interfaces are then not
// dropped. Everything else is configured; callers may treat it as a
// warning.
var ErrNoGuard = errors.New("cannot drop overlay traffic arriving outside the TUN (nftables unavailable)")

// ErrNoForward is returned (wrapped) by Apply when Config.Forward is set
// but this system cannot route for the mesh: on Windows and macOS (serving
// as an exit node or subnet router is supported on Linux only), or on a
// Linux without nftables (no masquerade). Forwarding is then left off and
// everything else in the Config is applied.
var ErrNoForward = errors.New("serving as an exit node or subnet router is supported on Linux with nftables only")

// validate checks cfg and returns a normalized copy: addresses unmapped,
// routes masked and deduplicated.
func (cfg Config) validate() (Config, error) {
	if cfg.Name == "" {
		return Config{}, errors.New("netcfg: empty interface name")
	}
	if cfg.MTU != 0 && (cfg.MTU < 576 || cfg.MTU > 65535) {
		return Config{}, fmt.Errorf("netcfg: MTU %d out of range", cfg.MTU)
	}
	out := Config{Name: cfg.Name, MTU: cfg.MTU, LUID: cfg.LUID, Forward: cfg.Forward}
	for _, p := range cfg.Addrs {
		p, err := normalize(p)
		if err != nil {
			return Config{}, fmt.Errorf("netcfg: address: %w", err)
		}
		if !slices.Contains(out.Addrs, p) {
			out.Addrs = append(out.Addrs, p)
		}
	}
	for _, r := range cfg.Routes {
		r, err := normalize(r)
		if err != nil {
			return Config{}, fmt.Errorf("netcfg: route: %w", err)
		}
		r = r.Masked()
		if !slices.Contains(out.Routes, r) {
			out.Routes = append(out.Routes, r)
		}
	}
	if cfg.Exit != nil {
		out.Exit = &Exit{AllowLAN: cfg.Exit.AllowLAN}
		for _, p := range cfg.Exit.Exclude {
			p, err := normalize(p)
			if err != nil {
				return Config{}, fmt.Errorf("netcfg: exit exclusion: %w", err)
			}
			if p = p.Masked(); p.Bits() == 0 {
				return Config{}, fmt.Errorf("netcfg: exit exclusion %v covers everything", p)
			}
			if !slices.Contains(out.Exit.Exclude, p) {
				out.Exit.Exclude = append(out.Exit.Exclude, p)
			}
		}
	}
	return out, nil
}

func normalize(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, fmt.Errorf("invalid prefix %v", p)
	}
	if p.Addr().Is4In6() {
		bits := p.Bits() - 96
		if bits < 0 {
			return netip.Prefix{}, fmt.Errorf("invalid prefix %v", p)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), bits)
	}
	return p, nil
}

// extraRoutes returns the routes of cfg that are not already covered by the
// on-link prefix of one of its addresses (the kernel installs those itself on
// Linux and Windows).
func (cfg Config) extraRoutes() []netip.Prefix {
	var out []netip.Prefix
	for _, r := range cfg.Routes {
		if !slices.ContainsFunc(cfg.Addrs, func(a netip.Prefix) bool { return a.Masked() == r }) {
			out = append(out, r)
		}
	}
	return out
}

// allRoutes returns the masked prefix of every address followed by the extra
// routes, deduplicated (for systems, like darwin's point-to-point utun, that
// do not derive a route from an address's prefix).
func (cfg Config) allRoutes() []netip.Prefix {
	var out []netip.Prefix
	for _, a := range cfg.Addrs {
		if m := a.Masked(); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	for _, r := range cfg.Routes {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// diffPrefixes returns the elements of have that are not in want, ignoring
// IPv6 link-local addresses, which the system manages.
func diffPrefixes(have, want []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, h := range have {
		if h.Addr().Is6() && h.Addr().IsLinkLocalUnicast() {
			continue
		}
		if !slices.Contains(want, h) {
			out = append(out, h)
		}
	}
	return out
}

// splitFamily splits ps into its IPv4 and IPv6 members.
func splitFamily(ps []netip.Prefix) (v4, v6 []netip.Prefix) {
	for _, p := range ps {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return v4, v6
}
