package netcfg

// This file sequences the Windows configuration over the small winIface
// interface. It has no build constraint so that its tests run everywhere.

import (
	"errors"
	"fmt"
	"net/netip"
)

// family is an address family, independent of the OS constants.
type family int

const (
	familyV4 family = 4
	familyV6 family = 6
)

func (f family) String() string {
	if f == familyV6 {
		return "IPv6"
	}
	return "IPv4"
}

// errNoFamily is returned by a winIface when the interface has no IP
// interface of the family (IPv6 turned off).
var errNoFamily = errors.New("address family not present on interface")

// winIface is the part of winipcfg that Apply and Teardown use, bound to one
// interface. Each Set method replaces the interface's state for the family.
type winIface interface {
	// SetInterface sets the MTU (0: unchanged) and turns off duplicate
	// address detection and router discovery. It returns errNoFamily if the
	// interface lacks the family.
	SetInterface(f family, mtu int) error
	// SetRoutes makes routes the exact set of on-link routes of the family.
	SetRoutes(f family, routes []netip.Prefix) error
	// SetAddresses makes addrs the exact set of unicast addresses of the
	// family.
	SetAddresses(f family, addrs []netip.Prefix) error
	// Flush removes all routes and addresses of the family.
	Flush(f family) error
	// SetBypass makes routes the exact set of exit-node bypass routes
	// (on other interfaces) that this interface's configuration added.
	SetBypass(routes []bypassRoute) error
}

// applyWindows brings w to cfg (validated) and the exit-node route plan
// exit (see splitExitPlan). Routes are set before addresses, as
// wireguard-windows does: setting routes flushes the on-link routes that
// the system derives from the addresses, and setting the addresses
// afterwards brings those back. Bypass routes are added before the TUN's
// routes capture the default route and removed after they release it.
// Forwarding is not supported: cfg.Forward gets ErrNoForward once the rest
// is applied.
func applyWindows(w winIface, cfg Config, exit exitRoutes) error {
	a4, a6 := splitFamily(cfg.Addrs)
	r4, r6 := splitFamily(append(cfg.extraRoutes(), exit.Tun...))
	if len(exit.Bypass) > 0 {
		if err := w.SetBypass(exit.Bypass); err != nil {
			return fmt.Errorf("netcfg: set exit-node bypass routes: %w", err)
		}
	}
	if err := applyFamily(w, familyV4, cfg.MTU, a4, r4); err != nil {
		return err
	}
	err := applyFamily(w, familyV6, cfg.MTU, a6, r6)
	if errors.Is(err, errNoFamily) {
		err = nil
		if len(a6)+len(r6) > 0 {
			err = fmt.Errorf("netcfg: %s: IPv6 addresses and routes skipped: %w", cfg.Name, ErrNoIPv6)
		}
	}
	if err != nil && !errors.Is(err, ErrNoIPv6) {
		return err
	}
	if len(exit.Bypass) == 0 {
		if berr := w.SetBypass(nil); berr != nil {
			return fmt.Errorf("netcfg: remove exit-node bypass routes: %w", berr)
		}
	}
	if cfg.Forward {
		err = errors.Join(err, fmt.Errorf("netcfg: %w", ErrNoForward))
	}
	return err
}

func applyFamily(w winIface, f family, mtu int, addrs, routes []netip.Prefix) error {
	if len(addrs)+len(routes) == 0 {
		// Nothing wanted: clear leftovers of an earlier Apply.
		if err := w.Flush(f); err != nil && !errors.Is(err, errNoFamily) {
			return fmt.Errorf("netcfg: clear %v: %w", f, err)
		}
		return nil
	}
	if err := w.SetInterface(f, mtu); err != nil {
		return fmt.Errorf("netcfg: set %v interface (MTU %d): %w", f, mtu, err)
	}
	if err := w.SetRoutes(f, routes); err != nil {
		return fmt.Errorf("netcfg: set %v routes %v: %w", f, routes, err)
	}
	if err := w.SetAddresses(f, addrs); err != nil {
		return fmt.Errorf("netcfg: set %v addresses %v: %w", f, addrs, err)
	}
	return nil
}

// teardownWindows removes every route and address of w, then the bypass
// routes.
func teardownWindows(w winIface) error {
	var errs []error
	for _, f := range []family{familyV4, familyV6} {
		if err := w.Flush(f); err != nil && !errors.Is(err, errNoFamily) {
			errs = append(errs, fmt.Errorf("netcfg: clear %v: %w", f, err))
		}
	}
	if err := w.SetBypass(nil); err != nil {
		errs = append(errs, fmt.Errorf("netcfg: remove exit-node bypass routes: %w", err))
	}
	return errors.Join(errs...)
}
