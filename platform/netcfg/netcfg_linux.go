package netcfg

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// routeProtocol marks the routes Apply installs (rtm_protocol), so that a
// later Apply or Teardown finds and removes exactly those. 82 ('R') is not
// assigned in iproute2's rt_protos.
const routeProtocol netlink.RouteProtocol = 82

// Apply brings interface cfg.Name to cfg: MTU, IPv6 enabled if needed, link
// up, exactly cfg.Addrs (IPv6 ones without duplicate address detection),
// exactly the extra routes of cfg.Routes, the overlay guard for the
// addresses (see guard_linux.go), the exit-node policy routing for
// cfg.Exit (see exit_plan.go) and forwarding for cfg.Forward (see
// forward_linux.go); the last two are removed when unset. The prefix route
// of each address is installed by the kernel.
//
// Errors wrapping ErrNoIPv6, ErrNoGuard or ErrNoForward (possibly joined)
// are warnings: everything else has been applied.
func Apply(cfg Config) error {
	cfg, err := cfg.validate()
	if err != nil {
		return err
	}
	link, err := netlink.LinkByName(cfg.Name)
	if err != nil {
		return fmt.Errorf("netcfg: interface %q: %w", cfg.Name, err)
	}
	if cfg.MTU != 0 && link.Attrs().MTU != cfg.MTU {
		if err := netlink.LinkSetMTU(link, cfg.MTU); err != nil {
			return fmt.Errorf("netcfg: set MTU %d on %s: %w", cfg.MTU, cfg.Name, err)
		}
	}

	addrs, routes := cfg.Addrs, cfg.extraRoutes()
	var v6Err error // why IPv6 could not be enabled, if it could not
	_, addrs6 := splitFamily(addrs)
	_, routes6 := splitFamily(routes)
	if len(addrs6)+len(routes6) > 0 || cfg.Exit != nil {
		v6Err = enableIPv6(cfg.Name)
		if errors.Is(v6Err, ErrNoIPv6) {
			addrs, _ = splitFamily(addrs)
			routes, _ = splitFamily(routes)
		}
	}

	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("netcfg: set %s up: %w", cfg.Name, err)
	}
	if err := syncAddrs(link, addrs, v6Err); err != nil {
		return err
	}
	if err := syncRoutes(link, routes, v6Err); err != nil {
		return err
	}
	var warns []error
	if err := applyGuard(cfg.Name, addrs); err != nil {
		warns = append(warns, err)
	}
	if err := syncExit(link, cfg.Exit, !errors.Is(v6Err, ErrNoIPv6)); err != nil {
		return errors.Join(err, v6Err)
	}
	if cfg.Forward {
		var ranges []netip.Prefix
		for _, a := range addrs {
			if m := a.Masked(); !slices.Contains(ranges, m) {
				ranges = append(ranges, m)
			}
		}
		err = applyForward(cfg.Name, ranges)
	} else {
		err = removeForward(cfg.Name)
	}
	if err != nil && !errors.Is(err, ErrNoForward) {
		return err
	}
	warns = append(warns, err)
	if errors.Is(v6Err, ErrNoIPv6) {
		warns = append(warns, fmt.Errorf("netcfg: %s: IPv6 addresses and routes skipped: %w", cfg.Name, v6Err))
	}
	return errors.Join(warns...)
}

// Teardown removes the addresses, routes, overlay guard, exit-node policy
// routing and forwarding Apply added for interface name and sets it down.
// A missing interface is not an error.
func Teardown(name string) error {
	// The guard, the exit rules and forwarding outlive the TUN (closing
	// the device removes the rest).
	cleanErr := Cleanup(name)
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return cleanErr
		}
		return errors.Join(cleanErr, fmt.Errorf("netcfg: interface %q: %w", name, err))
	}
	errs := []error{cleanErr}
	if err := syncRoutes(link, nil, nil); err != nil {
		errs = append(errs, err)
	}
	if err := syncAddrs(link, nil, nil); err != nil {
		errs = append(errs, err)
	}
	if err := netlink.LinkSetDown(link); err != nil {
		errs = append(errs, fmt.Errorf("netcfg: set %s down: %w", name, err))
	}
	return errors.Join(errs...)
}

