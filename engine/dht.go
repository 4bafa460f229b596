package engine

import (
	"context"
	"sync"
	"time"

	"github.com/rayfish/rayfish/engine/dhtdisc"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
)

const (
	// dhtSlot is the rendezvous period: lookups start, and found
	// addresses are probed, on multiples of it of the wall clock, so two
	// members without a path probe each other in the same instant.
	dhtSlot = 10 * time.Second
	// dhtRepublish re-publishes well before BEP 44's two-hour expiry.
	dhtRepublish = 90 * time.Minute
	// dhtLookupMax bounds the per-member lookup backoff (from one slot,
	// doubling, in whole slots so both sides of a pair stay in step).
	dhtLookupMax = 5 * time.Minute
	// dhtMaxInflight bounds concurrent lookups.
	dhtMaxInflight = 4
	dhtTimeout     = 30 * time.Second
	// A changed record is published between slots dhtPublishGap after
	// the last publish at the soonest; the gap doubles with every such
	// publish up to a slot or dhtKickMax, whichever is shorter (a record
	// that keeps changing costs no more than one publish a slot, as
	// before, and a change never waits longer than dhtKickMax even with
	// a long slot), and is short again after dhtKickQuiet without one.
	dhtPublishGap = time.Second
	dhtKickMax    = 10 * time.Second
	dhtKickQuiet  = time.Minute
)

// Discovery sources for status's discovered_via.
const (
	viaInvite = "invite"
	viaRoster = "roster"
	viaMDNS   = "mdns"
	viaDHT    = "dht"
	viaRelay  = "relay"
)

// dhtState is the engine's use of the DHT and where each peer's addresses
// came from. Its mu is a leaf: it may be taken under e.mu and takes
// nothing; DHT network work is done without it.
type dhtState struct {
	mu       sync.Mutex
	node     *dhtdisc.Node // nil when off
	via      map[key.NodePublic]string
	next     map[key.NodePublic]time.Time     // earliest next lookup
	backoff  map[key.NodePublic]time.Duration // lookup backoff
	found    map[key.NodePublic]netmap.EndpointRecord
	inflight int
	pubSeq   uint64 // the record seq last published
	pubAt    time.Time
	pubBusy  bool
	pubStart time.Time // when the last publish started
	pubErr   string
	running  bool          // routineDHT runs; syncDHT starts nothing otherwise
	kick     chan struct{} // our record changed: publish it now (routineDHT)
	kickAt   time.Time     // the last publish between slots
	kickGap  time.Duration // the gap before the next one
}

