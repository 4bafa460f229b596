// Package firewall is rayfish's per-host, stateful firewall for tunnel
// traffic. It is pure logic: the data path parses a packet into a
// packet.Info, names the peer it comes from or goes to and the networks
// that peer shares with this host, and asks Inbound or Outbound for a
// verdict.
//
// # Policy
//
// Rules are evaluated newest first and the first match wins: first this
// host's own rules (Ruleset), then the admin-suggested rules the user
// accepted (Suggested, each scoped to its network), then the direction's
// default. A new node denies inbound, allows outbound, and has one seeded,
// removable rule allowing inbound ICMP so peers can ping it.
//
// # State
//
// Packets that a rule allows open a tracked flow; later packets of that
// flow, in either direction, pass without consulting the rules, as long as
// they come from or go to the same peer and the policy still allows the
// flow (a policy change is applied to existing flows on their next packet).
// So replies to outbound connections pass the inbound default, and replies
// to allowed inbound connections pass even if the outbound default is deny.
// Flows idle out after DefaultTCPTimeout, DefaultUDPTimeout,
// DefaultICMPTimeout or DefaultOtherTimeout, by protocol; a TCP flow ends
// DefaultLinger after a RST or after FINs in both directions. The number of
// flows is capped per peer and in total.
//
// A flow belongs to its peer. A packet with a tracked flow's addresses and
// ports that comes from a different peer is a spoof (the reference design
// this replaces, like Nebula before it, let one peer inject packets into
// another's connection that way) and is dropped.
//
// # Special cases
//
//   - Non-first fragments carry no ports and are accepted: without the
//     first fragment, which is filtered, they cannot be reassembled. A
//     first fragment too short to hold its transport header is dropped.
//   - ICMP errors (unreachable, packet too big, time exceeded, parameter
//     problem) are related traffic: they pass, so path MTU discovery
//     works under a deny default, when the packet they quote belongs to a
//     live flow of the same peer and was sent by the error's destination.
//     A peer cannot forge errors about another peer's flows, nor about
//     flows that do not exist. Otherwise they go through the rules like
//     any packet.
//   - Reject mode answers a denied packet (Verdict Reject, see
//     BuildReject), except TCP resets, ICMP errors and packets from or to
//     multicast or unspecified addresses, which are dropped.
//
// Time is passed in as monotonic nanoseconds, so the firewall holds no
// clock and tests are deterministic. The caller should call Expire now and
// then (every few seconds) to free idle flows early; correctness does not
// depend on it.
package firewall

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

// Verdict is the firewall's decision about one packet. The zero value is
// Drop.
type Verdict uint8

// Verdicts.
const (
	// Drop discards the packet silently.
	Drop Verdict = iota
	// Accept lets the packet through.
	Accept
	// Reject discards the packet and asks the caller to answer it with
	// BuildReject: into the TUN for an outbound packet, to the peer for
	// an inbound one. The answer is sent as is, without passing the
	// firewall.
	Reject
)

