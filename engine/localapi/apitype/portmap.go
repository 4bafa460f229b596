package apitype

import "time"

// RelayPortMapping is the gateway's mapping of the TCP port of the relay
// this node serves for members: Protocol is "" while there is none
// (Error says why).
type RelayPortMapping struct {
	// Port is the relay's local TCP port.
	Port     int    `json:"port"`
	Protocol string `json:"protocol"` // pcp | nat-pmp | upnp | ""
	External string `json:"external,omitempty"`
	LeaseS   int    `json:"lease_s"`
	// RenewAt is when the daemon refreshes the mapping next.
	RenewAt time.Time `json:"renew_at,omitzero"`
	Error   string    `json:"error,omitempty"`
}

// How a served member relay's URL came about (MemberRelay.Via).
const (
	// MemberRelayConfigured: a fixed URL, from --serve-relay or this
	// host's public address.
	MemberRelayConfigured = "configured"
	// MemberRelayMapped: the external address of the gateway's TCP
	// mapping, advertised while both our UDP and TCP ports are mapped.
	MemberRelayMapped = "port-mapping"
)

// MemberRelay is whether this node serves a relay for the members of its
// networks who cannot meet directly.
type MemberRelay struct {
	// Serving: URL is advertised in this node's endpoint record.
	Serving bool   `json:"serving"`
	URL     string `json:"url,omitempty"`
	// Via is MemberRelayConfigured or MemberRelayMapped while serving.
	Via string `json:"via,omitempty"`
	// Why says in one line why not, while not serving.
	Why string `json:"why,omitempty"`
}
