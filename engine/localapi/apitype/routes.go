package apitype

// Exit node and subnet route endpoints (all POST but PathExitNodes).
const (
	PathAdvertise     = "/v0/advertise"      // AdvertiseRequest -> Offer: this node's offers
	PathRoutes        = "/v0/routes"         // NetworkRequest -> NetworkRoutes (a read)
	PathRouteApprove  = "/v0/routes/approve" // ApproveRequest -> RemoveResponse (admin)
	PathRoutesAccept  = "/v0/routes/accept"  // AcceptRoutesRequest: use members' subnet routes
	PathExitNode      = "/v0/exit-node"      // ExitNodeRequest -> ExitNode: choose or clear
	PathExitNodes     = "/v0/exit-nodes"     // GET -> []ExitNodeInfo
	ExitNodeRoute     = "exit-node"          // the Route of an ApproveRequest for an exit node
	ExitStateOnline   = "online"             // the exit node carries traffic
	ExitStateOffline  = "offline"            // unreachable: traffic is dropped, not leaked
	ExitStateUnapprov = "unapproved"         // not (or no longer) an approved exit node: dropped
)

// AdvertiseRequest changes this node's offers; a nil field is left as
// it is. Routes is the whole new list (empty clears it).
type AdvertiseRequest struct {
	ExitNode *bool     `json:"exit_node,omitempty"`
	Routes   *[]string `json:"routes,omitempty"`
}

// Offer is what this node offers its networks.
type Offer struct {
	ExitNode bool     `json:"exit_node"`
	Routes   []string `json:"routes"`
}

// ApproveRequest approves (Approve true) or withdraws Peer's offer Route
// (a prefix, or ExitNodeRoute) in Network.
type ApproveRequest struct {
	Network string `json:"network"`
	Peer    string `json:"peer"`
	Route   string `json:"route"`
	Approve bool   `json:"approve"`
}

// AcceptRoutesRequest turns the use of approved subnet routes on or off.
type AcceptRoutesRequest struct {
	Accept bool `json:"accept"`
}

// ExitNodeRequest selects Peer as exit node ("" turns it off). AllowLAN
// keeps the directly connected LAN off the tunnel.
type ExitNodeRequest struct {
	Peer     string `json:"peer"`
	AllowLAN bool   `json:"allow_lan,omitempty"`
}

// ExitNode is the exit node this node uses (status: exit_node).
type ExitNode struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	// State is ExitStateOnline, ExitStateOffline or ExitStateUnapprov.
	State    string `json:"state"`
	AllowLAN bool   `json:"allow_lan,omitempty"`
}

// ExitNodeInfo is one peer that offers to be an exit node.
type ExitNodeInfo struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	Online   bool   `json:"online"`
	// Approved: an admin of a shared network approved the offer.
	Approved bool `json:"approved"`
	// Selected: this node uses it.
	Selected bool `json:"selected"`
}

// NetworkRoutes lists a network's offers and approvals.
type NetworkRoutes struct {
	Network string         `json:"network"`
	Members []MemberRoutes `json:"members"`
}

// MemberRoutes is one member's offers and what an admin approved.
type MemberRoutes struct {
	ID               string       `json:"id"`
	Hostname         string       `json:"hostname"`
	ExitNodeOffered  bool         `json:"exit_node_offered"`
	ExitNodeApproved bool         `json:"exit_node_approved"`
	Routes           []RouteState `json:"routes"`
}

// RouteState is one subnet route of a member: offered, approved, or both
// (only then is it used).
type RouteState struct {
	Prefix   string `json:"prefix"`
	Offered  bool   `json:"offered"`
	Approved bool   `json:"approved"`
}
