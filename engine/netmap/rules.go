package netmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
)

// MaxRulesLen bounds the suggested rules carried in a roster.
const MaxRulesLen = 64 << 10

// SetRules replaces the suggested firewall rules in the roster (admin
// only). rules must be a JSON list (or empty to clear); the firewall
// package validates their content. An unchanged list does not bump the
// version.
func (n *Network) SetRules(rules json.RawMessage, now time.Time) (changed bool, err error) {
	if err := n.requireAdmin(); err != nil {
		return false, err
	}
	rules = bytes.TrimSpace(rules)
	if len(rules) > MaxRulesLen {
		return false, errors.New("suggested rules too large")
	}
	if len(rules) > 0 && (rules[0] != '[' || !json.Valid(rules)) {
		return false, errors.New("suggested rules must be a JSON list")
	}
	if bytes.Equal(rules, n.Roster.Rules) || (len(rules) == 0 && len(n.Roster.Rules) == 0) {
		return false, nil
	}
	r := n.Roster.clone()
	r.Rules = rules
	if err := n.commit(r, now); err != nil {
		return false, err
	}
	return true, nil
}
