package state

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func peer(id, host string, online bool, path string) apitype.Peer {
	return apitype.Peer{
		ID:       id,
		Hostname: host,
		IPv4:     netip.MustParseAddr("100.64.0." + id),
		IPv6:     netip.MustParseAddr("fd72:6179:6669::" + id),
		Networks: []string{"home"},
		Online:   online,
		Path:     path,
	}
}

func snapshot(state string, peers ...apitype.Peer) apitype.WatchEvent {
	return apitype.WatchEvent{Type: apitype.EventSnapshot, Status: &apitype.Status{
		Version: "1.2.0",
		State:   state,
		Self: apitype.Self{
			ID:       "selfid0123456789",
			Hostname: "laptop",
			IPv4:     netip.MustParseAddr("100.64.0.1"),
			IPv6:     netip.MustParseAddr("fd72:6179:6669::1"),
		},
		Networks: []apitype.Network{{Name: "home", ID: "net1", Admin: true, Members: len(peers) + 1}},
		Peers:    peers,
	}}
}

func ids(ps []apitype.Peer) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Hostname)
	}
	return out
}

func TestConnState(t *testing.T) {
	req := apitype.JoinRequest{Network: "home", ID: "newnode", Hostname: "phone", Received: time.Unix(100, 0)}
	tests := []struct {
		name          string
		steps         func(m *Model)
		want          Conn
		icon          Icon
		canConnect    bool
		canDisconnect bool
		status        string
	}{
		{
			name:   "initial",
			steps:  func(m *Model) {},
			want:   Connecting,
			icon:   IconConnecting,
			status: "Connecting to the rayfish daemon…",
		},
		{
			name:          "connected",
			steps:         func(m *Model) { m.Apply(snapshot(apitype.StateUp)) },
			want:          Connected,
			icon:          IconConnected,
			canDisconnect: true,
			status:        "Connected",
		},
		{
			name:       "disconnected",
			steps:      func(m *Model) { m.Apply(snapshot(apitype.StateDown)) },
			want:       Disconnected,
			icon:       IconDisconnected,
			canConnect: true,
			status:     "Disconnected",
		},
		{
			name: "connecting after user asked for up",
			steps: func(m *Model) {
				m.Apply(snapshot(apitype.StateDown))
				m.BeginConnect()
			},
			want:          Connecting,
			icon:          IconConnecting,
			canDisconnect: true,
			status:        "Connecting…",
		},
		{
			name: "connecting ends when the state event arrives",
			steps: func(m *Model) {
				m.Apply(snapshot(apitype.StateDown))
				m.BeginConnect()
				m.Apply(apitype.WatchEvent{Type: apitype.EventState, State: apitype.StateUp})
			},
			want:          Connected,
			icon:          IconConnected,
			canDisconnect: true,
			status:        "Connected",
		},
		{
			name: "up call failed",
			steps: func(m *Model) {
				m.Apply(snapshot(apitype.StateDown))
				m.BeginConnect()
				m.EndConnect()
			},
			want:       Disconnected,
			icon:       IconDisconnected,
			canConnect: true,
			status:     "Disconnected",
		},
		{
			name: "state event down",
			steps: func(m *Model) {
				m.Apply(snapshot(apitype.StateUp))
				m.Apply(apitype.WatchEvent{Type: apitype.EventState, State: apitype.StateDown})
			},
			want:       Disconnected,
			icon:       IconDisconnected,
			canConnect: true,
			status:     "Disconnected",
		},
		{
			name: "error",
			steps: func(m *Model) {
				m.Apply(snapshot(apitype.StateUp))
				m.Fail(errors.New("permission denied"))
			},
			want:   Error,
			icon:   IconError,
			status: "Error: permission denied",
		},
		{
			name: "error cleared by next snapshot",
			steps: func(m *Model) {
				m.Fail(errors.New("permission denied"))
				m.Apply(snapshot(apitype.StateUp))
			},
			want:          Connected,
			icon:          IconConnected,
			canDisconnect: true,
			status:        "Connected",
		},
		{
			name: "daemon gone",
			steps: func(m *Model) {
				m.Apply(snapshot(apitype.StateUp))
				m.DaemonGone(errors.New("connection refused"))
			},
			want:   DaemonUnavailable,
			icon:   IconDisconnected,
			status: "rayfish daemon is not running",
		},
		{
			name: "daemon stopping event",
			steps: func(m *Model) {
				m.Apply(snapshot(apitype.StateUp))
				m.Apply(apitype.WatchEvent{Type: apitype.EventStopping})
			},
			want:   DaemonUnavailable,
			icon:   IconDisconnected,
			status: "rayfish daemon is not running",
		},
		{
			name: "daemon back",
			steps: func(m *Model) {
				m.DaemonGone(nil)
				m.Apply(snapshot(apitype.StateDown))
			},
			want:       Disconnected,
			icon:       IconDisconnected,
			canConnect: true,
			status:     "Disconnected",
		},
		{
			name: "pending request needs attention",
			steps: func(m *Model) {
				m.Apply(snapshot(apitype.StateUp))
				m.Apply(apitype.WatchEvent{Type: apitype.EventRequests, Requests: []apitype.JoinRequest{req}})
			},
			want:          NeedsAttention,
			icon:          IconAttention,
			canDisconnect: true,
			status:        "Connected — 1 join request waiting",
		},
		{
			name: "request decided",
			steps: func(m *Model) {
				m.Apply(snapshot(apitype.StateUp))
				m.Apply(apitype.WatchEvent{Type: apitype.EventRequests, Requests: []apitype.JoinRequest{req}})
				m.Apply(apitype.WatchEvent{Type: apitype.EventRequests})
			},
			want:          Connected,
			icon:          IconConnected,
			canDisconnect: true,
			status:        "Connected",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New("1.2.0")
			tt.steps(m)
			if got := m.Conn(); got != tt.want {
				t.Errorf("Conn = %v, want %v", got, tt.want)
			}
			if got := m.IconState(); got != tt.icon {
				t.Errorf("IconState = %v, want %v", got, tt.icon)
			}
			if got := m.CanConnect(); got != tt.canConnect {
				t.Errorf("CanConnect = %v, want %v", got, tt.canConnect)
			}
			if got := m.CanDisconnect(); got != tt.canDisconnect {
				t.Errorf("CanDisconnect = %v, want %v", got, tt.canDisconnect)
			}
			if got := m.StatusText(); got != tt.status {
				t.Errorf("StatusText = %q, want %q", got, tt.status)
			}
			if got := m.TrayTitle(); got != "rayfish: "+tt.status {
				t.Errorf("TrayTitle = %q", got)
			}
		})
	}
}

