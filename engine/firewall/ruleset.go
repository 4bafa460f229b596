package firewall

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
)

// MaxRules bounds the local rules of a ruleset.
const MaxRules = 1024

// Ruleset is this host's own firewall policy: rules newest first (the
// first match wins), a default action per direction, and whether denied
// packets are answered (reject) or silently dropped.
//
// A Ruleset is a plain value, not safe for concurrent use; the Firewall
// copies it when installing it.
type Ruleset struct {
	// Rules, newest first.
	Rules []Rule `json:"rules"`
	// DefaultIn and DefaultOut apply when no rule matches.
	DefaultIn  Action `json:"default_in"`
	DefaultOut Action `json:"default_out"`
	// Reject answers denied packets with a TCP reset or an ICMP
	// unreachable instead of dropping them silently.
	Reject bool `json:"reject"`
}

// SeededRule is the rule a fresh ruleset starts with: inbound ICMP (echo
// requests, so peers can ping this host) is allowed.
func SeededRule() Rule {
	return Rule{Direction: In, Action: Allow, Proto: ProtoICMP, Seeded: true}
}

// DefaultRuleset returns the policy of a new node: inbound deny, outbound
// allow, no reject, and the seeded ICMP rule.
func DefaultRuleset() Ruleset {
	return Ruleset{
		Rules:      []Rule{SeededRule()},
		DefaultIn:  Deny,
		DefaultOut: Allow,
	}
}

// Add validates r and puts it first, so it takes precedence over every
// older rule.
func (rs *Ruleset) Add(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if len(rs.Rules) >= MaxRules {
		return fmt.Errorf("firewall: too many rules (max %d)", MaxRules)
	}
	rules := make([]Rule, 0, len(rs.Rules)+1)
	rules = append(rules, r.Clone())
	rs.Rules = append(rules, rs.Rules...)
	return nil
}

// Remove deletes the rule at index i (0-based: the table that String
// prints numbers rules from 1, so rule #n is index n-1) and returns it.
func (rs *Ruleset) Remove(i int) (Rule, error) {
	if i < 0 || i >= len(rs.Rules) {
		return Rule{}, fmt.Errorf("firewall: no rule #%d (have %d)", i+1, len(rs.Rules))
	}
	r := rs.Rules[i]
	rules := make([]Rule, 0, len(rs.Rules)-1)
	rules = append(rules, rs.Rules[:i]...)
	rs.Rules = append(rules, rs.Rules[i+1:]...)
	return r, nil
}

// Move puts the rule at index from at index to (both 0-based), shifting
// the rules between; earlier rules take precedence.
func (rs *Ruleset) Move(from, to int) error {
	n := len(rs.Rules)
	if from < 0 || from >= n {
		return fmt.Errorf("firewall: no rule #%d (have %d)", from+1, n)
	}
	if to < 0 || to >= n {
		return fmt.Errorf("firewall: cannot move rule #%d to #%d (have %d)", from+1, to+1, n)
	}
	rules := slices.Clone(rs.Rules)
	r := rules[from]
	rules = slices.Delete(rules, from, from+1)
	rs.Rules = slices.Insert(rules, to, r)
	return nil
}

// SetDefault sets the default action of one direction.
func (rs *Ruleset) SetDefault(dir Direction, a Action) error {
	if a != Allow && a != Deny {
		return fmt.Errorf("firewall: invalid default action %d", uint8(a))
	}
	switch dir {
	case In:
		rs.DefaultIn = a
	case Out:
		rs.DefaultOut = a
	default:
		return fmt.Errorf("firewall: invalid direction %d", uint8(dir))
	}
	return nil
}

// Default returns the default action of dir.
func (rs *Ruleset) Default(dir Direction) Action {
	if dir == In {
		return rs.DefaultIn
	}
	return rs.DefaultOut
}

// SetReject turns reject mode on or off.
func (rs *Ruleset) SetReject(on bool) { rs.Reject = on }

// Validate checks every rule and the defaults.
func (rs *Ruleset) Validate() error {
	if rs.DefaultIn != Allow && rs.DefaultIn != Deny {
		return fmt.Errorf("firewall: invalid inbound default %d", uint8(rs.DefaultIn))
	}
	if rs.DefaultOut != Allow && rs.DefaultOut != Deny {
		return fmt.Errorf("firewall: invalid outbound default %d", uint8(rs.DefaultOut))
	}
	if len(rs.Rules) > MaxRules {
		return fmt.Errorf("firewall: too many rules (max %d)", MaxRules)
	}
	for i, r := range rs.Rules {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("rule #%d: %w", i+1, err)
		}
	}
	return nil
}

// Clone returns a deep copy of rs.
func (rs Ruleset) Clone() Ruleset {
	out := rs
	out.Rules = make([]Rule, len(rs.Rules))
	for i, r := range rs.Rules {
		out.Rules[i] = r.Clone()
	}
	return out
}

// Marshal returns rs in its JSON form, for the engine's state file.
func (rs Ruleset) Marshal() ([]byte, error) {
	if err := rs.Validate(); err != nil {
		return nil, err
	}
	if rs.Rules == nil {
		rs.Rules = []Rule{} // "rules": [] says "no rules", not "unset"
	}
	b, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("firewall: marshal ruleset: %w", err)
	}
	return b, nil
}

// UnmarshalRuleset parses what Marshal wrote. Missing defaults take the
// values of DefaultRuleset; a missing rules list means no rules.
func UnmarshalRuleset(b []byte) (Ruleset, error) {
	var rs Ruleset
	if err := json.Unmarshal(b, &rs); err != nil {
		return Ruleset{}, fmt.Errorf("firewall: parse ruleset: %w", err)
	}
	if rs.DefaultIn == 0 {
		rs.DefaultIn = Deny
	}
	if rs.DefaultOut == 0 {
		rs.DefaultOut = Allow
	}
	if err := rs.Validate(); err != nil {
		return Ruleset{}, fmt.Errorf("firewall: parse ruleset: %w", err)
	}
	return rs, nil
}

// String renders rs as the table `ray firewall show` prints: the defaults,
// then one numbered row per rule in evaluation order (rule #n is index
// n-1 for Remove).
func (rs Ruleset) String() string {
	var b strings.Builder
	reject := "off"
	if rs.Reject {
		reject = "on"
	}
	fmt.Fprintf(&b, "default inbound: %s, outbound: %s, reject: %s\n", rs.DefaultIn, rs.DefaultOut, reject)
	writeRuleTable(&b, rs.Rules, 1)
	return b.String()
}

// writeRuleTable writes rules as an aligned table numbered from first.
func writeRuleTable(b *strings.Builder, rules []Rule, first int) {
	if len(rules) == 0 {
		b.WriteString("no rules\n")
		return
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tDIR\tACTION\tPROTO\tPORTS\tPEER\tNETWORK\tNOTE")
	for i, r := range rules {
		peer, network, note := "any", "any", ""
		if !r.Peer.IsZero() {
			peer = r.Peer.ShortString()
		}
		if !r.Network.IsZero() {
			network = r.Network.ShortString()
		}
		if r.Seeded {
			note = "seeded"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", first+i, r.Direction, r.Action, r.Proto,
			FormatPorts(r.Ports), peer, network, note)
	}
	tw.Flush()
}