// dhtKick asks routineDHT to publish our changed record now rather than
// at the next slot: members that restarted with us look us up in that
// slot, and must find the record with our new addresses (a port mapping
// comes a moment after the first publish). It never blocks; e.mu may be
// held.
func (e *Engine) dhtKick() {
	e.dht.mu.Lock()
	k := e.dht.kick
	e.dht.mu.Unlock()
	if k != nil {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

func (d *dhtState) setVia(k key.NodePublic, via string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.via == nil {
		d.via = map[key.NodePublic]string{}
	}
	d.via[k] = via
}

// viaOf says how k's addresses were found; relayed peers whose records
// came with the roster show as found through the relay.
func (d *dhtState) viaOf(k key.NodePublic, relayed bool) string {
	d.mu.Lock()
	v := d.via[k]
	d.mu.Unlock()
	switch {
	case v != "":
		return v
	case relayed:
		return viaRelay
	}
	return viaRoster
}

// dhtWanted reports whether the DHT should run: not --no-dht and
// `ray config set dht` not off.
func (e *Engine) dhtWanted() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.cfg.NoDHT && e.prefs.DHT
}

// syncDHT starts or stops the DHT node to match dhtWanted. It does
// network work: never call it under e.mu.
func (e *Engine) syncDHT() {
	want := e.dhtWanted() && e.ctx.Err() == nil
	e.dht.mu.Lock()
	have := e.dht.node
	e.dht.mu.Unlock()
	switch {
	case want && have == nil:
		n, err := dhtdisc.New(dhtdisc.Config{Listen: e.cfg.DHTListen, Bootstrap: dhtdisc.BootstrapList(e.cfg.DHTBootstrap), Logger: e.log})
		if err != nil {
			e.log.Warn("dht off", "err", err)
			return
		}
		e.dht.mu.Lock()
		if !e.dht.running || e.dht.node != nil { // closed or raced meanwhile
			e.dht.mu.Unlock()
			n.Close()
			return
		}
		e.dht.node, e.dht.pubSeq = n, 0
		e.dht.mu.Unlock()
		e.log.Info("dht on", "addr", n.Addr())
	case !want && have != nil:
		e.dht.mu.Lock()
		e.dht.node = nil
		e.dht.mu.Unlock()
		have.Close()
		e.log.Info("dht off")
	}
}

// routineDHT publishes our record and looks up members without a path,
// at every rendezvous slot, until the engine closes.
func (e *Engine) routineDHT() {
	kick := make(chan struct{}, 1)
	e.dht.mu.Lock()
	e.dht.running, e.dht.kick = true, kick
	e.dht.mu.Unlock()
	defer func() {
		e.dht.mu.Lock()
		n := e.dht.node
		e.dht.node, e.dht.running, e.dht.kick = nil, false, nil
		e.dht.mu.Unlock()
		if n != nil {
			n.Close()
		}
	}()
	e.syncDHT()
	// Publish at once: members restarting together then find the new
	// record with their first slot's lookups.
	e.dht.mu.Lock()
	node := e.dht.node
	e.dht.mu.Unlock()
	if node != nil {
		e.dhtPublishDue(node, time.Now())
	}
	slot := e.slot()
	for {
		now := time.Now()
		select {
		case <-e.ctx.Done():
			return
		case <-time.After(nextSlot(now, slot).Sub(now)):
			e.dhtSlotTick(time.Now())
		case <-kick:
			e.dhtPublishChanged(time.Now())
		}
	}
}

// dhtPublishChanged publishes our changed record between slots, once the
// gap since the last publish has passed (sooner, it asks again then).
func (e *Engine) dhtPublishChanged(now time.Time) {
	e.dht.mu.Lock()
	if now.Sub(e.dht.kickAt) >= dhtKickQuiet {
		e.dht.kickGap = dhtPublishGap
	}
	node, wait := e.dht.node, e.dht.pubStart.Add(e.dht.kickGap).Sub(now)
	e.dht.mu.Unlock()
	switch {
	case node == nil:
	case wait > 0:
		time.AfterFunc(wait, e.dhtKick)
	case e.dhtPublishDue(node, now):
		e.dht.mu.Lock()
		e.dht.kickAt, e.dht.kickGap = now, min(2*e.dht.kickGap, e.slot(), dhtKickMax)
		e.dht.mu.Unlock()
	}
}

// nextSlot is the next multiple of slot of the wall clock after now: the
// same instant on every member whose clock is right.
func nextSlot(now time.Time, slot time.Duration) time.Time {
	return now.Truncate(slot).Add(slot)
}

// slot is the rendezvous slot.
func (e *Engine) slot() time.Duration {
	if e.cfg.DHTSlot > 0 {
		return e.cfg.DHTSlot
	}
	return dhtSlot
}

// dhtSlotTick is one rendezvous slot: probe what the last slot's lookups
// found, publish if due, start the lookups that are due.
func (e *Engine) dhtSlotTick(now time.Time) {
	e.dht.mu.Lock()
	node := e.dht.node
	found := e.dht.found
	e.dht.found = nil
	e.dht.mu.Unlock()
	if node == nil {
		return
	}
	var recs []netmap.EndpointRecord
	for _, r := range found {
		recs = append(recs, r)
	}
	if len(recs) > 0 {
		e.importRecordsVia(nil, recs, viaDHT)
		var probe []key.NodePublic
		e.mu.Lock()
		for _, r := range recs {
			if p := e.peers[r.Node]; p != nil && p.cur.Load() == nil {
				e.dht.setVia(r.Node, viaDHT)
				p.nextDial = now
				probe = append(probe, r.Node)
			}
		}
		mc := e.mc
		e.mu.Unlock()
		for _, k := range probe {
			if mc != nil {
				// Both sides, this very slot: the line lets a lab check
				// that two members probed in the same one.
				e.log.Info("dht rendezvous: probing a member found on the DHT", "peer", k.ShortString(), "slot", now.Truncate(e.slot()).UTC().Format(time.TimeOnly))
				mc.Probe(k)
			}
		}
	}
	e.dhtPublishDue(node, now)
	e.dhtLookupsDue(node, now)
}

// dhtPublishDue publishes our record in every network when it changed or
// the last publish is getting old, and reports whether it started to.
func (e *Engine) dhtPublishDue(node *dhtdisc.Node, now time.Time) bool {
	e.mu.Lock()
	rec := e.myRecord
	var nets []key.NetworkPublic
	for _, n := range e.state.Networks {
		nets = append(nets, n.ID)
	}
	e.mu.Unlock()
	e.dht.mu.Lock()
	due := len(nets) > 0 && !e.dht.pubBusy && (rec.Seq != e.dht.pubSeq || now.Sub(e.dht.pubAt) >= dhtRepublish)
	if due {
		e.dht.pubBusy, e.dht.pubStart = true, now
	}
	e.dht.mu.Unlock()
	if !due {
		return false
	}
	e.goRoutine(func() {
		var lastErr error
		ok := 0
		for _, nw := range nets {
			ctx, cancel := context.WithTimeout(e.ctx, dhtTimeout)
			err := node.Publish(ctx, nw, e.nodeKey, rec)
			cancel()
			if err != nil {
				lastErr = err
				continue
			}
			ok++
		}
		e.dht.mu.Lock()
		e.dht.pubBusy = false
		if lastErr != nil {
			e.dht.pubErr = lastErr.Error()
			e.log.Debug("dht publish", "err", lastErr)
		}
		if ok == len(nets) {
			e.dht.pubSeq, e.dht.pubAt, e.dht.pubErr = rec.Seq, time.Now(), ""
		}
		e.dht.mu.Unlock()
		e.mu.Lock()
		changed := e.myRecord.Seq != rec.Seq
		e.mu.Unlock()
		if changed && ok == len(nets) {
			e.dhtKick() // it changed while we published
		}
	})
	return true
}

// dhtLookupsDue looks up members that have no connection, each at most
// once per backoff, a few at a time. Only admitted members are looked up,
// in a network we share with them, and what is found is used only for
// them (importRecordsVia checks membership again).
func (e *Engine) dhtLookupsDue(node *dhtdisc.Node, now time.Time) {
	type want struct {
		nw key.NetworkPublic
		k  key.NodePublic
	}
	var due []want
	e.mu.Lock()
	e.dht.mu.Lock()
	for k, p := range e.peers {
		if p.cur.Load() != nil {
			delete(e.dht.next, k)
			delete(e.dht.backoff, k)
			continue
		}
		if e.dht.inflight+len(due) >= dhtMaxInflight || now.Before(e.dht.next[k]) {
			continue
		}
		for _, n := range e.state.Networks {
			if _, ok := n.Roster.Member(k); ok {
				due = append(due, want{n.ID, k})
				break
			}
		}
	}
	if e.dht.next == nil {
		e.dht.next, e.dht.backoff = map[key.NodePublic]time.Time{}, map[key.NodePublic]time.Duration{}
	}
	for _, w := range due {
		slot := e.slot()
		b := min(max(slot, 2*e.dht.backoff[w.k]), dhtLookupMax).Truncate(slot)
		e.dht.backoff[w.k] = b
		e.dht.next[w.k] = now.Add(b - slot/2) // lands on a slot
	}
	e.dht.inflight += len(due)
	e.dht.mu.Unlock()
	e.mu.Unlock()
	for _, w := range due {
		e.goRoutine(func() {
			ctx, cancel := context.WithTimeout(e.ctx, max(e.slot()*9/10, 5*time.Second))
			r, err := node.Lookup(ctx, w.nw, w.k)
			cancel()
			e.dht.mu.Lock()
			defer e.dht.mu.Unlock()
			e.dht.inflight--
			if err != nil {
				e.log.Debug("dht lookup", "peer", w.k.ShortString(), "err", err)
				return
			}
			if e.dht.found == nil {
				e.dht.found = map[key.NodePublic]netmap.EndpointRecord{}
			}
			if old, ok := e.dht.found[w.k]; !ok || old.Seq < r.Seq {
				e.dht.found[w.k] = r
			}
		})
	}
}

// DHT reports the DHT node's state (netcheck's dht).
func (e *Engine) DHT() apitype.NetcheckDHT {
	e.dht.mu.Lock()
	n, pubErr := e.dht.node, e.dht.pubErr
	e.dht.mu.Unlock()
	if n == nil {
		return apitype.NetcheckDHT{}
	}
	st := n.Stats()
	return apitype.NetcheckDHT{On: true, Nodes: st.Nodes, LastPublish: st.LastPublish, Lookups: st.Lookups,
		BytesIn: st.BytesIn, BytesOut: st.BytesOut, Error: pubErr}
}
