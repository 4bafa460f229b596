package main

import (
	"context"
	"net/netip"
	"slices"
	"sync"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/magicdns"
	"github.com/rayfish/rayfish/platform/dns"
)

// maxSearchNetworks bounds the per-network search domains (old glibc
// reads six search domains in all; "ray" is one of them).
const maxSearchNetworks = 5

// searchDomains returns the search domains that make bare names resolve
// from the OS (`ping bravo`): "ray" first (bravo.ray, the first network's
// bravo), then "<network>.ray" for each network, as magic DNS spells
// them.
func searchDomains(networks []string) []string {
	out := []string{"ray"}
	for _, n := range networks {
		l := magicdns.Label(n)
		if l == "" || slices.Contains(out, l+".ray") {
			continue
		}
		if len(out) > maxSearchNetworks {
			break
		}
		out = append(out, l+".ray")
	}
	return out
}

// dnsState is what the OS resolver configuration depends on besides the
// addresses. Lock order: tunConfig.mu (Apply and Down hold it), then mu; mu is held while the OS is configured, so that an
// update for new networks never lands after Down restored the system's
// configuration.
type dnsState struct {
	mu       sync.Mutex
	up       bool
	networks []string
}

// dnsConfig is the configuration for the networks we are in, on the
// interface named ifName.
func (t *tunConfig) dnsConfig(ifName string) dns.Config {
	return dns.Config{
		Interface:   ifName,
		Nameservers: []netip.Addr{key.MagicDNSv4, key.MagicDNSv6},
		Domains:     []string{"ray"},
		Search:      searchDomains(t.state.networks),
	}
}

// applyDNS points the OS resolver at magic DNS on interface ifName.
func (t *tunConfig) applyDNS(ifName string) {
	if t.dns == nil {
		return
	}
	t.state.mu.Lock()
	defer t.state.mu.Unlock()
	t.state.up = true
	err := t.dns.Apply(t.dnsConfig(ifName))
	t.health.noteApply(true, err)
	if err != nil {
		t.log.Warn("could not configure OS DNS for .ray names", "err", err)
	}
}

func (t *tunConfig) restoreDNS() {
	if t.dns == nil {
		return
	}
	t.state.mu.Lock()
	defer t.state.mu.Unlock()
	t.state.up = false
	t.health.noteApply(false, nil)
	if err := t.dns.Restore(); err != nil {
		t.log.Warn("restore DNS", "err", err)
	}
}

// setNetworks updates the search domains for the networks we are in.
func (t *tunConfig) setNetworks(networks []string) {
	if t.dns == nil {
		return
	}
	ifName := t.ifName() // before state.mu: Apply holds t.mu, then state.mu
	t.state.mu.Lock()
	defer t.state.mu.Unlock()
	if slices.Equal(searchDomains(networks), searchDomains(t.state.networks)) {
		t.state.networks = networks
		return
	}
	t.state.networks = networks
	if !t.state.up {
		return
	}
	err := t.dns.Apply(t.dnsConfig(ifName))
	t.health.noteApply(true, err)
	if err != nil {
		t.log.Warn("could not update the OS DNS search domains", "err", err)
	}
}

// followNetworks keeps the search domains in step with the engine's
// networks until ctx ends or the engine stops.
func (t *tunConfig) followNetworks(ctx context.Context, eng *engine.Engine) {
	if t.dns == nil {
		return
	}
	changed, cancel := eng.Subscribe()
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
		}
		var names []string
		for _, n := range eng.Status().Networks {
			names = append(names, n.Name)
		}
		t.setNetworks(names)
	}
}
