package state

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// StatusText is the one-line status shown in the tray's status row and at
// the top of the window.
func (m *Model) StatusText() string {
	switch c := m.Conn(); c {
	case DaemonUnavailable:
		return "rayfish daemon is not running"
	case Error:
		return "Error: " + m.lastErr
	case NeedsAttention:
		n := len(m.requests)
		if n == 1 {
			return "Connected — 1 join request waiting"
		}
		return fmt.Sprintf("Connected — %d join requests waiting", n)
	case Connecting:
		if !m.haveSnapshot {
			return "Connecting to the rayfish daemon…"
		}
		return "Connecting…"
	default:
		return c.String()
	}
}

// TrayTitle is the tray's title: the app name and the state.
func (m *Model) TrayTitle() string { return "rayfish: " + m.StatusText() }

// TrayTooltip is the tray icon's tooltip: state, this device and peers.
func (m *Model) TrayTooltip() string {
	var b strings.Builder
	b.WriteString("rayfish — ")
	b.WriteString(m.StatusText())
	if !m.DaemonReachable() {
		return b.String()
	}
	if s := m.SelfLabel(); s != "" {
		b.WriteString("\n")
		b.WriteString(s)
	}
	fmt.Fprintf(&b, "\n%d of %d peers online", m.OnlinePeers(), len(m.peers))
	if n := m.RelayedPeers(); n > 0 {
		fmt.Fprintf(&b, "\n%s only through a relay (slower): see Map or Peers", plural(n, "peer"))
	}
	if n := m.PeersWithWarnings(); n > 0 {
		fmt.Fprintf(&b, "\n%d peer(s) with refused addresses or names: see Peers", n)
	}
	for _, w := range m.warnings(false) { // the relay line above says it
		b.WriteString("\n⚠ " + w)
	}
	return b.String()
}

// SelfLabel is "This device: name (100.x.y.z)", or "" before the daemon
// has said who this node is.
func (m *Model) SelfLabel() string {
	if m.self.ID == "" && m.self.Hostname == "" {
		return ""
	}
	name := m.self.Hostname
	if name == "" {
		name = ShortID(m.self.ID)
	}
	if m.self.IPv4.IsValid() {
		return fmt.Sprintf("This device: %s (%s)", name, m.self.IPv4)
	}
	return "This device: " + name
}

// IconState picks the tray icon.
func (m *Model) IconState() Icon {
	switch m.Conn() {
	case Connected:
		return IconConnected
	case Connecting:
		return IconConnecting
	case Error:
		return IconError
	case NeedsAttention:
		return IconAttention
	default: // Disconnected, DaemonUnavailable
		return IconDisconnected
	}
}

// FilterPeers returns the peers whose hostname, address or id contains
// query (case-insensitive; surrounding space ignored), optionally only the
// online ones, in display order.
func (m *Model) FilterPeers(query string, onlineOnly bool) []apitype.Peer {
	q := strings.ToLower(strings.TrimSpace(query))
	var out []apitype.Peer
	for _, p := range m.peers {
		if onlineOnly && !p.Online {
			continue
		}
		if q != "" && !peerMatches(p, q) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func peerMatches(p apitype.Peer, q string) bool {
	if strings.Contains(strings.ToLower(p.Hostname), q) || strings.Contains(strings.ToLower(p.ID), q) {
		return true
	}
	for _, a := range []string{addrString(p.IPv4), addrString(p.IPv6)} {
		if a != "" && strings.Contains(a, q) {
			return true
		}
	}
	return false
}

// PeerBadge returns the path badge of a peer ("direct", "relay" or
// "offline") and, unless direct, why in plain words.
func PeerBadge(p apitype.Peer) (text, reason string) {
	if !p.Online {
		return "offline", offlineReason(p)
	}
	if p.State == apitype.PeerStandby {
		return "standby", "rayfish is down on this peer (ray down); it stays connected but passes no traffic"
	}
	switch p.Path {
	case apitype.PathDirect:
		return "direct", ""
	case apitype.PathRelay:
		r := strings.TrimSpace(p.RelayReason)
		if r == "" {
			r = "no direct path found yet; still trying"
		}
		return "relay", r
	default:
		return "connecting", "no path to this peer yet"
	}
}

func offlineReason(p apitype.Peer) string {
	if p.LastSeen.IsZero() {
		return "never seen online"
	}
	return "last seen " + p.LastSeen.Local().Format("2006-01-02 15:04 MST")
}

// FormatBytes formats a byte count with binary units ("1.5 KiB").
func FormatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// FormatRTT formats a round-trip time in milliseconds; zero or negative
// means unknown ("–").
func FormatRTT(ms float64) string {
	switch {
	case ms <= 0:
		return "–"
	case ms < 1:
		return "<1 ms"
	case ms < 10:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	default:
		return fmt.Sprintf("%.2f s", ms/1000)
	}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// FirewallHintText is what create, join and a blocked inbound connection
// point at: the inbound default is deny.
const FirewallHintText = "Inbound connections to this device are blocked except ping; open a port with: ray firewall add in allow -p tcp -P 8080"

// FirewallHint is the line the peers view shows while the firewall drops
// inbound packets: how many in the last minute, and how to open a port.
// It is "" when nothing was dropped.
func (m *Model) FirewallHint() string {
	if m.fwInMin == 0 || !m.DaemonReachable() {
		return ""
	}
	return fmt.Sprintf("The firewall blocked %s in the last minute. %s",
		plural(int(m.fwInMin), "inbound packet"), FirewallHintText)
}

// JoinWaits are lines about this device's own join requests: waiting for
// an admin, or denied.
func (m *Model) JoinWaits() []string {
	var out []string
	for _, j := range m.joining {
		out = append(out, JoiningText(j))
	}
	return out
}

// JoiningText describes one of this device's own join requests.
func JoiningText(j apitype.Joining) string {
	if j.State == apitype.JoinDenied {
		return fmt.Sprintf("An admin of %s denied this device's join request", j.Network)
	}
	return fmt.Sprintf("Waiting for an admin of %s to approve this device (since %s)", j.Network, j.Since.Local().Format("15:04 MST"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
