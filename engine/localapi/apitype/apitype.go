// Package apitype holds the wire types of rayfish's local API: HTTP+JSON
// on a unix socket (a named pipe on Windows). The CLI and the tray app
// import only this package and the client; the daemon serves them.
//
// JSON keys are part of the contract: `ray status --json` prints Status
// as is, and acceptance scripts read it. Keys may be added; existing keys
// keep their meaning.
package apitype

import (
	"net/netip"
	"time"
)

// APIVersion is bumped when a change is not backwards compatible. The
// daemon reports it in Version; clients compare it and say so on mismatch.
const APIVersion = 1

// Host is the only Host header the daemon accepts (DNS-rebinding guard).
const Host = "local.rayfish"

// Endpoint paths.
const (
	PathVersion  = "/v0/version"
	PathStatus   = "/v0/status"
	PathWatch    = "/v0/watch"
	PathUp       = "/v0/up"
	PathDown     = "/v0/down"
	PathCreate   = "/v0/create"
	PathInvite   = "/v0/invite"
	PathJoin     = "/v0/join"
	PathLeave    = "/v0/leave"
	PathRequests = "/v0/requests"
	PathAccept   = "/v0/accept"
	PathDeny     = "/v0/deny"
	PathPing     = "/v0/ping"
	PathPrefs    = "/v0/prefs"
	PathReport   = "/v0/report" // POST: a sanitized support bundle (.tar.gz)
)

// State values.
const (
	StateUp   = "up"   // data plane on
	StateDown = "down" // standby: control plane connected, data plane off
)

// Peer.State values.
const (
	PeerOnline  = "online"  // connected, data plane on
	PeerStandby = "standby" // connected, but the peer is down (ray down)
	PeerOffline = "offline" // not connected
)

// Joining.State values.
const (
	JoinWaiting = "waiting" // the request waits for an admin
	JoinDenied  = "denied"  // an admin of the network denied it
)

// Path values for Peer.Path.
const (
	PathDirect = "direct"
	PathRelay  = "relay"
	PathNone   = "none"
)

// Version answers PathVersion.
type Version struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	APIVersion int    `json:"api_version"`
}

// Self describes this node.
type Self struct {
	ID       string     `json:"id"`
	Hostname string     `json:"hostname"`
	IPv4     netip.Addr `json:"ipv4"`
	IPv6     netip.Addr `json:"ipv6"`
	// ListenPort is the UDP port of the node's socket.
	ListenPort int `json:"listen_port"`
	// Endpoints are this node's direct addresses as advertised to peers.
	Endpoints []string `json:"endpoints,omitempty"`
	// PortMapping is what the gateway maps for this node (nil: the
	// daemon does not say, e.g. not started).
	PortMapping *NetcheckPortMapping `json:"port_mapping,omitempty"`
	// MemberRelay is whether this node serves a relay for its networks'
	// members (nil: the daemon does not say).
	MemberRelay *MemberRelay `json:"member_relay,omitempty"`
}

// Network is one network this node belongs to.
type Network struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Admin   bool   `json:"admin"`
	Open    bool   `json:"open"`
	Version uint64 `json:"version"`
	// Hostname is this node's name inside the network.
	Hostname string `json:"hostname"`
	// Members counts roster members, this node included.
	Members int `json:"members"`
	// KeyGeneration counts the network's rekeys (ray rekey).
	KeyGeneration int `json:"key_generation,omitempty"`
}

