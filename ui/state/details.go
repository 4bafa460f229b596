package state

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Row is one "label: value" line of a details or diagnostics view.
type Row struct {
	Label string
	Value string
	// Copy is the text a copy button next to the row puts on the
	// clipboard; "" means the row has no copy button.
	Copy string
}

// Onboarding says which first steps the Peers tab shows instead of an
// empty list.
type Onboarding int

// Onboarding steps.
const (
	// OnboardNone: peers to show (or no daemon); no first steps.
	OnboardNone Onboarding = iota
	// OnboardJoinOrCreate: in no network yet; join with a code or create one.
	OnboardJoinOrCreate
	// OnboardInvite: in a network, but no other device is online.
	OnboardInvite
)

// Onboarding returns the first steps to show.
func (m *Model) Onboarding() Onboarding {
	switch {
	case !m.DaemonReachable():
		return OnboardNone
	case len(m.networks) == 0:
		return OnboardJoinOrCreate
	case m.OnlinePeers() == 0:
		return OnboardInvite
	}
	return OnboardNone
}

// InviteNetwork is the network the Invite step makes a code for: the
// first network this node administers, or "" when it administers none.
func (m *Model) InviteNetwork() string {
	for _, n := range m.networks {
		if n.Admin {
			return n.Name
		}
	}
	return ""
}

// InviteStepText explains the Invite step.
func (m *Model) InviteStepText() string {
	net := m.InviteNetwork()
	if net == "" {
		names := make([]string, 0, len(m.networks))
		for _, n := range m.networks {
			names = append(names, n.Name)
		}
		return fmt.Sprintf("No other device of %s is online. Ask an admin of the network for an invite code for your next device.",
			strings.Join(names, ", "))
	}
	return fmt.Sprintf("No other device of %s is online yet. Invite your next device: create a code, then paste it (or scan its QR code) in rayfish on that device.", net)
}

// Peer returns the peer with the given id.
func (m *Model) Peer(id string) (apitype.Peer, bool) {
	i := slices.IndexFunc(m.peers, func(p apitype.Peer) bool { return p.ID == id })
	if i < 0 {
		return apitype.Peer{}, false
	}
	return m.peers[i], true
}

// SetFirewall records the firewall state last fetched from the daemon
// (it is not part of the watch stream).
func (m *Model) SetFirewall(st apitype.FirewallState) {
	m.firewall = st
	m.haveFirewall = true
}

// Firewall returns the firewall state last fetched, and whether there is one.
func (m *Model) Firewall() (apitype.FirewallState, bool) { return m.firewall, m.haveFirewall }

// PeerRows are the details of a peer: addresses (with copy), networks,
// path and why it is relayed, round-trip time and traffic.
func PeerRows(p apitype.Peer) []Row {
	rows := []Row{{Label: "Name", Value: peerName(p), Copy: p.Hostname}}
	if p.DNSName != "" {
		rows = append(rows, Row{Label: "DNS name", Value: p.DNSName, Copy: p.DNSName})
	}
	if p.IPv4.IsValid() {
		rows = append(rows, Row{Label: "IPv4", Value: p.IPv4.String(), Copy: p.IPv4.String()})
	}
	if p.IPv6.IsValid() {
		rows = append(rows, Row{Label: "IPv6", Value: p.IPv6.String(), Copy: p.IPv6.String()})
	}
	rows = append(rows,
		Row{Label: "Node id", Value: p.ID, Copy: p.ID},
		Row{Label: "Networks", Value: dashIfEmpty(strings.Join(p.Networks, ", "))},
	)
	if sw := SoftwareText(p.OS, p.Version); sw != "" {
		rows = append(rows, Row{Label: "Runs", Value: sw})
	}
	badge, reason := PeerBadge(p)
	path := badge
	switch {
	case p.Online && p.Path == apitype.PathDirect && p.Endpoint != "":
		path = "direct to " + p.Endpoint
	case p.Online && p.Path == apitype.PathRelay && p.Endpoint != "":
		path = "relayed through " + p.Endpoint
	}
	if p.Online && p.Carrier != "" {
		path += " (" + p.Carrier + ")"
	}
	rows = append(rows, Row{Label: "Path", Value: path})
	if p.DiscoveredVia != "" {
		rows = append(rows, Row{Label: "Found via", Value: FoundViaText(p.DiscoveredVia)})
	}
	if reason != "" {
		rows = append(rows, Row{Label: "Why", Value: reason})
	}
	if len(p.Candidates) > 0 {
		rows = append(rows, Row{Label: "Candidates", Value: strings.Join(p.Candidates, ", ")})
	}
	rows = append(rows,
		Row{Label: "Round trip", Value: FormatRTT(p.RTTMs)},
		Row{Label: "Traffic", Value: "in " + FormatBytes(p.RxBytes) + " · out " + FormatBytes(p.TxBytes)},
	)
	rows = append(rows, routeRows(p)...)
	for _, w := range p.Warnings {
		rows = append(rows, Row{Label: "Warning", Value: w})
	}
	return rows
}

