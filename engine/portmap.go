package engine

import (
	"crypto/sha256"
	"net/netip"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/portmap"
)

// Port mapping: with Config.PortMap and the portmap preference on, a
// portmap.Mapper keeps our UDP port mapped on the default gateway, and
// its external address is one of our direct candidates (magicconn
// advertises it in our endpoint record). routineReconfig starts and
// stops it; e.portmap holds it for netcheck.

// setPortMapLocked records whether port mapping should run; the reconfig
// routine applies it (applyPortMap).
func (e *Engine) setPortMapLocked(on bool) {
	e.reconf.request(func() { e.reconf.pm = on && e.cfg.PortMap })
}

// applyPortMap starts or stops the Mapper. Stopping deletes the mapping
// (waiting a few seconds at most for the gateway). Only routineReconfig
// calls it.
func (e *Engine) applyPortMap(on bool) {
	old := e.portmap.Load()
	switch {
	case on && old == nil && e.mc != nil:
		seed := sha256.Sum256(e.nodeKey.Sign([]byte("rayfish portmap seed v1")))
		m := portmap.New(portmap.Config{
			Port:     e.mc.LocalPort(),
			Seed:     seed[:],
			Gateway:  e.cfg.PortMapGateway,
			OnChange: e.portMapChanged,
			Logger:   e.log.With("part", "portmap"),
		})
		e.portmap.Store(m)
		e.relayMap.Store(e.newRelayMapper(seed[:]))
	case !on && old != nil:
		e.portmap.Store(nil)
		if r := e.relayMap.Swap(nil); r != nil {
			r.Close()
		}
		old.Close()
		e.mc.SetMappedEndpoint(netip.AddrPort{})
	}
}

// portMapChanged hands the mapped address to magicconn, which announces
// our new endpoints when they changed.
func (e *Engine) portMapChanged(st portmap.Status) {
	e.mc.SetMappedEndpoint(st.External)
	e.mappingChanged(false, st)
	e.watchers.notify()
}

// portMapStatus is the mapping for netcheck and status: our UDP port's,
// and the member relay's TCP port's when we map one. It takes e.mu:
// callers must not hold it.
func (e *Engine) portMapStatus() apitype.NetcheckPortMapping {
	m := e.portmap.Load()
	if m == nil {
		e.mu.Lock()
		on := e.prefs.PortMap
		e.mu.Unlock()
		switch {
		case !e.cfg.PortMap:
			return apitype.NetcheckPortMapping{Error: "off (ray daemon --no-portmap)"}
		case !on:
			return apitype.NetcheckPortMapping{Error: "off (ray config set portmap off)"}
		}
		return apitype.NetcheckPortMapping{Error: "not started"}
	}
	st := m.Status()
	out := apitype.NetcheckPortMapping{Protocol: string(st.Protocol), LeaseS: int(st.Lease.Seconds()), RenewAt: st.Renew, Error: st.Err}
	if st.External.IsValid() {
		out.External = st.External.String()
	}
	if st.Gateway.IsValid() {
		out.Gateway = st.Gateway.String()
	}
	if out.Protocol == "" && out.Error == "" {
		out.Error = "looking for a gateway that maps ports"
	}
	if r := e.relayMap.Load(); r != nil {
		out.RelayTCP = relayPortMapping(e.cfg.MappedRelayPort, r.Status())
	}
	return out
}

// relayPortMapping is the member relay's TCP mapping for the local API.
func relayPortMapping(port uint16, st portmap.Status) *apitype.RelayPortMapping {
	out := &apitype.RelayPortMapping{Port: int(port), Protocol: string(st.Protocol), LeaseS: int(st.Lease.Seconds()), RenewAt: st.Renew, Error: st.Err}
	if st.External.IsValid() {
		out.External = st.External.String()
	}
	if out.Protocol == "" && out.Error == "" {
		out.Error = "asking the gateway"
	}
	return out
}
