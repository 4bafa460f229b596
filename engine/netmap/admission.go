package netmap

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// Default invite lifetimes.
const (
	DefaultSingleTTL   = 7 * 24 * time.Hour
	DefaultReusableTTL = 30 * 24 * time.Hour
	DefaultApprovalTTL = 7 * 24 * time.Hour
)

// Admission limits.
const (
	// MaxInvites bounds the invite records an admin keeps per network.
	MaxInvites = 1024
	// MaxRequests bounds pending join requests per network.
	MaxRequests = 64
	// MaxRequestsPerSource bounds the pending join requests per network
	// from one source (JoinRequest.Source): keys are free to make, so the
	// source address is what keeps one sender from filling the queue.
	MaxRequestsPerSource = 4
	// inviteGrace is how long expired or used invite records are kept,
	// so that redeeming them says "expired" or "used" rather than
	// "unknown".
	inviteGrace = 7 * 24 * time.Hour
	// RequestTTL is how long a join request waits for a decision.
	RequestTTL = 72 * time.Hour
)

// Errors from redeeming an invite.
var (
	ErrInviteUnknown = errors.New("invite code not recognized by this network")
	ErrInviteExpired = errors.New("invite code has expired")
	ErrInviteUsed    = errors.New("invite code has already been used")
)

// InviteRecord is an admin's memory of an invite it issued: the hash of
// the secret, never the secret.
type InviteRecord struct {
	Kind InviteKind `json:"kind"`
	// Hash is the hex sha256 of the secret.
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Used marks a single-use invite that has been redeemed.
	Used bool `json:"used,omitempty"`
	// Uses counts successful redemptions.
	Uses uint32 `json:"uses,omitempty"`
	// Hostname, if set, is the name the joiner gets (BindInvite),
	// whatever it asks for.
	Hostname string `json:"hostname,omitempty"`
}

// ID is a short public handle for the record (a prefix of the hash).
func (r InviteRecord) ID() string {
	if len(r.Hash) < 12 {
		return r.Hash
	}
	return r.Hash[:12]
}

func hashSecret(secret [16]byte) string {
	h := sha256.Sum256(secret[:])
	return hex.EncodeToString(h[:])
}

// IssueInvite creates an invite of the given kind (admin only); ttl zero
// means the kind's default. It returns the secret, which the caller puts
// in the invite code and then forgets, and the record, which is stored
// for secret-bearing kinds. InviteApproval carries no secret and is not
// stored: joining with it only queues a JoinRequest.
func (n *Network) IssueInvite(kind InviteKind, ttl time.Duration, now time.Time) (secret [16]byte, rec InviteRecord, err error) {
	if err := n.requireAdmin(); err != nil {
		return secret, rec, err
	}
	if ttl < 0 {
		return secret, rec, fmt.Errorf("invite lifetime %v is negative", ttl)
	}
	if ttl == 0 {
		switch kind {
		case InviteSingle:
			ttl = DefaultSingleTTL
		case InviteReusable:
			ttl = DefaultReusableTTL
		case InviteApproval:
			ttl = DefaultApprovalTTL
		}
	}
	if !kind.valid() {
		return secret, rec, fmt.Errorf("invalid invite kind %d", kind)
	}
	now = now.UTC()
	rec = InviteRecord{
		Kind:    kind,
		Created: now,
		Expires: now.Add(ttl).Truncate(time.Second),
	}
	if kind == InviteApproval {
		return secret, rec, nil
	}
	n.pruneInvites(now)
	if len(n.Invites) >= MaxInvites {
		return secret, InviteRecord{}, fmt.Errorf("network %q has %d outstanding invites; revoke some first", n.Name, len(n.Invites))
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return [16]byte{}, InviteRecord{}, fmt.Errorf("invite secret: %w", err)
	}
	rec.Hash = hashSecret(secret)
	n.Invites = append(n.Invites, rec)
	return secret, rec, nil
}

// NewInvite issues an invite (see IssueInvite) and returns it ready to
// Encode: it names the network by its roster name and points at inviter,
// reachable at addrs or through relay.
func (n *Network) NewInvite(kind InviteKind, ttl time.Duration, inviter key.NodePublic, addrs []netip.AddrPort, relay string, now time.Time) (Invite, InviteRecord, error) {
	secret, rec, err := n.IssueInvite(kind, ttl, now)
	if err != nil {
		return Invite{}, InviteRecord{}, err
	}
	inv := Invite{
		Kind:        kind,
		Network:     n.ID,
		NetworkName: n.Roster.Name,
		Inviter:     inviter,
		Addrs:       slices.Clone(addrs),
		Relay:       relay,
		Secret:      secret,
		Expires:     rec.Expires,
	}
	return inv, rec, nil
}

// findInvite drops long-expired records and returns the index of the live
// record matching secret. Every record is compared in constant time.
func (n *Network) findInvite(secret [16]byte, now time.Time) (int, error) {
	n.pruneInvites(now)
	if secret == ([16]byte{}) {
		return -1, ErrInviteUnknown
	}
	h := []byte(hashSecret(secret))
	found := -1
	for i, rec := range n.Invites {
		if subtle.ConstantTimeCompare(h, []byte(rec.Hash)) == 1 {
			found = i
		}
	}
	if found < 0 {
		// A co-admin issued and revoked this code: there is no record of
		// it here (records stay with their issuer), but the signed roster
		// names its id, so it is refused as revoked on every admin.
		if n.Roster != nil && n.Roster.IsRevoked(InviteRecord{Hash: string(h)}.ID()) {
			return -1, ErrInviteRevoked
		}
		return -1, ErrInviteUnknown
	}
	rec := n.Invites[found]
	switch {
	case rec.Kind == InviteSingle && rec.Used:
		return -1, ErrInviteUsed
	case !now.Before(rec.Expires):
		return -1, ErrInviteExpired
	case n.Roster != nil && n.Roster.IsRevoked(rec.ID()):
		return -1, ErrInviteRevoked
	}
	return found, nil
}