// Peer is another node sharing at least one network with this one.
type Peer struct {
	ID       string     `json:"id"`
	Hostname string     `json:"hostname"`
	IPv4     netip.Addr `json:"ipv4"`
	IPv6     netip.Addr `json:"ipv6"`
	// Networks lists the names of the shared networks.
	Networks []string `json:"networks"`
	Online   bool     `json:"online"`
	// State is PeerOnline, PeerStandby or PeerOffline.
	State string `json:"state"`
	// Path is PathDirect, PathRelay or PathNone.
	Path string `json:"path"`
	// Endpoint is the current remote address ("ip:port", or the relay URL).
	Endpoint string `json:"endpoint,omitempty"`
	// RelayReason says in one line why the path is relayed.
	RelayReason string  `json:"relay_reason,omitempty"`
	RTTMs       float64 `json:"rtt_ms"`
	TxBytes     uint64  `json:"tx_bytes"`
	RxBytes     uint64  `json:"rx_bytes"`
	// Carrier is how packets travel: "bulk" (the sealed data channel) or
	// "datagram" (QUIC datagrams), "" while offline.
	Carrier string `json:"carrier,omitempty"`
	// LastSeen is when the peer was last connected (zero if never).
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Refused lists overlay addresses the peer claims in some network
	// that another node (in another network) held first: they are
	// neither routed to this peer nor accepted from it.
	Refused []netip.Addr `json:"refused,omitempty"`
	// Warnings explain refused addresses and bare names, one line each.
	Warnings []string `json:"warnings,omitempty"`
	// Routes are the subnet routes the peer offers that an admin
	// approved (used when accept is on); ExitNodeOffer: it offers to be
	// an exit node, ExitNodeApproved: and an admin approved that.
	Routes           []string `json:"routes,omitempty"`
	ExitNodeOffer    bool     `json:"exit_node_offer,omitempty"`
	ExitNodeApproved bool     `json:"exit_node_approved,omitempty"`
	// DiscoveredVia says where the peer's addresses came from: invite,
	// roster, mdns, dht or relay.
	DiscoveredVia string `json:"discovered_via,omitempty"`
	// Candidates are the endpoints the peer's signed endpoint record
	// advertises ("ip:port", then its home relay's URL).
	Candidates []string `json:"candidates,omitempty"`
	// DNSName is the magic DNS name that resolves to the peer ("nas.ray",
	// or "nas.home.ray" when another node holds the bare name), without
	// the final dot; "" when it has none.
	DNSName string `json:"dns_name,omitempty"`
	// OS ("linux/amd64") and Version (rayfish's) are what the peer's
	// last hello said it runs; "" when unknown.
	OS      string `json:"os,omitempty"`
	Version string `json:"version,omitempty"`
	// History is the last five minutes of round trip and throughput, one
	// sample every IntervalS seconds, oldest first (nil until the first
	// sample).
	History *PeerHistory `json:"history,omitempty"`
}

// HistorySamples bounds a PeerHistory: 5 minutes of one sample every 5 s.
const HistorySamples = 60

// PeerHistory is a peer's recent round trip and throughput, for
// sparklines. The three slices have the same length (at most
// HistorySamples).
type PeerHistory struct {
	IntervalS int `json:"interval_s"`
	// RTTMs is the smoothed round trip at each sample (0 while offline).
	RTTMs []float64 `json:"rtt_ms"`
	// RxBps and TxBps are bytes per second received and sent over each
	// interval.
	RxBps []uint64 `json:"rx_bps"`
	TxBps []uint64 `json:"tx_bps"`
}

// JoinRequest is a node waiting for approval to join a closed network.
type JoinRequest struct {
	Network  string    `json:"network"`
	ID       string    `json:"id"`
	Hostname string    `json:"hostname"`
	Received time.Time `json:"received"`
}

// Joining is one of this node's own join requests (approval codes).
type Joining struct {
	// Network is the network's name as the invite code gave it.
	Network string `json:"network"`
	ID      string `json:"id"`
	// State is JoinWaiting or JoinDenied.
	State string    `json:"state"`
	Since time.Time `json:"since"`
}

// Status answers PathStatus; `ray status --json` prints it.
type Status struct {
	Version  string        `json:"version"`
	Self     Self          `json:"self"`
	State    string        `json:"state"`
	Networks []Network     `json:"networks"`
	Peers    []Peer        `json:"peers"`
	Requests []JoinRequest `json:"requests"`
	// Joining lists this node's own join requests that wait for an
	// admin, or were denied.
	Joining []Joining `json:"joining,omitempty"`
	// Removed lists networks an admin removed this node from ("You were
	// removed from NETWORK"), until it joins again or leaves them.
	Removed []RemovedNetwork `json:"removed,omitempty"`
	// Drops counts dropped packets by reason.
	Drops map[string]uint64 `json:"drops"`
	// Reordered counts packets from peers that arrived after a newer one
	// on the bulk channel (delivered: the path reordered them, or a
	// sender's queues did); a duplicate is dropped as bulk_replay.
	Reordered uint64 `json:"reordered"`
	// FirewallInLastMinute counts inbound packets the firewall dropped in
	// the last minute (the inbound default is deny).
	FirewallInLastMinute uint64 `json:"firewall_in_last_minute"`
	// TUNError says why the tunnel device does not exist ("" once it
	// does): the daemon runs without it and keeps trying to create it.
	TUNError string `json:"tun_error,omitempty"`
	// SaveError says why the daemon cannot save its state files (a full
	// disk); "" while saves work. The daemon keeps running on the state
	// in memory and retries.
	SaveError string `json:"save_error,omitempty"`
	// ExitNode is the exit node in use (nil: none).
	ExitNode *ExitNode `json:"exit_node,omitempty"`
	// Advertised is what this node offers; AcceptRoutes whether it uses
	// members' approved subnet routes.
	Advertised   Offer `json:"advertised"`
	AcceptRoutes bool  `json:"accept_routes"`
	// DNS says whether the OS resolver points at magic DNS (nil when the
	// daemon does not know, e.g. in tests).
	DNS *DNSHealth `json:"dns,omitempty"`
}