func (v Verdict) String() string {
	switch v {
	case Drop:
		return "drop"
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// Drop and event reasons reported by Stats.
const (
	ReasonIn      = "firewall_in"       // inbound packet denied
	ReasonOut     = "firewall_out"      // outbound packet denied
	ReasonSpoof   = "firewall_spoof"    // packet matched another peer's flow
	ReasonEvicted = "conntrack_evicted" // live flow evicted to respect a cap
)

// Config sizes the connection tracker. Zero fields take the defaults.
type Config struct {
	// MaxFlows caps tracked flows in total (default DefaultMaxFlows).
	MaxFlows int
	// MaxFlowsPerPeer caps tracked flows per peer (default
	// DefaultMaxFlowsPerPeer).
	MaxFlowsPerPeer int
	// Idle timeouts by protocol (defaults: DefaultTCPTimeout and so on).
	TCPTimeout, UDPTimeout, ICMPTimeout, OtherTimeout time.Duration
	// Linger is how long a TCP flow lives on after a RST or after FINs
	// in both directions (default DefaultLinger), so the last ACKs pass.
	Linger time.Duration
}

// Defaults.
const (
	DefaultMaxFlows        = 65536
	DefaultMaxFlowsPerPeer = 4096
	DefaultTCPTimeout      = 300 * time.Second
	DefaultUDPTimeout      = 30 * time.Second
	DefaultICMPTimeout     = 30 * time.Second
	DefaultOtherTimeout    = 30 * time.Second
	DefaultLinger          = 5 * time.Second
)

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// policy is an installed, immutable rule set: the data path reads it
// through an atomic pointer without locking.
type policy struct {
	gen            uint64
	in, out        []Rule
	defIn, defOut  Action
	reject         bool
	ruleset        Ruleset
	suggested      Suggested
	suggestedRules []Rule
}

func (p *policy) eval(q *query) Action {
	rules, def := p.out, p.defOut
	if q.dir == In {
		rules, def = p.in, p.defIn
	}
	for i := range rules {
		if rules[i].matches(q) {
			return rules[i].Action
		}
	}
	return def
}

// allowsFlow reports whether the policy still allows f's opening packet.
func (p *policy) allowsFlow(f *flow, peer *key.NodePublic, nets NetSet) bool {
	q := query{dir: f.origin, proto: f.key.proto, peer: peer, nets: nets}
	if q.proto == packet.ProtoTCP || q.proto == packet.ProtoUDP {
		q.hasPort = true
		q.port = f.key.rport
		if f.origin == In {
			q.port = f.key.lport
		}
	}
	return p.eval(&q) == Allow
}

func compile(gen uint64, rs Ruleset, s Suggested) *policy {
	p := &policy{
		gen:       gen,
		defIn:     rs.DefaultIn,
		defOut:    rs.DefaultOut,
		reject:    rs.Reject,
		ruleset:   rs,
		suggested: s,
	}
	p.suggestedRules = s.Rules()
	for _, list := range [][]Rule{rs.Rules, p.suggestedRules} {
		for _, r := range list {
			if r.Direction == In {
				p.in = append(p.in, r)
			} else {
				p.out = append(p.out, r)
			}
		}
	}
	return p
}

// Firewall filters tunnel packets. It is safe for concurrent use; Inbound
// and Outbound do not allocate once flows exist (creating a flow may grow
// the tracker's tables until they reach their working size).
type Firewall struct {
	ct *conntrack

	// mu serializes policy changes; readers use policy alone.
	mu     sync.Mutex
	gen    uint64
	policy atomic.Pointer[policy]

	dropIn, dropOut, spoofed atomic.Uint64
}

// New returns a firewall with DefaultRuleset and no suggested rules.
func New(cfg Config) *Firewall {
	t := timeouts{
		tcp:    int64(orDefault(cfg.TCPTimeout, DefaultTCPTimeout)),
		udp:    int64(orDefault(cfg.UDPTimeout, DefaultUDPTimeout)),
		icmp:   int64(orDefault(cfg.ICMPTimeout, DefaultICMPTimeout)),
		other:  int64(orDefault(cfg.OtherTimeout, DefaultOtherTimeout)),
		linger: int64(orDefault(cfg.Linger, DefaultLinger)),
	}
	maxTotal := orDefault(cfg.MaxFlows, DefaultMaxFlows)
	maxPerPeer := min(orDefault(cfg.MaxFlowsPerPeer, DefaultMaxFlowsPerPeer), maxTotal)
	f := &Firewall{ct: newConntrack(maxTotal, maxPerPeer, t)}
	f.policy.Store(compile(0, DefaultRuleset(), Suggested{}))
	return f
}

// Ruleset returns a copy of the installed ruleset.
func (f *Firewall) Ruleset() Ruleset { return f.policy.Load().ruleset.Clone() }

// Suggested returns a copy of the installed suggestions.
func (f *Firewall) Suggested() Suggested { return f.policy.Load().suggested.Clone() }

// SetRuleset validates and installs a copy of rs.
func (f *Firewall) SetRuleset(rs Ruleset) error {
	return f.Update(func(cur *Ruleset, _ *Suggested) error {
		*cur = rs.Clone()
		return nil
	})
}

// SetSuggested validates and installs a copy of s.
func (f *Firewall) SetSuggested(s Suggested) error {
	return f.Update(func(_ *Ruleset, cur *Suggested) error {
		*cur = s.Clone()
		return nil
	})
}

// Update calls fn with copies of the installed ruleset and suggestions and,
// if fn returns nil and the result is valid, installs them. Updates are
// serialized, so fn sees the effect of every earlier one; fn must not call
// the firewall. Existing flows are checked against the new policy on their
// next packet.
func (f *Firewall) Update(fn func(rs *Ruleset, s *Suggested) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := f.policy.Load()
	rs, s := cur.ruleset.Clone(), cur.suggested.Clone()
	if err := fn(&rs, &s); err != nil {
		return err
	}
	if err := rs.Validate(); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	f.gen++
	f.policy.Store(compile(f.gen, rs.Clone(), s.Clone()))
	return nil
}

// Outbound judges a packet this host sends to peer, which shares networks
// with it. now is monotonic time in nanoseconds.
func (f *Firewall) Outbound(info *packet.Info, peer key.NodePublic, networks NetSet, now int64) Verdict {
	return f.filter(Out, info, &peer, networks, now)
}

// Inbound judges a packet received from peer, which shares networks with
// this host. now is monotonic time in nanoseconds.
func (f *Firewall) Inbound(info *packet.Info, peer key.NodePublic, networks NetSet, now int64) Verdict {
	return f.filter(In, info, &peer, networks, now)
}

func (f *Firewall) filter(dir Direction, info *packet.Info, peer *key.NodePublic, nets NetSet, now int64) Verdict {
	pol := f.policy.Load()
	if info.Fragment && info.FragOffset != 0 {
		return Accept
	}
	q := query{dir: dir, proto: info.Proto, peer: peer, nets: nets}
	switch info.Proto {
	case packet.ProtoTCP, packet.ProtoUDP:
		q.port, q.hasPort = info.DstPort, true
		fallthrough
	case packet.ProtoICMPv4, packet.ProtoICMPv6:
		if !info.HasTransport {
			return f.deny(dir, pol, info, false)
		}
	}
	if isICMPError(info) {
		if f.ct.related(dir, info, peer, now) || pol.eval(&q) == Allow {
			return Accept
		}
		return f.deny(dir, pol, info, false)
	}
	k := keyFor(dir, info)
	res := f.ct.check(&k, peer, dir, info, now, pol, nets)
	switch {
	case res == ctHit:
		return Accept
	case res == ctOtherPeer && dir == In:
		f.spoofed.Add(1)
		return Drop
	}
	if pol.eval(&q) == Allow {
		if f.ct.track(&k, peer, dir, info, now, pol.gen) {
			return Accept
		}
		f.spoofed.Add(1) // another peer's flow appeared meanwhile
		return Drop
	}
	if res == ctRevoked || res == ctRestart {
		f.ct.forget(&k, peer)
	}
	return f.deny(dir, pol, info, true)
}

func (f *Firewall) deny(dir Direction, pol *policy, info *packet.Info, rejectable bool) Verdict {
	if dir == In {
		f.dropIn.Add(1)
	} else {
		f.dropOut.Add(1)
	}
	if pol.reject && rejectable && canReject(info) {
		return Reject
	}
	return Drop
}

// canReject reports whether a denied packet may be answered (RFC 1122
// 3.2.2, RFC 4443 2.4(e), RFC 9293: never answer a RST, an ICMP error, or
// a packet from or to a multicast or unspecified address).
func canReject(info *packet.Info) bool {
	if !unicast(info.Src) || !unicast(info.Dst) || info.Src.Is4() != info.Dst.Is4() {
		return false
	}
	switch info.Proto {
	case packet.ProtoTCP:
		return info.TCPFlags&packet.TCPRst == 0
	case packet.ProtoICMPv4, packet.ProtoICMPv6:
		return !isICMPError(info)
	}
	return true
}

// unicast reports whether a may send or receive an answer: not
// unspecified, loopback, multicast, or IPv4 broadcast or class E.
func unicast(a netip.Addr) bool {
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() {
		return false
	}
	return !a.Is4() || a.As4()[0] < 240
}

// isICMPError reports whether info is an ICMP error message.
func isICMPError(info *packet.Info) bool { return packet.IsICMPError(info) }

// Stats returns counters by reason: ReasonIn, ReasonOut, ReasonSpoof and
// ReasonEvicted.
func (f *Firewall) Stats() map[string]uint64 {
	return map[string]uint64{
		ReasonIn:      f.dropIn.Load(),
		ReasonOut:     f.dropOut.Load(),
		ReasonSpoof:   f.spoofed.Load(),
		ReasonEvicted: f.ct.evicted.Load(),
	}
}

// Flows returns the number of tracked flows, expired ones not yet removed
// included.
func (f *Firewall) Flows() int { return f.ct.len() }

// Expire removes flows that have ended by now and returns how many.
func (f *Firewall) Expire(now int64) int { return f.ct.expire(now) }

// ForgetPeer drops every flow of peer; call it when a peer no longer
// shares a network with this host.
func (f *Firewall) ForgetPeer(peer key.NodePublic) { f.ct.forgetPeer(peer) }

// String renders the installed policy for `ray firewall show`: the local
// ruleset, then the suggested rules of each network.
func (f *Firewall) String() string {
	p := f.policy.Load()
	return p.ruleset.String() + "\nsuggested rules:\n" + p.suggested.String()
}
