package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rayfish/rayfish/engine/dataplane"
	"github.com/rayfish/rayfish/engine/firewall"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/magicdns"
)

// firewallFile is the persisted firewall policy: local rules and the
// user's decisions about suggested rules.
type firewallFile struct {
	Ruleset   json.RawMessage `json:"ruleset"`
	Suggested json.RawMessage `json:"suggested,omitempty"`
}

// initFilter creates the firewall (policy restored from the state dir),
// the magic DNS resolver and the data plane that uses them.
func (e *Engine) initFilter() error {
	e.fw = firewall.New(firewall.Config{})
	e.fwPath = filepath.Join(e.cfg.StateDir, "firewall.json")
	e.fwFile.path = e.fwPath
	b, err := os.ReadFile(e.fwPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("engine: read firewall: %w", err)
	default:
		var f firewallFile
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("engine: firewall file %s is corrupt: %w", e.fwPath, err)
		}
		rs, err := firewall.UnmarshalRuleset(f.Ruleset)
		if err != nil {
			return fmt.Errorf("engine: %s: %w", e.fwPath, err)
		}
		sug := firewall.Suggested{}
		if len(f.Suggested) > 0 {
			if sug, err = firewall.UnmarshalSuggested(f.Suggested); err != nil {
				return fmt.Errorf("engine: %s: %w", e.fwPath, err)
			}
		}
		if err := e.fw.Update(func(r *firewall.Ruleset, s *firewall.Suggested) error {
			*r, *s = rs, sug
			return nil
		}); err != nil {
			return err
		}
	}
	if len(e.cfg.DNSUpstreams) > 0 {
		e.fwd = magicdns.NewForwarder(magicdns.ForwarderConfig{Upstreams: e.cfg.DNSUpstreams})
	}
	e.dns = magicdns.NewResolver(magicdns.Config{Forwarder: e.fwd, Deliver: func(pkt []byte) { e.dp.DeliverDNS(pkt) }})
	e.dp = dataplane.New(dataplane.Config{TUN: e.cfg.TUN, MTU: TUNMTU, Firewall: e.fw, DNS: e.dns, Logger: e.log})
	return nil
}

// stageFirewall stages the firewall policy for flushSaved.
func (e *Engine) stageFirewall() error {
	return e.fwFile.stageFunc(e.encodeFirewall)
}

func (e *Engine) encodeFirewall() ([]byte, error) {
	rs, err := e.fw.Ruleset().Marshal()
	if err != nil {
		return nil, err
	}
	sug, err := e.fw.Suggested().Marshal()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(firewallFile{Ruleset: rs, Suggested: sug}, "", "  ")
}

// UpdateFirewall changes the firewall policy atomically and persists it.
func (e *Engine) UpdateFirewall(fn func(*firewall.Ruleset, *firewall.Suggested) error) error {
	if err := e.fw.Update(fn); err != nil {
		return err
	}
	e.watchers.notify()
	if err := e.stageFirewall(); err != nil {
		return err
	}
	return e.fwFile.flush()
}

// updateFilterLocked refreshes what the firewall and magic DNS know from
// the rosters: the DNS name table, the networks each peer shares with us,
// and admins' suggested rules.
func (e *Engine) updateFilterLocked() {
	var entries []magicdns.Entry
	for _, n := range e.state.Networks {
		for _, m := range n.Roster.Members {
			entries = append(entries, e.dnsEntryLocked(n.Name, m))
		}
	}
	e.dns.SetTable(magicdns.NewTable(entries))

	for _, p := range e.peers {
		var nets firewall.NetSet
		for _, n := range e.state.Networks {
			if isMember(n, p.key) {
				nets = append(nets, n.ID)
			}
		}
		p.dp.SetNetworks(nets)
	}

	changed := false
	err := e.fw.Update(func(_ *firewall.Ruleset, s *firewall.Suggested) error {
		current := map[key.NetworkPublic]bool{}
		for _, n := range e.state.Networks {
			current[n.ID] = true
			var rules []firewall.Rule
			if len(n.Roster.Rules) > 0 {
				if err := json.Unmarshal(n.Roster.Rules, &rules); err != nil {
					e.log.Warn("suggested rules unreadable", "network", n.Name, "err", err)
					continue
				}
			}
			before := s.State(n.ID)
			beforeRules := len(s.Pending(n.ID))
			if _, err := s.Offer(n.ID, rules); err != nil {
				e.log.Warn("suggested rules refused", "network", n.Name, "err", err)
				continue
			}
			if s.State(n.ID) != before || len(s.Pending(n.ID)) != beforeRules {
				changed = true
			}
		}
		for id := range s.Networks {
			if !current[id] {
				s.Forget(id)
				changed = true
			}
		}
		return nil
	})
	if err != nil {
		e.log.Warn("update suggested rules", "err", err)
	}
	if changed {
		// Written by flushSaved after e.mu; stages keep their order.
		if err := e.stageFirewall(); err != nil {
			e.log.Error("save firewall", "err", err)
		}
	}
}
