package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/rayfish/rayfish/engine/mdns"
)

// reconfig hands the OS configuration the engine wants (TUN addresses and
// DNS through Config.Net, LAN discovery) to routineReconfig, the one
// goroutine that applies it. Code under e.mu only records the newest
// desired state here and wakes the routine; bursts of changes coalesce
// into one application of the latest state.
type reconfig struct {
	mu sync.Mutex // leaf lock: taken under e.mu, never the other way
	// Desired state.
	addrs []netip.Prefix // the TUN's addresses
	mdns  bool           // LAN discovery on
	pm    bool           // port mapping on
	up    bool           // requested data plane state, valid if upReq
	upReq bool           // a SetUp is waiting to be applied
	// Requests and results: gen counts requests, done is the last one
	// applied, upErr the result of the last up/down applied.
	gen     uint64
	done    uint64
	upErr   error
	applied chan struct{} // closed (and replaced) after each round
	started bool

	wake chan struct{} // buffered 1

	// Owned by routineReconfig.
	onTUN []netip.Prefix // addresses last applied
}

func (r *reconfig) init() {
	r.wake = make(chan struct{}, 1)
	r.applied = make(chan struct{})
}

// request records a change made by fn and wakes the routine; it
// returns the request's number.
func (r *reconfig) request(fn func()) uint64 {
	r.mu.Lock()
	fn()
	r.gen++
	gen := r.gen
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default: // a wake-up is pending: it will see this change too
	}
	return gen
}

// setAddrsLocked records the TUN addresses the rosters give us. The
// caller holds e.mu.
func (e *Engine) setAddrsLocked(addrs []netip.Prefix) {
	e.reconf.request(func() { e.reconf.addrs = slices.Clone(addrs) })
}

// setUp turns the data plane on or off through the reconfig routine and
// waits for the result. It must not be called with e.mu held.
func (e *Engine) setUp(up bool) error {
	r := &e.reconf
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	if !started {
		return errors.New("engine not started")
	}
	gen := r.request(func() { r.up, r.upReq = up, true })
	for {
		r.mu.Lock()
		done, err, applied := r.done, r.upErr, r.applied
		r.mu.Unlock()
		if done >= gen {
			return err
		}
		select {
		case <-applied:
		case <-e.ctx.Done():
			return errors.New("engine closed")
		}
	}
}

// routineReconfig applies the newest desired OS configuration whenever it
// changes, outside every engine lock. It stops LAN discovery when the
// engine closes.
func (e *Engine) routineReconfig() {
	r := &e.reconf
	var svc *mdns.Service
	var wasMDNS, wasPM bool
	defer e.applyPortMap(false)
	defer func() {
		if svc != nil {
			e.mu.Lock()
			e.mdns = nil
			e.mu.Unlock()
			svc.Close()
		}
	}()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-r.wake:
		}
		r.mu.Lock()
		gen, addrs, wantMDNS, wantPM := r.gen, r.addrs, r.mdns, r.pm
		up, upReq := r.up, r.upReq
		r.upReq = false
		r.mu.Unlock()

		var upErr error
		if upReq {
			upErr = e.applyUp(up, addrs)
		} else if e.dp.Up() && !slices.Equal(addrs, r.onTUN) {
			r.onTUN = addrs
			if e.cfg.Net != nil {
				if err := e.cfg.Net.Apply(addrs); err != nil {
					e.log.Error("apply addresses", "err", err)
				}
			}
		}
		if wantMDNS != wasMDNS {
			wasMDNS = wantMDNS
			svc = e.applyMDNS(svc, wantMDNS)
		}
		if wantPM != wasPM {
			wasPM = wantPM
			e.applyPortMap(wantPM)
		}

		r.mu.Lock()
		r.done = gen
		if upReq {
			r.upErr = upErr
		}
		close(r.applied)
		r.applied = make(chan struct{})
		r.mu.Unlock()
	}
}

// applyUp brings the TUN up with addrs, or down. The data plane follows
// only if the OS accepted the change.
func (e *Engine) applyUp(up bool, addrs []netip.Prefix) error {
	defer e.watchers.notify()
	if e.cfg.Net != nil {
		var err error
		if up {
			err = e.cfg.Net.Apply(addrs)
		} else {
			err = e.cfg.Net.Down()
		}
		if err != nil {
			return fmt.Errorf("configure TUN: %w", err)
		}
	}
	if up {
		e.reconf.onTUN = addrs
	}
	if e.dp.SetUp(up) != up {
		e.announceState()
	}
	e.log.Info("data plane", "up", up)
	return nil
}