// Redeem consumes an invite secret (admin only): a single-use invite is
// marked used, a reusable one counted. Errors are ErrInviteUnknown,
// ErrInviteExpired and ErrInviteUsed.
func (n *Network) Redeem(secret [16]byte, now time.Time) error {
	if err := n.requireAdmin(); err != nil {
		return err
	}
	i, err := n.findInvite(secret, now)
	if err != nil {
		return err
	}
	n.markUsed(i)
	return nil
}

func (n *Network) markUsed(i int) {
	n.Invites[i].Uses++
	if n.Invites[i].Kind == InviteSingle {
		n.Invites[i].Used = true
	}
}

// AdmitWithInvite admits node with an invite secret (admin only): the
// invite is consumed only if the admission succeeds, and an existing
// member is returned without consuming it.
func (n *Network) AdmitWithInvite(secret [16]byte, node key.NodePublic, hostname string, now time.Time) (Member, error) {
	if err := n.requireAdmin(); err != nil {
		return Member{}, err
	}
	if m, ok := n.Roster.Member(node); ok {
		return m, nil
	}
	i, err := n.findInvite(secret, now)
	if err != nil {
		return Member{}, err
	}
	if at, removed := n.Roster.RemovedAt(node); removed && !n.Invites[i].Created.After(at) {
		return Member{}, fmt.Errorf("network %q: %w", n.Name, ErrRemovedMember)
	}
	if bound := n.Invites[i].Hostname; bound != "" {
		hostname = bound
	}
	m, err := n.Admit(node, hostname, now)
	if err != nil {
		return Member{}, err
	}
	n.markUsed(i)
	return m, nil
}

// pruneInvites drops records that expired more than inviteGrace ago.
func (n *Network) pruneInvites(now time.Time) {
	n.Invites = slices.DeleteFunc(n.Invites, func(r InviteRecord) bool {
		return !now.Before(r.Expires.Add(inviteGrace))
	})
}

// JoinRequest is a node asking to join a closed network, waiting for an
// admin's decision.
type JoinRequest struct {
	Node     key.NodePublic `json:"node"`
	Hostname string         `json:"hostname"`
	Received time.Time      `json:"received"`
	// Source is where the request came from (an address block or a
	// relay), for the per-source limit; empty if unknown.
	Source string `json:"source,omitempty"`
}

// AddRequest queues a join request (admin only). A second request from the
// same node replaces the first. Requests older than RequestTTL are
// dropped; at most MaxRequests wait at once, MaxRequestsPerSource from one
// source. The hostname is sanitized.
func (n *Network) AddRequest(req JoinRequest) error {
	if err := n.requireAdmin(); err != nil {
		return err
	}
	if req.Node.IsZero() {
		return errors.New("join request has no node key")
	}
	if _, ok := n.Roster.Member(req.Node); ok {
		return fmt.Errorf("node %s is already a member of %q", req.Node.ShortString(), n.Name)
	}
	req.Hostname = SanitizeHostname(req.Hostname)
	req.Received = req.Received.UTC()
	n.Requests = slices.DeleteFunc(n.Requests, func(r JoinRequest) bool {
		return !req.Received.Before(r.Received.Add(RequestTTL))
	})
	if i := slices.IndexFunc(n.Requests, func(r JoinRequest) bool { return r.Node == req.Node }); i >= 0 {
		n.Requests[i] = req
		return nil
	}
	if req.Source != "" && countSource(n.Requests, req.Source) >= MaxRequestsPerSource {
		return fmt.Errorf("network %q has %d pending join requests from %s already; wait for a decision", n.Name, MaxRequestsPerSource, req.Source)
	}
	if len(n.Requests) >= MaxRequests {
		return fmt.Errorf("network %q has %d pending join requests; accept or deny some first", n.Name, len(n.Requests))
	}
	n.Requests = append(n.Requests, req)
	return nil
}

func countSource(reqs []JoinRequest, source string) int {
	n := 0
	for _, r := range reqs {
		if r.Source == source {
			n++
		}
	}
	return n
}

// TakeRequest removes and returns node's pending request.
func (n *Network) TakeRequest(node key.NodePublic) (JoinRequest, bool) {
	i := slices.IndexFunc(n.Requests, func(r JoinRequest) bool { return r.Node == node })
	if i < 0 {
		return JoinRequest{}, false
	}
	req := n.Requests[i]
	n.Requests = slices.Delete(n.Requests, i, i+1)
	return req, true
}

// PendingRequests returns the requests younger than RequestTTL, oldest
// first.
func (n *Network) PendingRequests(now time.Time) []JoinRequest {
	var out []JoinRequest
	for _, r := range n.Requests {
		if now.Before(r.Received.Add(RequestTTL)) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b JoinRequest) int { return a.Received.Compare(b.Received) })
	return out
}