func TestPeersComeAndGo(t *testing.T) {
	m := New("dev")
	m.Apply(snapshot(apitype.StateUp,
		peer("3", "zeta", true, apitype.PathDirect),
		peer("4", "alpha", false, apitype.PathNone),
		peer("5", "Beta", true, apitype.PathRelay),
	))
	if got, want := ids(m.Peers()), []string{"Beta", "zeta", "alpha"}; !slices.Equal(got, want) {
		t.Fatalf("initial order = %v, want %v", got, want)
	}
	if n := m.TakeNotices(); len(n) != 0 {
		t.Fatalf("snapshot queued notices: %+v", n)
	}

	steps := []struct {
		name    string
		ev      apitype.WatchEvent
		order   []string
		notices []NoticeKind
	}{
		{
			name:    "alpha comes online",
			ev:      apitype.WatchEvent{Type: apitype.EventPeer, Peer: ptr(peer("4", "alpha", true, apitype.PathDirect))},
			order:   []string{"alpha", "Beta", "zeta"},
			notices: []NoticeKind{NoticePeerOnline},
		},
		{
			name:  "zeta rtt changes",
			ev:    apitype.WatchEvent{Type: apitype.EventPeer, Peer: ptr(withRTT(peer("3", "zeta", true, apitype.PathDirect), 12))},
			order: []string{"alpha", "Beta", "zeta"},
		},
		{
			name:    "new peer joins online",
			ev:      apitype.WatchEvent{Type: apitype.EventPeer, Peer: ptr(peer("6", "gamma", true, apitype.PathDirect))},
			order:   []string{"alpha", "Beta", "gamma", "zeta"},
			notices: []NoticeKind{NoticePeerOnline},
		},
		{
			name:    "beta goes offline",
			ev:      apitype.WatchEvent{Type: apitype.EventPeer, Peer: ptr(peer("5", "Beta", false, apitype.PathNone))},
			order:   []string{"alpha", "gamma", "zeta", "Beta"},
			notices: []NoticeKind{NoticePeerOffline},
		},
		{
			name:  "gamma removed",
			ev:    apitype.WatchEvent{Type: apitype.EventPeerRemoved, PeerID: "6"},
			order: []string{"alpha", "zeta", "Beta"},
		},
		{
			name:  "unknown removal is harmless",
			ev:    apitype.WatchEvent{Type: apitype.EventPeerRemoved, PeerID: "99"},
			order: []string{"alpha", "zeta", "Beta"},
		},
	}
	for _, s := range steps {
		m.Apply(s.ev)
		if got := ids(m.Peers()); !slices.Equal(got, s.order) {
			t.Errorf("%s: order = %v, want %v", s.name, got, s.order)
		}
		var kinds []NoticeKind
		for _, n := range m.TakeNotices() {
			kinds = append(kinds, n.Kind)
		}
		if !slices.Equal(kinds, s.notices) {
			t.Errorf("%s: notices = %v, want %v", s.name, kinds, s.notices)
		}
	}
	if got := m.OnlinePeers(); got != 2 {
		t.Errorf("OnlinePeers = %d, want 2", got)
	}
	if got, want := m.TrayTooltip(), "rayfish — Connected\nThis device: laptop (100.64.0.1)\n2 of 3 peers online"; got != want {
		t.Errorf("TrayTooltip = %q, want %q", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func withRTT(p apitype.Peer, ms float64) apitype.Peer { p.RTTMs = ms; return p }

func TestFilterPeers(t *testing.T) {
	m := New("dev")
	m.Apply(snapshot(apitype.StateUp,
		peer("3", "zeta", true, apitype.PathDirect),
		peer("4", "alpha", false, apitype.PathNone),
		peer("5", "Beta", true, apitype.PathRelay),
		peer("15", "nas", true, apitype.PathRelay),
	))
	tests := []struct {
		query      string
		onlineOnly bool
		want       []string
	}{
		{"", false, []string{"Beta", "nas", "zeta", "alpha"}},
		{"", true, []string{"Beta", "nas", "zeta"}},
		{"BET", false, []string{"Beta"}},
		{"  alpha ", false, []string{"alpha"}},
		{"alpha", true, nil},
		{"100.64.0.1", false, []string{"nas"}},
		{"100.64.0.5", false, []string{"Beta"}},
		{"fd72:6179:6669::4", false, []string{"alpha"}},
		{"100.64.", true, []string{"Beta", "nas", "zeta"}},
		{"nomatch", false, nil},
	}
	for _, tt := range tests {
		got := ids(m.FilterPeers(tt.query, tt.onlineOnly))
		if !slices.Equal(got, tt.want) {
			t.Errorf("FilterPeers(%q, %v) = %v, want %v", tt.query, tt.onlineOnly, got, tt.want)
		}
	}
}

func TestPeerBadge(t *testing.T) {
	relayed := peer("5", "beta", true, apitype.PathRelay)
	relayed.RelayReason = "both sides are behind symmetric NATs"
	tests := []struct {
		name   string
		p      apitype.Peer
		text   string
		reason string
	}{
		{"direct", peer("3", "a", true, apitype.PathDirect), "direct", ""},
		{"relayed with reason", relayed, "relay", "both sides are behind symmetric NATs"},
		{"relayed without reason", peer("5", "b", true, apitype.PathRelay), "relay", "no direct path found yet; still trying"},
		{"online no path", peer("6", "c", true, apitype.PathNone), "connecting", "no path to this peer yet"},
		{"offline never seen", peer("7", "d", false, apitype.PathNone), "offline", "never seen online"},
	}
	for _, tt := range tests {
		text, reason := PeerBadge(tt.p)
		if text != tt.text || reason != tt.reason {
			t.Errorf("%s: PeerBadge = %q, %q; want %q, %q", tt.name, text, reason, tt.text, tt.reason)
		}
	}
	off := peer("8", "e", false, apitype.PathNone)
	off.LastSeen = time.Date(2026, 3, 4, 5, 6, 0, 0, time.Local)
	if _, reason := PeerBadge(off); reason != "last seen 2026-03-04 05:06 "+off.LastSeen.Format("MST") {
		t.Errorf("offline reason = %q", reason)
	}
}

func TestPendingRequestNotices(t *testing.T) {
	r1 := apitype.JoinRequest{Network: "home", ID: "n1", Hostname: "phone", Received: time.Unix(200, 0)}
	r2 := apitype.JoinRequest{Network: "home", ID: "n2", Received: time.Unix(100, 0)}
	m := New("dev")
	snap := snapshot(apitype.StateUp)
	snap.Status.Requests = []apitype.JoinRequest{r1}
	m.Apply(snap)
	n := m.TakeNotices()
	if len(n) != 1 || n[0].Kind != NoticeJoinRequest || n[0].Body != "phone asks to join home" || n[0].ID != "n1" {
		t.Fatalf("notices after snapshot = %+v", n)
	}
	// The same request again (a later snapshot or event) is not announced twice.
	m.Apply(apitype.WatchEvent{Type: apitype.EventRequests, Requests: []apitype.JoinRequest{r1, r2}})
	n = m.TakeNotices()
	if len(n) != 1 || n[0].ID != "n2" || n[0].Body != "n2 asks to join home" {
		t.Fatalf("notices after second request = %+v", n)
	}
	if got := m.Requests(); len(got) != 2 || got[0].ID != "n2" {
		t.Errorf("requests not sorted oldest first: %+v", got)
	}
	if m.Conn() != NeedsAttention || m.StatusText() != "Connected — 2 join requests waiting" {
		t.Errorf("Conn = %v, status %q", m.Conn(), m.StatusText())
	}
}

func TestDaemonDisappears(t *testing.T) {
	m := New("dev")
	m.Apply(snapshot(apitype.StateUp, peer("3", "zeta", true, apitype.PathDirect)))
	m.DaemonGone(errors.New("rayfish daemon is not running (nothing listening on /run/rayfish/rayfish.sock)"))
	if m.DaemonReachable() || len(m.Peers()) != 0 || len(m.Networks()) != 0 || m.Self().ID != "" {
		t.Errorf("stale state kept after daemon gone: peers=%v nets=%v self=%+v", m.Peers(), m.Networks(), m.Self())
	}
	if !strings.Contains(m.LastError(), "nothing listening") {
		t.Errorf("LastError = %q", m.LastError())
	}
	n := m.TakeNotices()
	if len(n) != 1 || n[0].Kind != NoticeDaemonStopped {
		t.Fatalf("notices = %+v, want one daemon-stopped", n)
	}
	// Repeated failures while it stays gone do not notify again.
	m.DaemonGone(errors.New("still not running"))
	if n := m.TakeNotices(); len(n) != 0 {
		t.Errorf("repeated DaemonGone notified: %+v", n)
	}
	if got := m.TrayTooltip(); got != "rayfish — rayfish daemon is not running" {
		t.Errorf("TrayTooltip = %q", got)
	}
	// Never connected: no "stopped" notice either.
	m2 := New("dev")
	m2.DaemonGone(nil)
	if n := m2.TakeNotices(); len(n) != 0 {
		t.Errorf("DaemonGone before any snapshot notified: %+v", n)
	}
}

func TestVersionMismatch(t *testing.T) {
	tests := []struct {
		name   string
		app    string
		daemon apitype.Version
		want   bool
	}{
		{"same", "1.2.0", apitype.Version{Version: "1.2.0", APIVersion: apitype.APIVersion}, false},
		{"v prefix", "v1.2.0", apitype.Version{Version: "1.2.0", APIVersion: apitype.APIVersion}, false},
		{"different", "1.2.0", apitype.Version{Version: "1.3.0", APIVersion: apitype.APIVersion}, true},
		{"api differs", "1.2.0", apitype.Version{Version: "1.2.0", APIVersion: apitype.APIVersion + 1}, true},
		{"dev app", "dev", apitype.Version{Version: "1.3.0", APIVersion: apitype.APIVersion}, false},
		{"dev app api differs", "dev", apitype.Version{Version: "1.3.0", APIVersion: apitype.APIVersion + 1}, true},
		{"unknown api", "1.2.0", apitype.Version{Version: "1.2.0"}, false},
	}
	for _, tt := range tests {
		m := New(tt.app)
		m.Apply(snapshot(apitype.StateUp))
		m.SetDaemonVersion(tt.daemon)
		if got := m.VersionMismatch(); got != tt.want {
			t.Errorf("%s: VersionMismatch = %v, want %v", tt.name, got, tt.want)
		}
		if got := strings.Contains(m.TrayTooltip(), "versions differ"); got != tt.want {
			t.Errorf("%s: tooltip mentions mismatch = %v, want %v", tt.name, got, tt.want)
		}
	}
	// The snapshot's version string alone is enough to see a mismatch.
	m := New("1.0.0")
	m.Apply(snapshot(apitype.StateUp)) // daemon 1.2.0
	if !m.VersionMismatch() {
		t.Error("mismatch from snapshot version not seen")
	}
	if v, ok := m.DaemonVersion(); !ok || v.Version != "1.2.0" {
		t.Errorf("DaemonVersion = %+v, %v", v, ok)
	}
}

func TestSelfAndNetworksEvents(t *testing.T) {
	m := New("dev")
	m.Apply(snapshot(apitype.StateUp))
	m.Apply(apitype.WatchEvent{Type: apitype.EventSelf, Self: &apitype.Self{ID: "x", Hostname: "desk", IPv4: netip.MustParseAddr("100.70.1.2")}})
	if got := m.SelfLabel(); got != "This device: desk (100.70.1.2)" {
		t.Errorf("SelfLabel = %q", got)
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventNetworks, Networks: []apitype.Network{{Name: "a"}, {Name: "b"}}})
	if len(m.Networks()) != 2 {
		t.Errorf("networks = %+v", m.Networks())
	}
	m.Apply(apitype.WatchEvent{Type: apitype.EventDrops, Drops: map[string]uint64{"no_peer": 3}})
	if m.Drops()["no_peer"] != 3 {
		t.Errorf("drops = %v", m.Drops())
	}
	// Malformed events are ignored, not fatal.
	m.Apply(apitype.WatchEvent{Type: apitype.EventSnapshot})
	m.Apply(apitype.WatchEvent{Type: apitype.EventPeer})
	m.Apply(apitype.WatchEvent{Type: "future-event"})
	if m.Conn() != Connected {
		t.Errorf("Conn = %v after malformed events", m.Conn())
	}
}

func TestFormat(t *testing.T) {
	bytes := []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"}, {1 << 62, "4.0 EiB"},
	}
	for _, tt := range bytes {
		if got := FormatBytes(tt.n); got != tt.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	rtts := []struct {
		ms   float64
		want string
	}{
		{0, "–"}, {-1, "–"}, {0.4, "<1 ms"}, {2.345, "2.3 ms"}, {42.4, "42 ms"}, {1500, "1.50 s"},
	}
	for _, tt := range rtts {
		if got := FormatRTT(tt.ms); got != tt.want {
			t.Errorf("FormatRTT(%v) = %q, want %q", tt.ms, got, tt.want)
		}
	}
}