// Cleanup removes what a daemon that crashed may have left outside its
// TUN (which the kernel removed with the device): the exit-node rules and
// routes, forwarding (restoring the sysctls from the record kept in the
// nftables table) and the overlay guard of interface name. The daemon
// calls it at start, before Apply; doing so when nothing is left is
// harmless.
func Cleanup(name string) error {
	return errors.Join(removeExit(), removeForward(name), removeGuard(name))
}

// enableIPv6 clears net.ipv6.conf.<name>.disable_ipv6. It returns ErrNoIPv6
// when the kernel has no IPv6 at all.
func enableIPv6(name string) error {
	if name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("netcfg: invalid interface name %q", name)
	}
	p := "/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6"
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat("/proc/sys/net/ipv6"); errors.Is(serr, fs.ErrNotExist) {
			return ErrNoIPv6
		}
	}
	if err != nil {
		return fmt.Errorf("netcfg: read %s: %w", p, err)
	}
	if strings.TrimSpace(string(b)) == "0" {
		return nil
	}
	if err := os.WriteFile(p, []byte("0\n"), 0o644); err != nil {
		return fmt.Errorf("netcfg: enable IPv6 on %s: %w", name, err)
	}
	return nil
}

// syncAddrs makes want the exact set of (non link-local) addresses of link.
// hint is joined to IPv6 failures to explain them.
func syncAddrs(link netlink.Link, want []netip.Prefix, hint error) error {
	name := link.Attrs().Name
	list, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(link, netlink.FAMILY_ALL) })
	if err != nil {
		return fmt.Errorf("netcfg: list addresses of %s: %w", name, err)
	}
	have := make([]netip.Prefix, 0, len(list))
	for _, a := range list {
		if p, ok := prefixFromIPNet(a.IPNet); ok {
			have = append(have, p)
		}
	}
	for _, p := range diffPrefixes(have, want) {
		if err := netlink.AddrDel(link, &netlink.Addr{IPNet: ipNet(p)}); err != nil {
			return fmt.Errorf("netcfg: remove %v from %s: %w", p, name, err)
		}
	}
	for _, p := range want {
		a := &netlink.Addr{IPNet: ipNet(p)}
		if p.Addr().Is6() {
			// Usable at once: no DAD on a point-to-point tunnel.
			a.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrReplace(link, a); err != nil {
			if p.Addr().Is6() {
				err = errors.Join(err, hint)
			}
			return fmt.Errorf("netcfg: add %v to %s: %w", p, name, err)
		}
	}
	return nil
}

// syncRoutes makes want the exact set of routes via link that carry
// routeProtocol in the main table.
func syncRoutes(link netlink.Link, want []netip.Prefix, hint error) error {
	name, index := link.Attrs().Name, link.Attrs().Index
	filter := &netlink.Route{LinkIndex: index, Protocol: routeProtocol}
	list, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_OIF|netlink.RT_FILTER_PROTOCOL)
	})
	if err != nil {
		return fmt.Errorf("netcfg: list routes of %s: %w", name, err)
	}
	for _, r := range list {
		p, ok := prefixFromIPNet(r.Dst)
		if ok && slices.Contains(want, p) {
			continue
		}
		r := r
		if err := netlink.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("netcfg: remove route %v from %s: %w", r.Dst, name, err)
		}
	}
	for _, p := range want {
		if err := netlink.RouteReplace(ownRoute(index, unix.RT_TABLE_MAIN, p)); err != nil {
			if p.Addr().Is6() {
				err = errors.Join(err, hint)
			}
			return fmt.Errorf("netcfg: add route %v via %s: %w", p, name, err)
		}
	}
	return nil
}

// ownRoute is a route to p via interface index in table, marked as ours.
func ownRoute(index, table int, p netip.Prefix) *netlink.Route {
	r := &netlink.Route{
		LinkIndex: index,
		Dst:       ipNet(p),
		Protocol:  routeProtocol,
		Table:     table,
	}
	if p.Addr().Is4() {
		r.Scope = netlink.SCOPE_LINK
	}
	return r
}

// retryDump retries a netlink dump that was interrupted by a concurrent
// change.
func retryDump[T any](f func() ([]T, error)) ([]T, error) {
	var (
		list []T
		err  error
	)
	for range 5 {
		list, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return list, err
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{
		IP:   p.Addr().AsSlice(),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}

func prefixFromIPNet(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	if bits == 0 {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	if a.Is4() && bits == 128 {
		ones -= 96
	}
	return netip.PrefixFrom(a, ones), true
}
