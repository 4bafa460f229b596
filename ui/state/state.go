// Package state reduces the daemon's watch stream into the tray app's view
// model. It is plain Go with no Fyne import, so every rule about what the
// user sees (status text, icon, peer order, badges) is table-tested without
// a display.
//
// A Model is owned by one goroutine (the UI goroutine in the app); it has no
// lock. The controller in package ui feeds it with Apply, DaemonGone and
// Fail, and the views read it through the derived methods.
package state

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Conn is the connection state shown to the user.
type Conn int

// Connection states, in the order the status row would name them.
const (
	// Connecting: waiting for the daemon's first snapshot, or for the data
	// plane to come up after the user asked for it.
	Connecting Conn = iota
	// Connected: the data plane is up.
	Connected
	// Disconnected: the daemon runs but the data plane is off (standby).
	Disconnected
	// Error: the daemon answered with an error the app cannot get past.
	Error
	// DaemonUnavailable: nothing answers on the local socket.
	DaemonUnavailable
	// NeedsAttention: connected, and join requests are waiting for a decision.
	NeedsAttention
)

func (c Conn) String() string {
	switch c {
	case Connecting:
		return "Connecting"
	case Connected:
		return "Connected"
	case Disconnected:
		return "Disconnected"
	case Error:
		return "Error"
	case DaemonUnavailable:
		return "Daemon not running"
	case NeedsAttention:
		return "Needs attention"
	}
	return fmt.Sprintf("Conn(%d)", int(c))
}

// Icon names the tray icon to show; the tray maps it to an asset.
type Icon int

// Tray icons.
const (
	IconDisconnected Icon = iota
	IconConnecting
	IconConnected
	IconError
	IconAttention
)

func (i Icon) String() string {
	switch i {
	case IconDisconnected:
		return "disconnected"
	case IconConnecting:
		return "connecting"
	case IconConnected:
		return "connected"
	case IconError:
		return "error"
	case IconAttention:
		return "attention"
	}
	return fmt.Sprintf("Icon(%d)", int(i))
}

// NoticeKind says what a Notice is about.
type NoticeKind int

// Notice kinds.
const (
	NoticeJoinRequest NoticeKind = iota
	NoticePeerOnline
	NoticePeerOffline
	NoticeDaemonStopped
)

// Notice is something worth a desktop notification. The model queues them
// as it applies events; the app takes them with TakeNotices and decides
// which to show (peer online/offline is a user setting).
type Notice struct {
	Kind  NoticeKind
	Title string
	Body  string
	// Network and ID identify the join request or peer, when there is one.
	Network string
	ID      string
}

// Model is the tray app's view of the daemon.
type Model struct {
	// AppVersion is this app's version; set it once before use.
	AppVersion string

	// daemon connection
	haveSnapshot bool   // a snapshot arrived since the daemon (re)appeared
	daemonGone   bool   // nothing answers on the socket
	connecting   bool   // the user asked for Up and the state is not up yet
	lastErr      string // why the daemon is gone, or the last failure
	failed       bool   // lastErr is a hard error (Error state)

	daemonVersion apitype.Version
	haveVersion   bool

	// daemon state
	state    string
	self     apitype.Self
	networks []apitype.Network
	peers    []apitype.Peer // sorted, see sortPeers
	requests []apitype.JoinRequest
	joining  []apitype.Joining
	removed  []apitype.RemovedNetwork // networks an admin removed this node from, or deleted
	drops    map[string]uint64
	fwInMin  uint64            // firewall_in drops in the last minute
	tunErr   string            // why the daemon has no tunnel device ("" = it has one)
	exitNode *apitype.ExitNode // the exit node in use (nil: none); routes.go
	dns      *apitype.DNSHealth

	// the firewall state last fetched (not in the watch stream)
	firewall     apitype.FirewallState
	haveFirewall bool

	// notification bookkeeping
	seenRequests map[string]bool // network+"/"+id of requests already announced
	notices      []Notice
}

// New returns a model for an app of the given version, in the Connecting state.
func New(appVersion string) *Model {
	return &Model{AppVersion: appVersion}
}

