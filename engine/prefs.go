package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// prefs are the daemon's persisted settings.
type prefs struct {
	Up             bool     `json:"up"`
	ConnectOnStart bool     `json:"connect_on_start"`
	Relays         []string `json:"relays,omitempty"`
	Operator       string   `json:"operator,omitempty"`
	MDNS           bool     `json:"mdns"`
	PortMap        bool     `json:"portmap"`
}

func loadPrefs(path string) (prefs, error) {
	p := prefs{Up: true, ConnectOnStart: true, MDNS: true, PortMap: true}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("engine: read prefs: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("engine: prefs file %s is corrupt: %w", path, err)
	}
	if !p.ConnectOnStart {
		p.Up = false
	}
	return p, nil
}

// savePrefsLocked stages the preferences; flushSaved writes them.
func (e *Engine) savePrefsLocked() {
	b, _ := json.MarshalIndent(e.prefs, "", "  ")
	e.prefsFile.stage(b)
}

// Prefs returns the user-settable preferences.
func (e *Engine) Prefs() apitype.Prefs {
	e.mu.Lock()
	defer e.mu.Unlock()
	pm := e.prefs.PortMap
	return apitype.Prefs{ConnectOnStart: e.prefs.ConnectOnStart, Relays: append([]string{}, e.prefs.Relays...),
		Operator: e.prefs.Operator, MDNS: e.prefs.MDNS, PortMap: &pm}
}

// SetPrefs replaces the preferences after validating them.
func (e *Engine) SetPrefs(p apitype.Prefs) (apitype.Prefs, error) {
	if p.Operator != "" {
		// A name (on Windows also HOST\alice or alice@domain), or an id: a
		// uid, or on Windows a SID.
		if _, err := user.Lookup(p.Operator); err != nil {
			_, err2 := strconv.Atoi(p.Operator)
			if _, err3 := user.LookupId(p.Operator); err2 != nil && err3 != nil {
				return apitype.Prefs{}, fmt.Errorf("operator %q is not a local user", p.Operator)
			}
		}
	}
	for _, r := range p.Relays {
		if err := validRelayURL(r); err != nil {
			return apitype.Prefs{}, err
		}
	}
	e.mu.Lock()
	e.prefs.ConnectOnStart, e.prefs.Relays, e.prefs.Operator, e.prefs.MDNS = p.ConnectOnStart, p.Relays, p.Operator, p.MDNS
	e.savePrefsLocked()
	e.setMDNSLocked(p.MDNS)
	if p.PortMap != nil {
		e.prefs.PortMap = *p.PortMap
		e.setPortMapLocked(*p.PortMap)
	}
	e.updateRelaysLocked()
	e.mu.Unlock()
	e.flushSaved()
	e.watchers.notify()
	return e.Prefs(), nil
}

// Operator returns the configured operator user name ("" if none).
func (e *Engine) Operator() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.prefs.Operator
}

// SetUp turns the data plane on (true) or off (standby). Connections to
// peers stay up either way.
func (e *Engine) SetUp(up bool) error {
	if err := e.setUp(up); err != nil {
		return err
	}
	e.mu.Lock()
	e.prefs.Up = up
	e.savePrefsLocked()
	e.mu.Unlock()
	e.flushSaved()
	return nil
}
