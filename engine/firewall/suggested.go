package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rayfish/rayfish/engine/key"
)

// SuggestState is where a network's suggested rules stand.
type SuggestState uint8

// Suggestion states.
const (
	// SuggestNone: the network suggests no rules.
	SuggestNone SuggestState = iota
	// SuggestPending: the offered rules await the user's decision.
	SuggestPending
	// SuggestAccepted: the offered rules are in force.
	SuggestAccepted
	// SuggestDenied: the user refused the offered rules.
	SuggestDenied
)

func (s SuggestState) String() string {
	switch s {
	case SuggestNone:
		return "none"
	case SuggestPending:
		return "pending"
	case SuggestAccepted:
		return "accepted"
	case SuggestDenied:
		return "denied"
	}
	return fmt.Sprintf("SuggestState(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s SuggestState) MarshalText() ([]byte, error) {
	if s > SuggestDenied {
		return nil, fmt.Errorf("invalid suggestion state %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *SuggestState) UnmarshalText(b []byte) error {
	switch string(b) {
	case "none", "":
		*s = SuggestNone
	case "pending":
		*s = SuggestPending
	case "accepted":
		*s = SuggestAccepted
	case "denied":
		*s = SuggestDenied
	default:
		return fmt.Errorf("invalid suggestion state %q", b)
	}
	return nil
}

// NetworkSuggestion is one network's suggested rules and the user's
// decision about them.
type NetworkSuggestion struct {
	// Offered is the latest rule set from the network's roster, every
	// rule scoped to the network.
	Offered []Rule `json:"offered,omitempty"`
	// Active is the rule set in force: the last one accepted. It stays
	// in force while a newer offer is pending, and is cleared by a
	// denial or an empty offer.
	Active []Rule `json:"active,omitempty"`
	// State is the state of Offered.
	State      SuggestState `json:"state"`
	AutoAccept bool         `json:"auto_accept,omitempty"`
}

// Suggested holds the admin-suggested rules of every network this host is
// in. Admins put suggestions in the signed roster; a node applies them only
// with its user's consent, given once per offered rule set (Accept) or for
// good (AutoAccept). Accepted rules are scoped to their network: they match
// only peers that share it.
//
// Suggested is a plain value, not safe for concurrent use; the Firewall
// copies it when installing it. The zero value is empty and ready to use.
type Suggested struct {
	Networks map[key.NetworkPublic]*NetworkSuggestion `json:"networks,omitempty"`
}

func (s *Suggested) get(network key.NetworkPublic, create bool) *NetworkSuggestion {
	ns := s.Networks[network]
	if ns == nil && create {
		if s.Networks == nil {
			s.Networks = make(map[key.NetworkPublic]*NetworkSuggestion)
		}
		ns = &NetworkSuggestion{}
		s.Networks[network] = ns
	}
	return ns
}

// Offer records the rules network's roster currently suggests and returns
// the resulting state. Each rule is scoped to network (its Network is
// overwritten: an admin of one network cannot write rules for another).
// An unchanged offer keeps its state; a changed one becomes pending, or
// accepted at once under auto-accept; an empty one clears the network's
// suggested rules.
func (s *Suggested) Offer(network key.NetworkPublic, rules []Rule) (SuggestState, error) {
	if network.IsZero() {
		return 0, fmt.Errorf("firewall: suggestion for zero network")
	}
	if len(rules) > MaxRules {
		return 0, fmt.Errorf("firewall: network %s suggests too many rules (max %d)", network.ShortString(), MaxRules)
	}
	scoped := make([]Rule, len(rules))
	for i, r := range rules {
		r = r.Clone()
		r.Network = network
		r.Seeded = false
		if err := r.Validate(); err != nil {
			return 0, fmt.Errorf("firewall: network %s suggested rule #%d: %w", network.ShortString(), i+1, err)
		}
		scoped[i] = r
	}
	ns := s.get(network, true)
	if rulesEqual(ns.Offered, scoped) {
		return ns.State, nil
	}
	switch {
	case len(scoped) == 0:
		ns.Offered, ns.Active, ns.State = nil, nil, SuggestNone
	case ns.AutoAccept:
		ns.Offered, ns.Active, ns.State = scoped, cloneRules(scoped), SuggestAccepted
	default:
		ns.Offered, ns.State = scoped, SuggestPending
	}
	return ns.State, nil
}

// Pending returns network's offered rules if they await a decision.
func (s *Suggested) Pending(network key.NetworkPublic) []Rule {
	ns := s.get(network, false)
	if ns == nil || ns.State != SuggestPending {
		return nil
	}
	return cloneRules(ns.Offered)
}

// State returns the state of network's offered rules.
func (s *Suggested) State(network key.NetworkPublic) SuggestState {
	if ns := s.get(network, false); ns != nil {
		return ns.State
	}
	return SuggestNone
}

// Accept puts network's offered rules in force. Accepting a denied offer
// is allowed (the user changed their mind).
func (s *Suggested) Accept(network key.NetworkPublic) error {
	ns := s.get(network, false)
	if ns == nil || len(ns.Offered) == 0 {
		return fmt.Errorf("firewall: network %s suggests no rules", network.ShortString())
	}
	ns.Active, ns.State = cloneRules(ns.Offered), SuggestAccepted
	return nil
}

// Deny refuses network's offered rules and takes any accepted ones out of
// force. Denying an accepted offer withdraws the consent.
func (s *Suggested) Deny(network key.NetworkPublic) error {
	ns := s.get(network, false)
	if ns == nil || len(ns.Offered) == 0 {
		return fmt.Errorf("firewall: network %s suggests no rules", network.ShortString())
	}
	ns.Active, ns.State = nil, SuggestDenied
	ns.AutoAccept = false
	return nil
}

// AutoAccept sets whether network's future offers are accepted without
// asking. Turning it on also accepts the current offer. It may be set
// before the network offers anything.
func (s *Suggested) AutoAccept(network key.NetworkPublic, on bool) {
	ns := s.get(network, true)
	ns.AutoAccept = on
	if on && len(ns.Offered) > 0 && ns.State != SuggestAccepted {
		ns.Active, ns.State = cloneRules(ns.Offered), SuggestAccepted
	}
}

// Forget drops everything about network (the host left it).
func (s *Suggested) Forget(network key.NetworkPublic) { delete(s.Networks, network) }

// networkOrder returns the networks in a stable order (by key bytes).
func (s *Suggested) networkOrder() []key.NetworkPublic {
	nets := make([]key.NetworkPublic, 0, len(s.Networks))
	for n := range s.Networks {
		nets = append(nets, n)
	}
	slices.SortFunc(nets, func(a, b key.NetworkPublic) int { return bytes.Compare(a[:], b[:]) })
	return nets
}

// Rules returns the rules in force, network by network in key order, each
// network's rules in roster order.
func (s *Suggested) Rules() []Rule {
	var out []Rule
	for _, n := range s.networkOrder() {
		out = append(out, cloneRules(s.Networks[n].Active)...)
	}
	return out
}

// Validate checks every stored rule.
func (s *Suggested) Validate() error {
	for n, ns := range s.Networks {
		if ns == nil {
			return fmt.Errorf("firewall: network %s: empty suggestion entry", n.ShortString())
		}
		if ns.State > SuggestDenied {
			return fmt.Errorf("firewall: network %s: invalid state %d", n.ShortString(), uint8(ns.State))
		}
		for _, list := range [][]Rule{ns.Offered, ns.Active} {
			if len(list) > MaxRules {
				return fmt.Errorf("firewall: network %s: too many suggested rules", n.ShortString())
			}
			for i, r := range list {
				if err := r.Validate(); err != nil {
					return fmt.Errorf("firewall: network %s suggested rule #%d: %w", n.ShortString(), i+1, err)
				}
				if r.Network != n {
					return fmt.Errorf("firewall: network %s suggested rule #%d is scoped to another network", n.ShortString(), i+1)
				}
			}
		}
	}
	return nil
}

// Clone returns a deep copy of s.
func (s Suggested) Clone() Suggested {
	if s.Networks == nil {
		return Suggested{}
	}
	out := Suggested{Networks: make(map[key.NetworkPublic]*NetworkSuggestion, len(s.Networks))}
	for n, ns := range s.Networks {
		c := *ns
		c.Offered = cloneRules(ns.Offered)
		c.Active = cloneRules(ns.Active)
		out.Networks[n] = &c
	}
	return out
}

// Marshal returns s in its JSON form, for the engine's state file.
func (s Suggested) Marshal() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("firewall: marshal suggestions: %w", err)
	}
	return b, nil
}

// UnmarshalSuggested parses what Marshal wrote.
func UnmarshalSuggested(b []byte) (Suggested, error) {
	var s Suggested
	if err := json.Unmarshal(b, &s); err != nil {
		return Suggested{}, fmt.Errorf("firewall: parse suggestions: %w", err)
	}
	if err := s.Validate(); err != nil {
		return Suggested{}, fmt.Errorf("firewall: parse suggestions: %w", err)
	}
	return s, nil
}

// String renders every network's suggestion state and rules, for
// `ray firewall pending` and `ray firewall show`.
func (s Suggested) String() string {
	if len(s.Networks) == 0 {
		return "no suggested rules\n"
	}
	var b strings.Builder
	for _, n := range s.networkOrder() {
		ns := s.Networks[n]
		auto := ""
		if ns.AutoAccept {
			auto = ", auto-accept"
		}
		fmt.Fprintf(&b, "network %s: %s%s\n", n.ShortString(), ns.State, auto)
		if len(ns.Offered) > 0 {
			writeRuleTable(&b, ns.Offered, 1)
		}
	}
	return b.String()
}

func rulesEqual(a, b []Rule) bool {
	return slices.EqualFunc(a, b, Rule.Equal)
}

func cloneRules(rules []Rule) []Rule {
	if len(rules) == 0 {
		return nil
	}
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = r.Clone()
	}
	return out
}