// DNS health states.
const (
	DNSOK         = "ok"          // the OS resolver sends .ray names to magic DNS
	DNSNotApplied = "not-applied" // rayfish tried, but the OS does not point at it
	DNSOff        = "off"         // OS DNS integration is off (--no-dns)
	DNSDown       = "down"        // disconnected: the OS uses its own resolvers
)

// DNSHealth is whether the OS resolver points at rayfish's magic DNS.
type DNSHealth struct {
	// State is DNSOK, DNSNotApplied, DNSOff or DNSDown.
	State string `json:"state"`
	// Mode is the mechanism (platform/dns: resolved, resolv.conf, ...).
	Mode string `json:"mode,omitempty"`
	// Detail says in one line what was checked or what went wrong.
	Detail string `json:"detail"`
}

// Watch event types.
const (
	EventSnapshot    = "snapshot"     // Status holds the whole state
	EventState       = "state"        // State changed
	EventSelf        = "self"         // Self changed
	EventPeer        = "peer"         // Peer added or changed
	EventPeerRemoved = "peer_removed" // PeerID no longer shares a network
	EventNetworks    = "networks"     // Networks is the new list
	EventRequests    = "requests"     // Requests is the new list
	EventJoining     = "joining"      // Joining is the new list
	EventRemoved     = "removed"      // Removed is the new list
	EventDrops       = "drops"        // Drops is the new table (and FirewallInLastMinute)
	EventTUN         = "tun"          // TUNError is the new value ("" = the device exists)
	EventRouting     = "routing"      // ExitNode (nil: none), Advertised, AcceptRoutes
	EventDNS         = "dns"          // DNS is the new DNS health
	EventStopping    = "stopping"     // the daemon is shutting down
)

// WatchQuiet is the PathWatch query (PathWatch+"?"+WatchQuiet) that asks
// for a quiet stream: the snapshot, then no drops events and no peer
// events for changes traffic alone makes (counters, round trip, last
// seen, history); a peer event that does come carries the whole history.
// For a watcher that shows no counters, like the app while hidden.
const WatchQuiet = "quiet=1"

// WatchEvent is one line of the PathWatch stream: first a snapshot, then
// changes. Only the fields named by Type are set.
type WatchEvent struct {
	Type     string            `json:"type"`
	Status   *Status           `json:"status,omitempty"`
	State    string            `json:"state,omitempty"`
	Self     *Self             `json:"self,omitempty"`
	Peer     *Peer             `json:"peer,omitempty"`
	PeerID   string            `json:"peer_id,omitempty"`
	Networks []Network         `json:"networks,omitempty"`
	Requests []JoinRequest     `json:"requests,omitempty"`
	Joining  []Joining         `json:"joining,omitempty"`
	Removed  []RemovedNetwork  `json:"removed,omitempty"`
	Drops    map[string]uint64 `json:"drops,omitempty"`
	// FirewallInLastMinute comes with EventDrops.
	FirewallInLastMinute uint64 `json:"firewall_in_last_minute,omitempty"`
	TUNError             string `json:"tun_error,omitempty"`
	// ExitNode, Advertised and AcceptRoutes come with EventRouting.
	ExitNode     *ExitNode `json:"exit_node,omitempty"`
	Advertised   *Offer    `json:"advertised,omitempty"`
	AcceptRoutes bool      `json:"accept_routes,omitempty"`
	// DNS comes with EventDNS.
	DNS *DNSHealth `json:"dns,omitempty"`
	// HistorySame comes with EventPeer: Peer.History is left out because
	// the peer's history gained no sample since the last event about it
	// on this stream; keep the history you have. Without it, Peer.History
	// is the whole history (nil: none yet).
	HistorySame bool `json:"history_same,omitempty"`
}

// CreateRequest asks for a new network.
type CreateRequest struct {
	Name string `json:"name"`
	Open bool   `json:"open"`
	// Hostname is this node's name in the new network ("" for its
	// hostname).
	Hostname string `json:"hostname,omitempty"`
}

