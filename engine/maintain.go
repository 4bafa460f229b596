package engine

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/rayfish/rayfish/engine/history"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// routineMaintain dials peers that have no connection, refreshes our
// endpoint record, and nudges watchers so counters stay fresh.
func (e *Engine) routineMaintain() {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lastRefresh := time.Now()
	lastStats := time.Now()
	lastSample := time.Now()
	for {
		select {
		case <-e.ctx.Done():
			return
		case now := <-tick.C:
			e.dialDue(now)
			e.flushSaved() // anything a caller left staged
			if now.Sub(lastRefresh) > 10*time.Second {
				lastRefresh = now
				e.onEndpointsChanged() // re-reads interfaces; publishes if changed
			}
			if now.Sub(lastStats) >= time.Second {
				lastStats = now
				e.watchers.notify()
				e.fw.Expire(e.dp.Now())
			}
			if now.Sub(lastSample) >= history.Interval {
				lastSample = now
				e.sampleHistory(now)
			}
		}
	}
}

// dialDue starts a dial to every peer that is due one.
func (e *Engine) dialDue(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.peers {
		if p.cur.Load() != nil || p.dialing || now.Before(p.nextDial) && !e.answeredSinceFailLocked(p, now) {
			continue
		}
		rec, ok := e.state.Endpoints[p.key]
		if !ok || (len(rec.Addrs) == 0 && rec.Relay == "") {
			continue
		}
		p.dialing = true
		e.goRoutine(func() { e.dialPeer(p) })
	}
}

// answeredSinceFailLocked reports whether p, waiting out a dial backoff,
// answered a disco ping since its last dial failed: a peer that comes
// back (a laptop waking up, after the 15 s backoff grew) is dialled at
// once rather than when the backoff ends. The failure was at least
// p.backoff before p.nextDial; redials on this ground are a second apart
// at least.
func (e *Engine) answeredSinceFailLocked(p *peer, now time.Time) bool {
	if e.mc == nil || p.backoff == 0 || !redialEarly(p.backoff, p.nextDial, now, time.Time{}) {
		return false
	}
	return redialEarly(p.backoff, p.nextDial, now, e.mc.Path(p.key).LastPong)
}

// redialEarly reports whether a peer whose dial failed, now waiting for
// nextDial after backoff, should be dialled now because it answered a
// ping at lastPong (zero: only whether enough time passed to ask).
func redialEarly(backoff time.Duration, nextDial, now, lastPong time.Time) bool {
	failed := nextDial.Add(-backoff) // the failure was no later
	if backoff == 0 || now.Sub(failed) < time.Second {
		return false
	}
	return lastPong.IsZero() || lastPong.After(failed)
}

func (e *Engine) dialPeer(p *peer) {
	qc, err := e.dial(e.ctx, p.key, alpnMesh)
	e.mu.Lock()
	p.dialing = false
	if err != nil {
		p.backoff = min(max(time.Second, p.backoff*2), 15*time.Second)
		jitter := time.Duration(rand.Int64N(int64(p.backoff / 4)))
		p.nextDial = time.Now().Add(p.backoff + jitter)
		e.mu.Unlock()
		e.log.Debug("dial failed", "peer", p.key.ShortString(), "err", err)
		if handshakeRefused(err) { // removed while away? (removalproof.go)
			e.askRemoval(p)
		}
		return
	}
	e.mu.Unlock()
	e.attach(p.key, qc, e.self)
	// TLS 1.3: the peer checks our certificate after our side of the
	// handshake is done, so its refusal ends the connection just after.
	e.watchRefusal(p, qc)
}

// refreshEndpoints re-reads our direct addresses and re-signs our
// endpoint record if they changed. The interfaces are read outside e.mu
// (netlink work); refreshMu keeps concurrent refreshes in order.
func (e *Engine) refreshEndpoints() bool {
	e.refreshMu.Lock()
	defer e.refreshMu.Unlock()
	var local []netip.AddrPort
	if e.cfg.Endpoints != nil {
		local = e.cfg.Endpoints()
	} else {
		local = localEndpoints(uint16(e.ListenPort()))
	}
	e.mu.Lock()
	mc := e.mc // listen publishes it under e.mu; the callback may come first
	e.mu.Unlock()
	if mc != nil {
		mc.SetLocalEndpoints(local)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	addrs, home := local, ""
	if e.mc != nil {
		addrs, home = e.mc.Endpoints() // local plus reflexive addresses
	}
	if served := e.servedRelayURL(); served != "" && home == "" {
		home = served
	}
	if len(addrs) > netmap.MaxEndpointAddrs {
		addrs = addrs[:netmap.MaxEndpointAddrs]
	}
	offer := e.myOfferLocked()
	if slices.Equal(addrs, e.myRecord.Addrs) && home == e.myRecord.Relay && offer.Equal(e.myRecord.Offer()) && !e.myRecord.Node.IsZero() {
		return false
	}
	e.myRecord = netmap.SignRecord(e.nodeKey, addrs, home, offer, e.nextRecordSeq())
	e.dhtKick()            // publish it now, not at the next slot
	e.updateRoutesLocked() // our own offers decide what we serve
	e.watchers.notify()
	return true
}

// broadcastRecord sends our new endpoint record to every connected peer.
func (e *Engine) broadcastRecord() {
	e.mu.Lock()
	rec := e.myRecord
	var targets []*peerConn
	for _, p := range e.peers {
		if pc := p.cur.Load(); pc != nil {
			targets = append(targets, pc)
		}
	}
	e.mu.Unlock()
	msg := &ctrlMsg{Type: msgEndpoints, Endpoints: []netmap.EndpointRecord{rec}}
	for _, pc := range targets {
		e.sendCtrl(pc, msg)
	}
}

// localEndpoints lists the host's usable unicast addresses with port,
// leaving out loopback, link-local and our own overlay ranges.
func localEndpoints(port uint16) []netip.AddrPort {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.AddrPort
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if !ip.IsGlobalUnicast() || key.CGNATPrefix.Contains(ip) || key.ULAPrefix.Contains(ip) {
				continue
			}
			out = append(out, netip.AddrPortFrom(ip, port))
		}
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out
}
