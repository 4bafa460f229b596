package engine

import (
	"time"

	"github.com/rayfish/rayfish/engine/history"
	"github.com/rayfish/rayfish/engine/key"
)

// sampleHistory adds one sample to every peer's history ring from the
// counters the engine keeps anyway (the connection's smoothed round trip
// and the data plane's byte counters), and drops the rings of nodes that
// are no longer peers. routineMaintain calls it every history.Interval;
// it does no per-packet work and no I/O.
func (e *Engine) sampleHistory(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hist == nil {
		e.hist = make(map[key.NodePublic]*history.Ring, len(e.peers))
	}
	for k := range e.hist {
		if e.peers[k] == nil {
			delete(e.hist, k)
		}
	}
	for k, p := range e.peers {
		r := e.hist[k]
		if r == nil {
			r = new(history.Ring)
			e.hist[k] = r
		}
		tx, rx := p.dp.Bytes()
		rtt := 0.0
		if pc := p.cur.Load(); pc != nil {
			rtt = ms(pc.qc.ConnectionStats().SmoothedRTT)
		}
		r.Add(now, rtt, rx, tx)
	}
}