// InviteRequest asks for an invite code.
type InviteRequest struct {
	Network  string `json:"network"`
	Reusable bool   `json:"reusable"`
	// Expires is a Go duration ("24h"); empty means the default
	// (7 days single-use, 30 days reusable).
	Expires string `json:"expires,omitempty"`
	// Approval asks for a code that carries no secret: joining with it
	// queues a request for an admin to accept or deny.
	Approval bool `json:"approval,omitempty"`
	// Hostname binds a single-use code to the name its joiner gets.
	Hostname string `json:"hostname,omitempty"`
}

// InviteResponse carries a code.
type InviteResponse struct {
	Code     string    `json:"code"`
	Network  string    `json:"network"`
	Reusable bool      `json:"reusable"`
	Approval bool      `json:"approval,omitempty"`
	Expires  time.Time `json:"expires,omitzero"`
}

// JoinRequestBody asks to join with a code.
type JoinRequestBody struct {
	Code     string `json:"code"`
	Hostname string `json:"hostname,omitempty"`
	// Wait bounds how long the call waits for an admin's approval
	// ("2m"); the daemon keeps waiting in the background afterwards.
	Wait string `json:"wait,omitempty"`
}

// JoinResponse reports a join.
type JoinResponse struct {
	Network Network `json:"network"`
	// Pending is true when the request still awaits an admin.
	Pending bool `json:"pending,omitempty"`
}

// NetworkRequest names a network (leave, requests).
type NetworkRequest struct {
	Network string `json:"network"`
}

// DecideRequest accepts or denies a join request.
type DecideRequest struct {
	Network string `json:"network"`
	ID      string `json:"id"`
}

// PingRequest pings a peer by hostname, overlay IP or node id.
type PingRequest struct {
	Peer  string `json:"peer"`
	Count int    `json:"count"`
	// Interval between pings ("1s" by default).
	Interval string `json:"interval,omitempty"`
}

// PingReply is one line of the PathPing response stream.
type PingReply struct {
	Seq      int     `json:"seq"`
	Peer     string  `json:"peer"`
	Hostname string  `json:"hostname"`
	IP       string  `json:"ip"`
	RTTMs    float64 `json:"rtt_ms"`
	Path     string  `json:"path"`
	Endpoint string  `json:"endpoint,omitempty"`
	// Error is set when this ping got no reply.
	Error string `json:"error,omitempty"`
}

// Prefs are the daemon's user-settable preferences.
type Prefs struct {
	// ConnectOnStart starts with the data plane up.
	ConnectOnStart bool     `json:"connect_on_start"`
	Relays         []string `json:"relays"`
	// Operator is a local user name allowed to change settings.
	Operator string `json:"operator"`
	MDNS     bool   `json:"mdns"`
	// DHT: publish and find members on the Mainline DHT; ServeRelay: serve
	// a relay for our networks' members when reachable. nil leaves the
	// setting as it is.
	DHT        *bool `json:"dht,omitempty"`
	ServeRelay *bool `json:"serve_relay,omitempty"`
	// PortMap maps our UDP port on the gateway (UPnP, NAT-PMP, PCP);
	// nil in a change leaves it as it is.
	PortMap *bool `json:"portmap,omitempty"`
}

// Error is the body of every non-2xx response.
type Error struct {
	Error string `json:"error"`
}

// Firewall endpoints.
const (
	PathFirewall       = "/v0/firewall"        // GET FirewallState
	PathFirewallChange = "/v0/firewall/change" // POST FirewallChange
)

// FirewallRule is one rule in the API's terms. Peer is a node id (or a
// hostname when sent by a client); Network is a network name.
type FirewallRule struct {
	Index     int    `json:"index,omitempty"` // 1-based position in show
	Direction string `json:"direction"`       // in | out
	Action    string `json:"action"`          // allow | deny
	Proto     string `json:"proto"`           // any | tcp | udp | icmp
	Ports     string `json:"ports,omitempty"` // "80", "8000-8100", "22,80,443"
	Peer      string `json:"peer,omitempty"`
	Network   string `json:"network,omitempty"`
	Seeded    bool   `json:"seeded,omitempty"`
	// PeerHostname is Peer's hostname when it is a peer (output only).
	PeerHostname string `json:"peer_hostname,omitempty"`
}

// SuggestedRules are one network's admin-suggested rules and this node's
// decision about them.
type SuggestedRules struct {
	Network    string         `json:"network"`
	State      string         `json:"state"` // none | pending | accepted | denied
	AutoAccept bool           `json:"auto_accept"`
	Offered    []FirewallRule `json:"offered"`
	Active     []FirewallRule `json:"active"`
}