// Apply folds one watch event into the model.
func (m *Model) Apply(ev apitype.WatchEvent) {
	switch ev.Type {
	case apitype.EventSnapshot:
		if ev.Status == nil {
			return
		}
		st := ev.Status
		m.haveSnapshot = true
		m.daemonGone = false
		m.failed = false
		m.lastErr = ""
		if st.Version != "" {
			m.daemonVersion.Version = st.Version
			m.haveVersion = true
		}
		m.setState(st.State)
		m.self = st.Self
		m.networks = slices.Clone(st.Networks)
		m.peers = slices.Clone(st.Peers)
		sortPeers(m.peers)
		m.setRequests(st.Requests)
		m.drops = st.Drops
		m.fwInMin = st.FirewallInLastMinute
		m.joining = slices.Clone(st.Joining)
		m.removed = slices.Clone(st.Removed)
		m.tunErr = st.TUNError
		m.exitNode = st.ExitNode
		m.dns = st.DNS
	case apitype.EventState:
		m.setState(ev.State)
	case apitype.EventSelf:
		if ev.Self != nil {
			m.self = *ev.Self
		}
	case apitype.EventPeer:
		if ev.Peer != nil {
			m.upsertPeer(*ev.Peer, ev.HistorySame)
		}
	case apitype.EventPeerRemoved:
		m.peers = slices.DeleteFunc(m.peers, func(p apitype.Peer) bool { return p.ID == ev.PeerID })
	case apitype.EventNetworks:
		m.networks = slices.Clone(ev.Networks)
	case apitype.EventRequests:
		m.setRequests(ev.Requests)
	case apitype.EventDrops:
		m.drops = ev.Drops
		m.fwInMin = ev.FirewallInLastMinute
	case apitype.EventJoining:
		m.joining = slices.Clone(ev.Joining)
	case apitype.EventRemoved:
		m.removed = slices.Clone(ev.Removed)
	case apitype.EventTUN:
		m.tunErr = ev.TUNError
	case apitype.EventRouting:
		m.exitNode = ev.ExitNode
	case apitype.EventDNS:
		m.dns = ev.DNS
	case apitype.EventStopping:
		m.markGone("the rayfish daemon stopped")
	}
}

func (m *Model) setState(s string) {
	m.state = s
	if s == apitype.StateUp {
		m.connecting = false
	}
}

// upsertPeer adds or replaces p; keepHistory (the event's HistorySame)
// keeps the history the model has for it, which the event left out.
func (m *Model) upsertPeer(p apitype.Peer, keepHistory bool) {
	i := slices.IndexFunc(m.peers, func(q apitype.Peer) bool { return q.ID == p.ID })
	if keepHistory && i >= 0 {
		p.History = m.peers[i].History
	}
	if i < 0 {
		m.peers = append(m.peers, p)
		if p.Online && m.haveSnapshot {
			m.notify(Notice{Kind: NoticePeerOnline, Title: "Peer online", Body: peerName(p) + " is online", ID: p.ID})
		}
	} else {
		old := m.peers[i]
		m.peers[i] = p
		switch {
		case p.Online && !old.Online:
			m.notify(Notice{Kind: NoticePeerOnline, Title: "Peer online", Body: peerName(p) + " is online", ID: p.ID})
		case !p.Online && old.Online:
			m.notify(Notice{Kind: NoticePeerOffline, Title: "Peer offline", Body: peerName(p) + " went offline", ID: p.ID})
		}
		if p.Online == old.Online && p.Hostname == old.Hostname {
			return // the order is unchanged: most events are counters
		}
	}
	sortPeers(m.peers)
}

func (m *Model) setRequests(rs []apitype.JoinRequest) {
	m.requests = slices.Clone(rs)
	slices.SortStableFunc(m.requests, func(a, b apitype.JoinRequest) int {
		return a.Received.Compare(b.Received)
	})
	if m.seenRequests == nil {
		m.seenRequests = make(map[string]bool)
	}
	for _, r := range m.requests {
		k := r.Network + "/" + r.ID
		if m.seenRequests[k] {
			continue
		}
		m.seenRequests[k] = true
		name := r.Hostname
		if name == "" {
			name = ShortID(r.ID)
		}
		m.notify(Notice{
			Kind:    NoticeJoinRequest,
			Title:   "Join request",
			Body:    fmt.Sprintf("%s asks to join %s", name, r.Network),
			Network: r.Network,
			ID:      r.ID,
		})
	}
}

func (m *Model) notify(n Notice) { m.notices = append(m.notices, n) }

// TakeNotices returns the notices queued since the last call and clears them.
func (m *Model) TakeNotices() []Notice {
	n := m.notices
	m.notices = nil
	return n
}

// DaemonGone records that the daemon stopped answering (the watch stream
// ended or the socket refused the connection). err says why; it may be nil.
func (m *Model) DaemonGone(err error) {
	msg := "rayfish daemon is not running"
	if err != nil {
		msg = err.Error()
	}
	m.markGone(msg)
}

func (m *Model) markGone(msg string) {
	if m.haveSnapshot && !m.daemonGone {
		m.notify(Notice{Kind: NoticeDaemonStopped, Title: "rayfish stopped", Body: "The rayfish daemon stopped; the VPN is off."})
	}
	m.daemonGone = true
	m.haveSnapshot = false
	m.connecting = false
	m.failed = false
	m.lastErr = msg
	m.state = ""
	m.haveVersion = false
	m.daemonVersion = apitype.Version{}
	// Peers and networks are unknown now; keep none rather than stale rows.
	m.self = apitype.Self{}
	m.networks = nil
	m.peers = nil
	m.requests = nil
	m.removed = nil
	m.drops = nil
	m.firewall, m.haveFirewall = apitype.FirewallState{}, false
}

