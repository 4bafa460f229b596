package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apiconv"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// FirewallState reports the firewall in the API's terms.
func (e *Engine) FirewallState() apitype.FirewallState {
	rs, sug := e.fw.Ruleset(), e.fw.Suggested()
	flows, stats := e.fw.Flows(), e.fw.Stats()
	e.mu.Lock()
	defer e.mu.Unlock()
	return apiconv.FirewallState(rs, sug, e.state.Networks, flows, stats, e.apiNamesLocked())
}

// apiNamesLocked names peers and networks for apiconv; call it, and the
// names it returns, with e.mu held.
func (e *Engine) apiNamesLocked() apiconv.Names {
	return apiconv.Names{
		Peer: func(k key.NodePublic) string {
			if p := e.peers[k]; p != nil {
				return p.info.hostname
			}
			return ""
		},
		Network: func(id key.NetworkPublic) string {
			if n := e.state.ByID(id); n != nil {
				return n.Name
			}
			return ""
		},
	}
}

// ruleFromAPI converts and validates a rule; peers may be named by
// hostname, IP or id, networks by name.
func (e *Engine) ruleFromAPI(ar apitype.FirewallRule) (firewall.Rule, error) {
	r, err := apiconv.ParseFirewallRule(ar)
	if err != nil {
		return r, err
	}
	if ar.Peer != "" {
		if r.Peer, err = e.ResolvePeer(ar.Peer); err != nil {
			if k, perr := key.ParseNodePublic(ar.Peer); perr == nil {
				r.Peer, err = k, nil // a node not (yet) a peer may be named by id
			} else {
				return r, err
			}
		}
	}
	if ar.Network != "" {
		e.mu.Lock()
		n, err := e.networkLocked(ar.Network)
		e.mu.Unlock()
		if err != nil {
			return r, err
		}
		r.Network = n.ID
	}
	return r, r.Validate()
}

// ChangeFirewall applies one change from the API.
func (e *Engine) ChangeFirewall(ch apitype.FirewallChange) error {
	switch ch.Op {
	case apitype.FirewallAdd:
		if ch.Rule == nil {
			return errors.New("add: no rule")
		}
		r, err := e.ruleFromAPI(*ch.Rule)
		if err != nil {
			return err
		}
		return e.UpdateFirewall(func(rs *firewall.Ruleset, _ *firewall.Suggested) error { return rs.Add(r) })
	case apitype.FirewallRemove:
		return e.UpdateFirewall(func(rs *firewall.Ruleset, _ *firewall.Suggested) error {
			if ch.Index < 1 || ch.Index > len(rs.Rules) {
				return fmt.Errorf("no rule #%d (there are %d; see ray firewall show)", ch.Index, len(rs.Rules))
			}
			_, err := rs.Remove(ch.Index - 1)
			return err
		})
	case apitype.FirewallMove:
		return e.UpdateFirewall(func(rs *firewall.Ruleset, _ *firewall.Suggested) error {
			if ch.Index < 1 || ch.Index > len(rs.Rules) {
				return fmt.Errorf("no rule #%d (there are %d; see ray firewall show)", ch.Index, len(rs.Rules))
			}
			if ch.To < 1 || ch.To > len(rs.Rules) {
				return fmt.Errorf("cannot move rule #%d to #%d: positions go from 1 to %d", ch.Index, ch.To, len(rs.Rules))
			}
			return rs.Move(ch.Index-1, ch.To-1)
		})
	case apitype.FirewallDefault:
		dir := ch.Direction
		if dir == "" {
			dir = "in"
		}
		d, err := firewall.ParseDirection(dir)
		if err != nil {
			return err
		}
		a, err := firewall.ParseAction(ch.Action)
		if err != nil {
			return err
		}
		return e.UpdateFirewall(func(rs *firewall.Ruleset, _ *firewall.Suggested) error { return rs.SetDefault(d, a) })
	case apitype.FirewallReject:
		return e.UpdateFirewall(func(rs *firewall.Ruleset, _ *firewall.Suggested) error { rs.SetReject(ch.On); return nil })
	case apitype.FirewallAccept, apitype.FirewallDeny, apitype.FirewallAutoAccept:
		e.mu.Lock()
		n, err := e.networkLocked(ch.Network)
		e.mu.Unlock()
		if err != nil {
			return err
		}
		return e.UpdateFirewall(func(_ *firewall.Ruleset, s *firewall.Suggested) error {
			switch ch.Op {
			case apitype.FirewallAccept:
				return s.Accept(n.ID)
			case apitype.FirewallDeny:
				return s.Deny(n.ID)
			default:
				s.AutoAccept(n.ID, ch.On)
				return nil
			}
		})
	case apitype.FirewallSuggest:
		return e.suggestRules(ch.Network, ch.Rules)
	default:
		return fmt.Errorf("unknown firewall operation %q", ch.Op)
	}
}

// suggestRules sets a network's suggested rules in its roster (admin only)
// and publishes the new roster.
func (e *Engine) suggestRules(network string, ars []apitype.FirewallRule) error {
	rules := []firewall.Rule{}
	e.mu.Lock()
	n, err := e.networkLocked(network)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	for _, ar := range ars {
		ar.Network = ""
		r, err := e.ruleFromAPI(ar)
		if err != nil {
			return err
		}
		r.Network = n.ID
		rules = append(rules, r)
	}
	raw, err := json.Marshal(rules)
	if err != nil {
		return err
	}
	if len(rules) == 0 {
		raw = nil
	}
	e.mu.Lock()
	changed, err := n.SetRules(raw, time.Now())
	if err != nil {
		e.mu.Unlock()
		return err
	}
	if changed {
		e.saveLocked()
		e.recomputeLocked()
	}
	e.mu.Unlock()
	e.flushSaved()
	if changed {
		e.gossipRoster(n.ID, key.NodePublic{})
	}
	return nil
}