// FirewallState answers PathFirewall.
type FirewallState struct {
	Rules      []FirewallRule    `json:"rules"`
	DefaultIn  string            `json:"default_in"`
	DefaultOut string            `json:"default_out"`
	Reject     bool              `json:"reject"`
	Suggested  []SuggestedRules  `json:"suggested"`
	Flows      int               `json:"flows"`
	Stats      map[string]uint64 `json:"stats"`
}

// Firewall change operations.
const (
	FirewallAdd        = "add"
	FirewallRemove     = "remove"
	FirewallMove       = "move" // the rule at Index goes to position To
	FirewallDefault    = "default"
	FirewallReject     = "reject"
	FirewallAccept     = "accept"      // accept a network's suggested rules
	FirewallDeny       = "deny"        // deny a network's suggested rules
	FirewallAutoAccept = "auto-accept" // accept a network's suggestions automatically
	FirewallSuggest    = "suggest"     // admin: set a network's suggested rules
)

// FirewallChange is one change to the firewall.
type FirewallChange struct {
	Op        string         `json:"op"`
	Rule      *FirewallRule  `json:"rule,omitempty"`
	Index     int            `json:"index,omitempty"`
	To        int            `json:"to,omitempty"` // move: the new 1-based position
	Direction string         `json:"direction,omitempty"`
	Action    string         `json:"action,omitempty"`
	On        bool           `json:"on,omitempty"`
	Network   string         `json:"network,omitempty"`
	Rules     []FirewallRule `json:"rules,omitempty"`
}

// PathNetcheck (POST) probes connectivity: STUN, NAT mapping, relays.
const PathNetcheck = "/v0/netcheck"

// Netcheck answers PathNetcheck.
type Netcheck struct {
	UDPPort     int             `json:"udp_port"`
	ReflexiveV4 string          `json:"reflexive_v4,omitempty"`
	ReflexiveV6 string          `json:"reflexive_v6,omitempty"`
	MappingV4   string          `json:"mapping_v4"` // endpoint-independent | address-dependent | unknown
	MappingV6   string          `json:"mapping_v6"`
	HomeRelay   string          `json:"home_relay,omitempty"`
	STUN        []NetcheckSTUN  `json:"stun"`
	Relays      []NetcheckRelay `json:"relays"`
	DHT         NetcheckDHT     `json:"dht"`
	// PortMapping is the gateway's mapping of our port.
	PortMapping NetcheckPortMapping `json:"port_mapping"`
	// MemberRelay is whether this node serves a relay for its networks'
	// members, and where.
	MemberRelay *MemberRelay `json:"member_relay,omitempty"`
	// DNS is whether the OS resolver points at magic DNS.
	DNS *DNSHealth `json:"dns,omitempty"`
}

// NetcheckPortMapping is the port mapping of our UDP port on the default
// gateway: Protocol is "" while there is none (Error says why).
type NetcheckPortMapping struct {
	Protocol string `json:"protocol"` // pcp | nat-pmp | upnp | ""
	External string `json:"external,omitempty"`
	LeaseS   int    `json:"lease_s"`
	// RenewAt is when the daemon refreshes the mapping next.
	RenewAt time.Time `json:"renew_at,omitzero"`
	Gateway string    `json:"gateway,omitempty"`
	Error   string    `json:"error,omitempty"`
	// RelayTCP is the mapping of the member relay's TCP port (nil while
	// the daemon maps none: see MemberRelay for why).
	RelayTCP *RelayPortMapping `json:"relay_tcp,omitempty"`
}

// NetcheckDHT is the Mainline DHT node's state (engine/dhtdisc).
type NetcheckDHT struct {
	On          bool      `json:"on"`
	Nodes       int       `json:"nodes"`
	LastPublish time.Time `json:"last_publish,omitzero"`
	Lookups     int64     `json:"lookups"`
	BytesIn     int64     `json:"bytes_in"`
	BytesOut    int64     `json:"bytes_out"`
	Error       string    `json:"error,omitempty"`
}

// NetcheckSTUN is one STUN server's answer.
type NetcheckSTUN struct {
	Server    string  `json:"server"`
	Reflexive string  `json:"reflexive,omitempty"`
	RTTMs     float64 `json:"rtt_ms"`
	Error     string  `json:"error,omitempty"`
}

// NetcheckRelay is one relay's latency.
type NetcheckRelay struct {
	URL       string  `json:"url"`
	LatencyMs float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}
