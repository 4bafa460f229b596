package engine

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/portmap"
)

// A member relay is a relay a node serves for the members of its
// networks who cannot meet directly. The daemon serves one when asked
// (--serve-relay) or, by default, when the node is reachable: it has a
// public address, or its gateway maps its ports. In the first two cases
// the URL is fixed (Config.ServeRelay); in the last the daemon listens on
// Config.MappedRelayPort and the engine maps that TCP port next to its
// UDP one: once the gateway granted both, the relay's URL is the TCP
// mapping's external address, advertised like a fixed one. Our own
// connection to it goes to the local port (a home router seldom loops
// its WAN address back). A member relay is only ever our own home relay
// and the meet relay of other members, never anyone's STUN server or
// home relay unless they configured it (relayList).

// ServeMemberRelay reports whether a node serves a relay for its
// networks' members: when the user asked for one (--serve-relay), else by
// default when it is reachable — a public address, or a port mapping on
// its gateway — unless `ray config set serve-relay off` (pref false).
func ServeMemberRelay(asked, pref, public, mapped bool) bool {
	return asked || pref && (public || mapped)
}

// mappedRelay is the member relay reachable through port mappings.
type mappedRelay struct {
	url   string         // what members dial: http://EXTERNAL:PORT
	ext   netip.AddrPort // the TCP mapping's external address
	local string         // where we dial it ourselves: 127.0.0.1:PORT
}

// mappedRelayFor is the member relay that mappings udp and tcp make
// reachable (nil if none): both must be granted, the UDP one making the
// node reachable, the TCP one carrying the relay.
func mappedRelayFor(pref bool, port uint16, udp, tcp portmap.Status) *mappedRelay {
	mapped := udp.External.IsValid() && tcp.External.IsValid()
	if port == 0 || !ServeMemberRelay(false, pref, false, mapped) {
		return nil
	}
	return &mappedRelay{
		url:   "http://" + tcp.External.String(),
		ext:   tcp.External,
		local: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port).String(),
	}
}

// servedRelayURL is the member relay we serve: the fixed one, else the
// mapped one, else "".
func (e *Engine) servedRelayURL() string {
	if e.cfg.ServeRelay != "" {
		return e.cfg.ServeRelay
	}
	if r := e.mappedRelay.Load(); r != nil {
		return r.url
	}
	return ""
}

// newRelayMapper starts the Mapper of the member relay's TCP port, if
// the daemon listens on one and the user did not turn serving off.
func (e *Engine) newRelayMapper(seed []byte) *portmap.Mapper {
	e.mu.Lock()
	pref := e.prefs.ServeRelay
	e.mu.Unlock()
	if e.cfg.MappedRelayPort == 0 || e.cfg.ServeRelay != "" || !pref {
		return nil
	}
	return portmap.New(portmap.Config{
		Port:     e.cfg.MappedRelayPort,
		TCP:      true,
		Seed:     seed,
		Gateway:  e.cfg.PortMapGateway,
		OnChange: func(st portmap.Status) { e.mappingChanged(true, st); e.watchers.notify() },
		Logger:   e.log.With("part", "portmap", "mapping", "relay tcp"),
	})
}

// mappingChanged records a Mapper's new status (tcp: the relay's) and,
// when the mapped member relay appeared, moved or went, hands the new
// relay list to magicconn and re-signs our endpoint record.
func (e *Engine) mappingChanged(tcp bool, st portmap.Status) {
	e.mu.Lock()
	pref := e.prefs.ServeRelay
	e.mu.Unlock()
	e.pmMu.Lock()
	if tcp {
		e.pmTCP = st
	} else {
		e.pmUDP = st
	}
	next := mappedRelayFor(pref, e.cfg.MappedRelayPort, e.pmUDP, e.pmTCP)
	old := e.mappedRelay.Load()
	changed := (old == nil) != (next == nil) || old != nil && *old != *next
	if changed {
		e.mappedRelay.Store(next)
	}
	e.pmMu.Unlock()
	if !changed || e.ctx.Err() != nil {
		return
	}
	if next != nil {
		e.log.Info("reachable through the gateway's port mappings: serving a relay for members of our networks (ray config set serve-relay off)", "url", next.url)
	} else {
		e.log.Info("member relay no longer reachable: its port mapping is gone")
	}
	e.mu.Lock()
	e.updateRelaysLocked()
	e.mu.Unlock()
	e.onEndpointsChanged()
}

// relayDialer wraps dial so that our own connection to the mapped member
// relay goes to its local port.
func (e *Engine) relayDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if r := e.mappedRelay.Load(); r != nil && addr == r.ext.String() {
			addr = r.local
		}
		return dial(ctx, network, addr)
	}
}

// memberRelayStatus says whether we serve a member relay and at which
// URL, or why not, given our port mappings pm (portMapStatus). It takes
// e.mu: callers must not hold it.
func (e *Engine) memberRelayStatus(pm apitype.NetcheckPortMapping) *apitype.MemberRelay {
	if e.cfg.ServeRelay != "" {
		return &apitype.MemberRelay{Serving: true, URL: e.cfg.ServeRelay, Via: apitype.MemberRelayConfigured}
	}
	if r := e.mappedRelay.Load(); r != nil {
		return &apitype.MemberRelay{Serving: true, URL: r.url, Via: apitype.MemberRelayMapped}
	}
	e.mu.Lock()
	pref := e.prefs.ServeRelay
	e.mu.Unlock()
	return &apitype.MemberRelay{Why: memberRelayWhy(pref, e.cfg.MemberRelayError, e.cfg.MappedRelayPort, pm)}
}

// memberRelayWhy says in one line why a node serves no member relay: pref
// is `ray config set serve-relay`, busy why the daemon could not listen
// on the relay's port, port the relay port it maps (0: none) and pm our
// port mappings.
func memberRelayWhy(pref bool, busy string, port uint16, pm apitype.NetcheckPortMapping) string {
	const unreachable = "not reachable: no public address"
	switch {
	case !pref:
		return "off (ray config set serve-relay off)"
	case busy != "":
		return busy
	case pm.Protocol == "" && strings.HasPrefix(pm.Error, "off "):
		return unreachable + ", and port mapping is " + pm.Error
	case port == 0:
		return unreachable + ", and no relay port to map"
	case pm.External == "":
		return unreachable + ", and the gateway maps no UDP port yet" + because(pm.Error)
	case pm.RelayTCP == nil || pm.RelayTCP.External == "":
		why := ""
		if pm.RelayTCP != nil {
			why = pm.RelayTCP.Error
		}
		return fmt.Sprintf("not reachable yet: the gateway has not mapped the relay's TCP port %d%s", port, because(why))
	}
	return "waiting for the port mappings to settle"
}

// because is ": why", or "" without a reason.
func because(why string) string {
	if why == "" {
		return ""
	}
	return ": " + why
}