// Fail records an error the app cannot get past by itself (for example
// the daemon refusing the watch stream). The state is Error until the next
// snapshot.
func (m *Model) Fail(err error) {
	m.failed = true
	m.connecting = false
	if err != nil {
		m.lastErr = err.Error()
	} else {
		m.lastErr = "unknown error"
	}
}

// SetLastError records the error of a user action (shown in the window)
// without changing the connection state. nil clears it.
func (m *Model) SetLastError(err error) {
	if err == nil {
		if !m.failed && !m.daemonGone {
			m.lastErr = ""
		}
		return
	}
	m.lastErr = err.Error()
}

// BeginConnect records that the user asked for Up; the state is
// Connecting until the daemon reports "up" or EndConnect is called.
func (m *Model) BeginConnect() {
	if m.state != apitype.StateUp {
		m.connecting = true
	}
}

// EndConnect clears the Connecting state set by BeginConnect (the Up call
// failed).
func (m *Model) EndConnect() { m.connecting = false }

// SetDaemonVersion records the daemon's answer to PathVersion.
func (m *Model) SetDaemonVersion(v apitype.Version) {
	m.daemonVersion = v
	m.haveVersion = true
}

// Conn returns the connection state.
func (m *Model) Conn() Conn {
	switch {
	case m.daemonGone:
		return DaemonUnavailable
	case m.failed:
		return Error
	case !m.haveSnapshot || m.connecting:
		return Connecting
	case m.state == apitype.StateUp && len(m.requests) > 0:
		return NeedsAttention
	case m.state == apitype.StateUp:
		return Connected
	default:
		return Disconnected
	}
}

// Up reports whether the data plane is on.
func (m *Model) Up() bool { return m.haveSnapshot && !m.daemonGone && m.state == apitype.StateUp }

// CanConnect reports whether Connect should be enabled.
func (m *Model) CanConnect() bool {
	return m.haveSnapshot && !m.daemonGone && !m.failed && m.state != apitype.StateUp && !m.connecting
}

// CanDisconnect reports whether Disconnect should be enabled.
func (m *Model) CanDisconnect() bool {
	return m.haveSnapshot && !m.daemonGone && !m.failed && (m.state == apitype.StateUp || m.connecting)
}

// DaemonReachable reports whether the daemon answered with a snapshot.
func (m *Model) DaemonReachable() bool { return m.haveSnapshot && !m.daemonGone }

// LastError returns the last error text, or "".
func (m *Model) LastError() string { return m.lastErr }

// Self returns this node.
func (m *Model) Self() apitype.Self { return m.self }

// Networks returns the networks this node belongs to. The slice is the
// model's: do not modify it.
func (m *Model) Networks() []apitype.Network { return m.networks }

// Peers returns all peers, online first, then by hostname. The slice is
// the model's: do not modify it.
func (m *Model) Peers() []apitype.Peer { return m.peers }

// Requests returns the pending join requests, oldest first.
func (m *Model) Requests() []apitype.JoinRequest { return m.requests }

// Drops returns the drop counters by reason.
func (m *Model) Drops() map[string]uint64 { return m.drops }

// OnlinePeers counts the peers that are online.
func (m *Model) OnlinePeers() int {
	n := 0
	for _, p := range m.peers {
		if p.Online {
			n++
		}
	}
	return n
}

// DaemonVersion returns the daemon's version and whether it is known.
func (m *Model) DaemonVersion() (apitype.Version, bool) { return m.daemonVersion, m.haveVersion }

// VersionMismatch reports whether the daemon's version or API version
// differs from the app's. Unknown versions and development builds
// ("dev", "") do not count as a mismatch of the version string, but a
// different API version always does.
func (m *Model) VersionMismatch() bool {
	if !m.haveVersion {
		return false
	}
	if m.daemonVersion.APIVersion != 0 && m.daemonVersion.APIVersion != apitype.APIVersion {
		return true
	}
	a, d := normVersion(m.AppVersion), normVersion(m.daemonVersion.Version)
	if a == "" || d == "" || a == "dev" || d == "dev" {
		return false
	}
	return a != d
}

func normVersion(v string) string { return strings.TrimPrefix(strings.TrimSpace(v), "v") }

// sortPeers orders peers online first, then by hostname (case-insensitive),
// then by id.
func sortPeers(ps []apitype.Peer) {
	slices.SortStableFunc(ps, func(a, b apitype.Peer) int {
		if a.Online != b.Online {
			if a.Online {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(strings.ToLower(a.Hostname), strings.ToLower(b.Hostname)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

func peerName(p apitype.Peer) string {
	if p.Hostname != "" {
		return p.Hostname
	}
	return ShortID(p.ID)
}

// ShortID shortens a node id for display (the first 10 characters).
func ShortID(id string) string {
	if len(id) <= 10 {
		return id
	}
	return id[:10] + "…"
}