// RulesFor returns the firewall rules that can match traffic with p: rules
// for any peer, for p (by node id or hostname) or for a network p shares.
func RulesFor(rules []apitype.FirewallRule, p apitype.Peer) []apitype.FirewallRule {
	var out []apitype.FirewallRule
	for _, r := range rules {
		if r.Peer != "" && r.Peer != p.ID && (p.Hostname == "" || !strings.EqualFold(r.Peer, p.Hostname)) {
			continue
		}
		if r.Network != "" && !slices.Contains(p.Networks, r.Network) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// RuleText describes a firewall rule on one line, as `ray firewall show`
// lists it: "in allow tcp 8080 from nas (network home)".
func RuleText(r apitype.FirewallRule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", r.Direction, r.Action, dashIfEmpty(r.Proto))
	if r.Ports != "" {
		b.WriteString(" port " + r.Ports)
	}
	peer := r.PeerHostname
	if peer == "" {
		peer = ShortID(r.Peer)
	}
	switch {
	case peer != "" && r.Direction == "out":
		b.WriteString(" to " + peer)
	case peer != "":
		b.WriteString(" from " + peer)
	case r.Network != "":
		b.WriteString(" with " + r.Network)
	default:
		b.WriteString(" with any peer")
	}
	if peer != "" && r.Network != "" {
		b.WriteString(" (network " + r.Network + ")")
	}
	if r.Seeded {
		b.WriteString(" · seeded")
	}
	return b.String()
}

// NetcheckRows are the results of a netcheck in plain words.
func NetcheckRows(r apitype.Netcheck) []Row {
	rows := []Row{{Label: "UDP port", Value: udpPort(r.UDPPort)}}
	rows = append(rows,
		Row{Label: "Public IPv4", Value: dashIfEmpty(r.ReflexiveV4), Copy: r.ReflexiveV4},
		Row{Label: "NAT (IPv4)", Value: NATText(r.MappingV4)},
		Row{Label: "Public IPv6", Value: dashIfEmpty(r.ReflexiveV6), Copy: r.ReflexiveV6},
		Row{Label: "NAT (IPv6)", Value: NATText(r.MappingV6)},
		Row{Label: "Home relay", Value: dashIfEmpty(r.HomeRelay)},
		DHTRow(r.DHT),
	)
	if len(r.STUN) == 0 && len(r.Relays) == 0 {
		rows = append(rows, Row{Label: "Relays", Value: "none configured: add one in Settings to measure the public address, NAT type and relay latency. Peers on the same network still connect directly."})
	}
	for _, s := range r.STUN {
		v := "saw us as " + s.Reflexive + " in " + FormatRTT(s.RTTMs)
		if s.Error != "" {
			v = "failed: " + s.Error
		}
		rows = append(rows, Row{Label: "STUN " + s.Server, Value: v})
	}
	for _, rr := range r.Relays {
		v := FormatRTT(rr.LatencyMs)
		if rr.Error != "" {
			v = "failed: " + rr.Error
		}
		rows = append(rows, Row{Label: "Relay " + rr.URL, Value: v})
	}
	return rows
}

func udpPort(p int) string {
	if p <= 0 {
		return "not bound (is rayfish connected?)"
	}
	return fmt.Sprint(p)
}

// NATText explains a NAT mapping type in plain words.
func NATText(mapping string) string {
	switch mapping {
	case "endpoint-independent":
		return "easy (endpoint-independent): direct connections work"
	case "address-dependent":
		return "hard (address-dependent): direct paths only to peers behind an easy NAT; others go through a relay"
	case "", "unknown":
		return "unknown"
	}
	return mapping
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// DropRows are the drop counters that are not zero, by reason, largest
// first (ties by reason).
func (m *Model) DropRows() []Row {
	var rows []Row
	reasons := make([]string, 0, len(m.drops))
	for r, n := range m.drops {
		if n > 0 {
			reasons = append(reasons, r)
		}
	}
	slices.SortFunc(reasons, func(a, b string) int {
		if m.drops[a] != m.drops[b] {
			if m.drops[a] > m.drops[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, r := range reasons {
		rows = append(rows, Row{Label: strings.ReplaceAll(r, "_", " "), Value: fmt.Sprint(m.drops[r])})
	}
	return rows
}

// SelfRows describe this device's own connectivity from the watch stream:
// its UDP port and the endpoints it advertises to peers.
func (m *Model) SelfRows() []Row {
	if !m.DaemonReachable() {
		return nil
	}
	rows := []Row{{Label: "Listening on", Value: udpPort(m.self.ListenPort)}}
	if len(m.self.Endpoints) == 0 {
		rows = append(rows, Row{Label: "Endpoints", Value: "none yet: peers reach this device through a relay"})
	}
	for _, e := range m.self.Endpoints {
		rows = append(rows, Row{Label: "Endpoint", Value: e, Copy: e})
	}
	return rows
}

// PeerURL is the address "Open in browser…" opens for port on p: http
// (https for 443) to its magic DNS name when byName (the system resolver
// points at rayfish), else to its IPv4 address, or IPv6 when it has none.
func PeerURL(p apitype.Peer, port string, byName bool) (string, error) {
	port = strings.TrimSpace(port)
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q is not a port (1-65535)", port)
	}
	scheme := "http"
	if n == 443 {
		scheme = "https"
	}
	if byName && p.DNSName != "" && validDNSName(p.DNSName) {
		return scheme + "://" + p.DNSName + ":" + strconv.Itoa(n) + "/", nil
	}
	addr := p.IPv4
	if !addr.IsValid() {
		addr = p.IPv6
	}
	if !addr.IsValid() {
		return "", fmt.Errorf("%s has no address yet", peerName(p))
	}
	return scheme + "://" + netip.AddrPortFrom(addr, uint16(n)).String() + "/", nil
}

// RelayedPeers counts the online peers reached only through a relay.
func (m *Model) RelayedPeers() int {
	n := 0
	for _, p := range m.peers {
		if p.Online && p.State != apitype.PeerStandby && p.Path == apitype.PathRelay {
			n++
		}
	}
	return n
}

// FoundViaText says in words where a peer's addresses came from
// (apitype.Peer.DiscoveredVia); an unknown source is shown as it is.
func FoundViaText(via string) string {
	switch via {
	case "invite":
		return "the invite it joined with"
	case "roster":
		return "the network's member list"
	case "mdns":
		return "the local network (mDNS)"
	case "dht":
		return "the public DHT"
	case "relay":
		return "a relay"
	}
	return via
}

// DHTRow says whether this node uses the Mainline DHT to find members,
// how many DHT nodes it knows and when it last published.
func DHTRow(d apitype.NetcheckDHT) Row {
	r := Row{Label: "DHT"}
	switch {
	case !d.On:
		r.Value = "off"
	case d.LastPublish.IsZero():
		r.Value = fmt.Sprintf("on, %d nodes, not published yet", d.Nodes)
	default:
		r.Value = fmt.Sprintf("on, %d nodes, last published %s", d.Nodes, d.LastPublish.Local().Format("15:04:05"))
	}
	if d.Error != "" {
		r.Value += ": " + d.Error
	}
	return r
}

// validDNSName reports whether s is a plain host name (labels of
// lowercase letters, digits and inner hyphens), as magic DNS names are.
func validDNSName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// osNames are the platforms' names as people know them.
var osNames = map[string]string{
	"linux": "Linux", "darwin": "macOS", "windows": "Windows", "freebsd": "FreeBSD",
	"openbsd": "OpenBSD", "netbsd": "NetBSD", "android": "Android", "ios": "iOS",
}

// SoftwareText says what a peer runs: "Linux (arm64) · rayfish 1.2.0";
// "" when its hello said nothing (an older peer, or one never connected).
func SoftwareText(platform, version string) string {
	var parts []string
	if platform != "" {
		goos, arch, _ := strings.Cut(platform, "/")
		name := osNames[goos]
		if name == "" {
			name = goos
		}
		if arch != "" {
			name += " (" + arch + ")"
		}
		parts = append(parts, name)
	}
	if version != "" {
		parts = append(parts, "rayfish "+version)
	}
	return strings.Join(parts, " · ")
}
