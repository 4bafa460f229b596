package engine

import (
	"net/netip"
	"time"

	"github.com/rayfish/rayfish/engine/mdns"
	"github.com/rayfish/rayfish/engine/netmap"
)

// setMDNSLocked starts or stops LAN discovery to match the preference.
func (e *Engine) setMDNSLocked(on bool) {
	if e.cfg.DisableMDNS {
		on = false
	}
	switch {
	case on && e.mdns == nil:
		svc, err := mdns.New(mdns.Config{
			Record: func() netmap.EndpointRecord {
				e.mu.Lock()
				defer e.mu.Unlock()
				return e.myRecord
			},
			OnRecord: func(r netmap.EndpointRecord, _ netip.AddrPort) {
				e.lanSeen.add(r, time.Now()) // where to look for open networks' admins
				e.importRecords(nil, []netmap.EndpointRecord{r})
			},
			Logger: e.log,
		})
		if err != nil {
			e.log.Warn("LAN discovery (mDNS) unavailable", "err", err)
			return
		}
		e.mdns = svc
	case !on && e.mdns != nil:
		svc := e.mdns
		e.mdns = nil
		go svc.Close() // its goroutines may be waiting for e.mu
	}
}
