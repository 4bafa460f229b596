// Package apiconv converts the engine's values (firewall rules and
// suggestions, networks, join requests, peer states) to and from the
// local API's types (engine/localapi/apitype). It holds no state and
// takes no lock: the engine gathers what it converts under its own.
package apiconv

import (
	"time"

	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Names names peers and networks for the API; each returns "" for a key
// it does not know, and the key is shown instead.
type Names struct {
	Peer    func(key.NodePublic) string
	Network func(key.NetworkPublic) string
}

// FirewallRule converts r.
func FirewallRule(r firewall.Rule, names Names) apitype.FirewallRule {
	ar := apitype.FirewallRule{Direction: r.Direction.String(), Action: r.Action.String(), Proto: r.Proto.String(), Seeded: r.Seeded}
	if len(r.Ports) > 0 {
		ar.Ports = firewall.FormatPorts(r.Ports)
	}
	if !r.Peer.IsZero() {
		ar.Peer = r.Peer.String()
		ar.PeerHostname = names.Peer(r.Peer)
	}
	if !r.Network.IsZero() {
		ar.Network = r.Network.String()
		if name := names.Network(r.Network); name != "" {
			ar.Network = name
		}
	}
	return ar
}

// ParseFirewallRule converts ar's direction, action, protocol and ports;
// its peer and network, which name things, are the caller's to resolve.
func ParseFirewallRule(ar apitype.FirewallRule) (firewall.Rule, error) {
	var r firewall.Rule
	var err error
	if r.Direction, err = firewall.ParseDirection(ar.Direction); err != nil {
		return r, err
	}
	if r.Action, err = firewall.ParseAction(ar.Action); err != nil {
		return r, err
	}
	proto := ar.Proto
	if proto == "" {
		proto = "any"
	}
	if r.Proto, err = firewall.ParseProto(proto); err != nil {
		return r, err
	}
	r.Ports, err = firewall.ParsePorts(ar.Ports)
	return r, err
}

// FirewallState converts the firewall's policy: local rules (numbered
// from 1) and the suggestions of each of networks, in their order.
func FirewallState(rs firewall.Ruleset, sug firewall.Suggested, networks []*netmap.Network, flows int, stats map[string]uint64, names Names) apitype.FirewallState {
	st := apitype.FirewallState{
		DefaultIn:  rs.DefaultIn.String(),
		DefaultOut: rs.DefaultOut.String(),
		Reject:     rs.Reject,
		Rules:      []apitype.FirewallRule{},
		Suggested:  []apitype.SuggestedRules{},
		Flows:      flows,
		Stats:      stats,
	}
	for i, r := range rs.Rules {
		ar := FirewallRule(r, names)
		ar.Index = i + 1
		st.Rules = append(st.Rules, ar)
	}
	for _, n := range networks {
		ns := sug.Networks[n.ID]
		if ns == nil {
			continue
		}
		sr := apitype.SuggestedRules{Network: n.Name, State: ns.State.String(), AutoAccept: ns.AutoAccept,
			Offered: []apitype.FirewallRule{}, Active: []apitype.FirewallRule{}}
		for _, r := range ns.Offered {
			sr.Offered = append(sr.Offered, FirewallRule(r, names))
		}
		for _, r := range ns.Active {
			sr.Active = append(sr.Active, FirewallRule(r, names))
		}
		st.Suggested = append(st.Suggested, sr)
	}
	return st
}

// Network converts n as status lists it.
func Network(n *netmap.Network) apitype.Network {
	return apitype.Network{Name: n.Name, ID: n.ID.String(), Admin: n.IsAdmin(), Open: n.Roster.Open,
		Version: n.Roster.Version, Members: len(n.Roster.Members), KeyGeneration: n.Generation()}
}

// JoinRequests lists n's pending join requests at now (none unless we
// are its admin).
func JoinRequests(n *netmap.Network, now time.Time) []apitype.JoinRequest {
	if !n.IsAdmin() {
		return nil
	}
	var out []apitype.JoinRequest
	for _, r := range n.PendingRequests(now) {
		out = append(out, apitype.JoinRequest{Network: n.Name, ID: r.Node.String(), Hostname: r.Hostname, Received: r.Received})
	}
	return out
}

// PeerState is a peer's state: offline, standby (ray down on that node)
// or online.
func PeerState(online, standby bool) string {
	switch {
	case !online:
		return apitype.PeerOffline
	case standby:
		return apitype.PeerStandby
	}
	return apitype.PeerOnline
}
