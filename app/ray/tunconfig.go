package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/platform/dns"
	"github.com/rayfish/rayfish/platform/netcfg"
	"github.com/rayfish/rayfish/platform/tun"
)

// tunConfig applies overlay addresses (platform/netcfg) and points the OS
// resolver at magic DNS (platform/dns) while the data plane is up. When
// the TUN does not exist yet (see openTUN) it remembers what the engine
// asked for and applies it once the device appears.
type tunConfig struct {
	mtu int
	dns dns.Manager
	log *slog.Logger
	// state is what the DNS configuration depends on (dnssearch.go).
	state dnsState
	// health caches whether the OS resolver points at us (dnshealth.go).
	health dnsHealthCache

	// mu serializes the OS configuration and guards the fields below.
	mu      sync.Mutex
	name    string
	luid    uint64
	missing bool           // the TUN does not exist yet
	up      bool           // the engine wants the data plane up
	addrs   []netip.Prefix // the addresses it asked for
	routes  engine.RouteConfig
}

// openTUN creates the TUN named name. When that fails the daemon runs on:
// openTUN returns a tun.Deferred standing in for the device (also as dev)
// and the error; the caller reports it and starts the Deferred, whose
// successes and failures go to tunReady.
func openTUN(name string, nc *tunConfig) (dev tun.Device, deferred *tun.Deferred, err error) {
	dev, err = tun.Create(name, nc.mtu)
	if err == nil {
		nc.attach(dev)
		return dev, nil, nil
	}
	nc.mu.Lock()
	nc.missing = true
	nc.mu.Unlock()
	deferred = tun.NewDeferred(name, nc.mtu, func() (tun.Device, error) { return tun.Create(name, nc.mtu) })
	return deferred, deferred, fmt.Errorf("create TUN %q: %w", name, err)
}

// tunReporter is what tunReady tells: the engine.
type tunReporter interface{ SetTUNError(string) }

// tunReady is called after each attempt of a Deferred TUN: it reports a
// failure, or configures the new device as the engine last asked.
func (t *tunConfig) tunReady(r tunReporter, dev tun.Device, err error) {
	if err != nil {
		t.log.Warn("still no tunnel device; retrying", "err", err)
		r.SetTUNError(fmt.Sprintf("create TUN %q: %v", t.ifName(), err))
		return
	}
	t.attach(dev)
	t.log.Info("tunnel device created", "tun", t.ifName())
	t.mu.Lock()
	t.missing = false
	up, addrs := t.up, t.addrs
	if up {
		if err := t.applyLocked(addrs); err != nil {
			t.log.Error("configure the new tunnel device", "err", err)
		}
	}
	t.mu.Unlock()
	r.SetTUNError("")
}

// attach takes the device's real name and (on Windows) LUID.
func (t *tunConfig) attach(dev tun.Device) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n, err := dev.Name(); err == nil {
		t.name = n
	}
	t.luid, _ = tun.LUID(dev) // zero (look up by name) off Windows
}

// ifName returns the interface's name.
func (t *tunConfig) ifName() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.name
}

func (t *tunConfig) Apply(addrs []netip.Prefix) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.up, t.addrs = true, addrs
	if t.missing {
		return nil // applied when the device appears
	}
	return t.applyLocked(addrs)
}

func (t *tunConfig) applyLocked(addrs []netip.Prefix) error {
	err := netcfg.Apply(netcfg.Config{Name: t.name, MTU: t.mtu, Addrs: addrs, LUID: t.luid,
		Routes: t.routes.Routes, Exit: t.routes.Exit, Forward: t.routes.Forward})
	if errors.Is(err, netcfg.ErrNoForward) {
		t.log.Warn("cannot serve as exit node or subnet router here", "err", err)
	}
	if errors.Is(err, netcfg.ErrNoGuard) {
		t.log.Warn("overlay addresses are reachable from other interfaces", "err", err)
	} else if err != nil && !errors.Is(err, netcfg.ErrNoIPv6) && !errors.Is(err, netcfg.ErrNoForward) {
		return err // IPv6 off on this host is not fatal: IPv4 is configured
	}
	t.applyDNS(t.name)
	return nil
}

// ApplyRoutes sets the subnet routes, exit node and forwarding; they
// are applied now if the data plane is up, else with the next Apply.
func (t *tunConfig) ApplyRoutes(rc engine.RouteConfig) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.routes = rc
	if !t.up || t.missing {
		return nil
	}
	return t.applyLocked(t.addrs)
}

func (t *tunConfig) Down() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.up, t.addrs = false, nil
	if t.missing {
		return nil
	}
	t.restoreDNS()
	return netcfg.Teardown(t.name)
}
