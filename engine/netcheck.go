package engine

import (
	"context"
	"errors"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Netcheck probes connectivity: our UDP port, reflexive addresses and NAT
// mapping behaviour from STUN, and the latency of each relay.
func (e *Engine) Netcheck(ctx context.Context) (apitype.Netcheck, error) {
	if e.mc == nil {
		return apitype.Netcheck{}, errors.New("not started")
	}
	r, err := e.mc.Netcheck(ctx)
	if err != nil {
		return apitype.Netcheck{}, err
	}
	pm := e.portMapStatus()
	out := apitype.Netcheck{
		UDPPort:     int(r.UDPPort),
		MappingV4:   r.MappingV4.String(),
		MappingV6:   r.MappingV6.String(),
		HomeRelay:   r.HomeRelay,
		STUN:        []apitype.NetcheckSTUN{},
		Relays:      []apitype.NetcheckRelay{},
		PortMapping: pm,
		MemberRelay: e.memberRelayStatus(pm),
		DHT:         e.DHT(),
		DNS:         e.dnsHealth(),
	}
	if r.ReflexiveV4.IsValid() {
		out.ReflexiveV4 = r.ReflexiveV4.String()
	}
	if r.ReflexiveV6.IsValid() {
		out.ReflexiveV6 = r.ReflexiveV6.String()
	}
	for _, s := range r.STUN {
		ns := apitype.NetcheckSTUN{Server: s.Server.String(), RTTMs: ms(s.RTT), Error: s.Err}
		if s.Reflexive.IsValid() {
			ns.Reflexive = s.Reflexive.String()
		}
		out.STUN = append(out.STUN, ns)
	}
	for _, rr := range r.Relays {
		out.Relays = append(out.Relays, apitype.NetcheckRelay{URL: rr.URL, LatencyMs: ms(rr.Latency), Error: rr.Err})
	}
	return out, nil
}

// ms converts a duration to float milliseconds for the API.
func ms(d interface{ Microseconds() int64 }) float64 { return float64(d.Microseconds()) / 1000 }

// dnsHealth asks the daemon whether the OS resolver points at magic DNS;
// nil when it cannot tell.
func (e *Engine) dnsHealth() *apitype.DNSHealth {
	if e.cfg.DNSHealth == nil {
		return nil
	}
	h := e.cfg.DNSHealth()
	return &h
}
