package engine

import (
	"net/netip"
	"time"

	"github.com/rayfish/rayfish/engine/mdns"
	"github.com/rayfish/rayfish/engine/netmap"
)

// setMDNSLocked records whether LAN discovery should run; the reconfig
// routine starts or stops it (applyMDNS).
func (e *Engine) setMDNSLocked(on bool) {
	e.reconf.request(func() { e.reconf.mdns = on && !e.cfg.DisableMDNS })
}

// applyMDNS starts or stops LAN discovery; svc is the running service
// (nil if none), and the result is the one running afterwards. e.mdns
// mirrors it for readers under e.mu.
func (e *Engine) applyMDNS(svc *mdns.Service, on bool) *mdns.Service {
	switch {
	case on && svc == nil:
		s, err := mdns.New(mdns.Config{
			Record: func() netmap.EndpointRecord {
				e.mu.Lock()
				defer e.mu.Unlock()
				return e.myRecord
			},
			OnRecord: func(r netmap.EndpointRecord, _ netip.AddrPort) {
				e.lanSeen.add(r, time.Now()) // where to look for open networks' admins
				e.importRecordsVia(nil, []netmap.EndpointRecord{r}, viaMDNS)
			},
			Logger: e.log,
		})
		if err != nil {
			e.log.Warn("LAN discovery (mDNS) unavailable", "err", err)
			return nil
		}
		e.mu.Lock()
		e.mdns = s
		e.mu.Unlock()
		return s
	case !on && svc != nil:
		e.mu.Lock()
		e.mdns = nil
		e.mu.Unlock()
		svc.Close() // outside e.mu: its goroutines may be waiting for it
		return nil
	}
	return svc
}
