package engine

import (
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/engine/relay"
)

// defaultSTUNPort is where relays answer STUN (`ray relay --stun-port`).
const defaultSTUNPort = 3478

// relayList is the relays to use as home relay and STUN servers, in
// order: the daemon's --relay flags, then `ray config set relay`, then
// the relay this node serves. Relays that other members advertise are
// not among them unless the user configured them: a member must not be
// able to make itself everyone's home relay and STUN server. They serve
// only to reach members (as their home relay, or the meet relay).
func (e *Engine) relayList() []string {
	var out []string
	add := func(u string) {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	for _, u := range e.cfg.Relays {
		add(u)
	}
	for _, u := range e.prefs.Relays {
		add(u)
	}
	add(e.servedRelayURL())
	return out
}

// meetRelayLocked picks, among the relays members advertise, the one
// through which to reach members that advertise none: the first by URL,
// so that two such members pick the same one and meet there.
func (e *Engine) meetRelayLocked() string {
	var meet string
	for k, r := range e.state.Endpoints {
		if _, ok := e.peers[k]; ok && r.Relay != "" && (meet == "" || r.Relay < meet) {
			meet = r.Relay
		}
	}
	return meet
}

// relayOptions are the relay connection options: a relay that refused us
// is tried again soon, since a member-served relay refuses a joiner only
// until the roster that admits it arrives.
func (e *Engine) relayOptions() relay.ConnOptions {
	o := e.cfg.RelayOptions
	if o.RefusedBackoff == 0 {
		o.RefusedBackoff = 3 * time.Second
	}
	if e.cfg.MappedRelayPort != 0 {
		o.DialContext = e.relayDialer(o.DialContext)
	}
	return o
}

// stunServers derives STUN servers from the relay URLs' hosts.
func (e *Engine) stunServers() []netip.AddrPort {
	var out []netip.AddrPort
	for _, r := range e.relayList() {
		u, err := url.Parse(r)
		if err != nil {
			continue
		}
		ips, err := net.DefaultResolver.LookupNetIP(e.ctx, "ip", u.Hostname())
		if err != nil {
			continue
		}
		for _, ip := range ips {
			ap := netip.AddrPortFrom(ip.Unmap(), defaultSTUNPort)
			if !slices.Contains(out, ap) {
				out = append(out, ap)
			}
		}
	}
	return out
}

// updateRelaysLocked hands a changed relay list and meet relay to
// magicconn.
func (e *Engine) updateRelaysLocked() {
	if e.mc != nil {
		e.mc.SetRelays(e.relayList())
		e.mc.SetMeetRelay(e.meetRelayLocked())
	}
}

// onEndpointsChanged runs when magicconn learned new reflexive addresses
// or a new home relay: re-sign and publish our endpoint record.
func (e *Engine) onEndpointsChanged() {
	changed := e.refreshEndpoints()
	e.mu.Lock()
	svc := e.mdns
	e.mu.Unlock()
	if changed {
		e.broadcastRecord()
		if svc != nil {
			svc.Announce()
		}
	}
}

// SharesNetwork reports whether k is a member of one of our networks: the
// relay this node serves admits only those.
func (e *Engine) SharesNetwork(k key.NodePublic) bool {
	if k == e.self {
		return true // our own home relay connection
	}
	return e.isMember(k) // per relay connection: no engine lock
}

// tellPeerLocked gives magicconn what we know of a member's whereabouts
// (r may be empty but for Node). It is the gate in front of
// magicconn.SetPeer, after which magicconn pings the addresses and dials
// the relay named: for a node that is not an admitted member (a joiner
// whose secret is not checked yet, a stale record) it does nothing, so
// nobody can make us contact addresses or relays of their choosing.
func (e *Engine) tellPeerLocked(r netmap.EndpointRecord) {
	if _, ok := e.peers[r.Node]; ok && e.mc != nil {
		e.mc.SetPeer(r.Node, r.Addrs, r.Relay)
	}
}

// forgetInviter ends the protection tellInviterLocked gave inviter.
func (e *Engine) forgetInviter(inviter key.NodePublic) {
	e.mu.Lock()
	delete(e.inviters, inviter)
	e.mu.Unlock()
}

// tellInviterLocked gives magicconn the whereabouts of the admin whose
// invite code we redeem: the user vouched for it by entering the code.
func (e *Engine) tellInviterLocked(inv netmap.Invite) {
	now := time.Now()
	maps.DeleteFunc(e.inviters, func(_ key.NodePublic, at time.Time) bool { return now.Sub(at) > joinWaitMax })
	e.inviters[inv.Inviter] = now
	if e.mc != nil {
		e.mc.SetPeer(inv.Inviter, inv.Addrs, inv.Relay)
	}
}
