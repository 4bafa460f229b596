package state

import (
	"fmt"
	"strings"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// DNS returns the daemon's last word on whether the OS resolver points at
// magic DNS, and whether it said anything.
func (m *Model) DNS() (apitype.DNSHealth, bool) {
	if m.dns == nil {
		return apitype.DNSHealth{}, false
	}
	return *m.dns, true
}

// DNSText describes DNS health in plain words, its state first.
func DNSText(h apitype.DNSHealth) string {
	var state string
	switch h.State {
	case apitype.DNSOK:
		state = "OK: .ray names resolve from every program"
	case apitype.DNSNotApplied:
		state = "NOT APPLIED: names like nas.ray do not resolve outside rayfish"
	case apitype.DNSOff:
		state = "Off"
	case apitype.DNSDown:
		state = "Not in use (disconnected)"
	default:
		state = "Unknown (" + h.State + ")"
	}
	if h.Detail == "" {
		return state
	}
	return state + " — " + h.Detail
}

// DNSRow is the Diagnostics row for DNS health, or false when the daemon
// does not report it.
func (m *Model) DNSRow() (Row, bool) {
	h, ok := m.DNS()
	if !ok || !m.DaemonReachable() {
		return Row{}, false
	}
	return Row{Label: "OS resolver", Value: DNSText(h)}, true
}

// Warnings are what needs the user's eye beside the connection state, one
// line each, for the tray's tooltip and menu: every online peer only
// through a relay, DNS not applied, the daemon's version differing from
// the app's.
func (m *Model) Warnings() []string { return m.warnings(true) }

func (m *Model) warnings(relay bool) []string {
	if !m.DaemonReachable() {
		return nil
	}
	var w []string
	if on := m.OnlinePeers(); relay && on > 0 && m.RelayedPeers() == on {
		w = append(w, fmt.Sprintf("relay only: %s reached only through a relay (slower); see Diagnostics", plural(on, "peer")))
	}
	if h, ok := m.DNS(); ok && h.State == apitype.DNSNotApplied {
		w = append(w, "DNS not applied: .ray names do not resolve; see Diagnostics")
	}
	if m.VersionMismatch() {
		d, _ := m.DaemonVersion()
		w = append(w, fmt.Sprintf("update needed: app and daemon versions differ (daemon %s, app %s)", orUnknown(d.Version), orUnknown(m.AppVersion)))
	}
	return w
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return s
}
