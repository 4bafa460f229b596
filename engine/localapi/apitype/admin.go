package apitype

import "time"

// Network administration endpoints (all POST).
const (
	PathRemove       = "/v0/remove"        // RemoveRequest: an admin removes a member
	PathInvites      = "/v0/invites"       // NetworkRequest -> []InviteInfo
	PathInviteRevoke = "/v0/invite/revoke" // DecideRequest (ID is the invite id)
	PathHostname     = "/v0/hostname"      // HostnameRequest: rename this node in a network
	PathAdmin        = "/v0/admin"         // AdminRequest: share or withdraw admin rights
	PathDelete       = "/v0/delete"        // NetworkRequest: dissolve a network for every member
	PathRekey        = "/v0/rekey"         // NetworkRequest -> RekeyResponse: a new network key
)

// RekeyResponse reports a rekey: the key's generation (1 after the first
// rekey) and the co-admins the new secret goes to (hostnames; those
// offline get it when they connect).
type RekeyResponse struct {
	Generation int      `json:"generation"`
	Admins     []string `json:"admins"`
}

// RemoveRequest asks an admin's node to remove Peer (a hostname, overlay
// IP or node id) from Network.
type RemoveRequest struct {
	Network string `json:"network"`
	Peer    string `json:"peer"`
}

// RemoveResponse names the member removed.
type RemoveResponse struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
}

// AdminRequest makes Peer an admin of Network (Admin true) or withdraws
// its rights.
type AdminRequest struct {
	Network string `json:"network"`
	Peer    string `json:"peer"`
	Admin   bool   `json:"admin"`
}

// HostnameRequest renames this node in Network.
type HostnameRequest struct {
	Network  string `json:"network"`
	Hostname string `json:"hostname"`
}

// InviteInfo is one outstanding invite as an admin's node remembers it:
// never its secret.
type InviteInfo struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"` // single | reusable
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Uses    uint32    `json:"uses"`
	// Hostname is the name the joiner will get, if the code is bound to
	// one ("" when not).
	Hostname string `json:"hostname,omitempty"`
}

// LeaveRequest asks to leave Network (PathLeave). Force is needed when
// this node is the network's last admin and others remain.
type LeaveRequest struct {
	Network string `json:"network"`
	Force   bool   `json:"force,omitempty"`
}

// LeaveResponse reports a leave; Backup is the file holding the network
// secret when the last admin left with --force.
type LeaveResponse struct {
	Backup string `json:"backup,omitempty"`
}

// RemovedNetwork is a network an admin removed this node from.
type RemovedNetwork struct {
	Name string    `json:"name"`
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Deleted: an admin deleted the whole network.
	Deleted bool `json:"deleted,omitempty"`
}
