package netmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// Roster limits, enforced on every roster signed or verified.
const (
	// MaxRosterBody is the largest roster document in bytes.
	MaxRosterBody = 1 << 20
	// MaxMembers is the largest number of members in a network.
	MaxMembers = 4096
	// MaxAddrIndex is the largest IPv4 collision index a member may have.
	// Admit picks the smallest free index; with MaxMembers addresses taken
	// out of 2^22, index 9 needs ten collisions in a row (odds ~1e-27), so
	// anything above is an admin grinding for a chosen address.
	MaxAddrIndex = 8
)

// rosterDomain separates roster signatures from every other signature
// made with a network key.
const rosterDomain = "rayfish-roster-v1\x00"

// Member is one node in a roster.
type Member struct {
	Node     key.NodePublic `json:"node"`
	Hostname string         `json:"hostname"`
	IPv4     netip.Addr     `json:"ipv4"`
	IPv6     netip.Addr     `json:"ipv6"`
	// Index is the collision index of IPv4: IPv4 == Node.IPv4(Index).
	Index uint32 `json:"index"`
	// Admin marks a node that holds the network secret.
	Admin  bool      `json:"admin,omitempty"`
	Joined time.Time `json:"joined"`
}

// Roster is the membership of a network. It is only ever trusted in its
// signed form: see SignedRoster.Verify.
type Roster struct {
	Network key.NetworkPublic `json:"network"`
	Name    string            `json:"name"`
	Open    bool              `json:"open"`
	// Version grows by one with every change, so an old roster can never
	// replace a newer one.
	Version uint64    `json:"version"`
	Issued  time.Time `json:"issued"`
	// Members is sorted by node key, without duplicates.
	Members []Member `json:"members"`
	// Rules are the admin's suggested firewall rules for members, as a
	// JSON list in engine/firewall's rule form. Members apply them only
	// with their user's consent.
	Rules json.RawMessage `json:"rules,omitempty"`
	// Removed lists nodes an admin removed, oldest first (at most
	// MaxRemoved): an invite issued before a node's removal cannot
	// readmit it, on any admin.
	Removed []Removal `json:"removed,omitempty"`
	// Revoked lists invites an admin revoked, until they expire (at most
	// MaxRevoked): every admin refuses them.
	Revoked []RevokedInvite `json:"revoked,omitempty"`
	// Dissolved marks the last roster of a network an admin deleted: it
	// has no members.
	Dissolved bool `json:"dissolved,omitempty"`
}

// SignedRoster is a roster as it travels and is stored: Body is the JSON
// of a Roster and Sig the network key's signature over it. Chain is the
// network's hand-over chain (rekey.go): Sig is made by the key it ends
// with, the network id itself while it is empty.
type SignedRoster struct {
	Body  []byte     `json:"body"`
	Sig   []byte     `json:"sig"`
	Chain []Handover `json:"chain,omitempty"`
}

// IsZero reports whether s holds nothing.
func (s SignedRoster) IsZero() bool { return len(s.Body) == 0 && len(s.Sig) == 0 }

// Errors from roster verification that callers may want to tell apart.
var (
	ErrRosterSignature = errors.New("roster signature invalid")
	ErrRosterTooLarge  = fmt.Errorf("roster too large (limit %d bytes)", MaxRosterBody)
)

// Sign checks r and signs it with k, which must be the key of r.Network
// (a network never rekeyed).
func (r *Roster) Sign(k key.NetworkPrivate) (SignedRoster, error) { return r.SignChain(k, nil) }

// SignChain checks r and signs it with k, which must be the key chain
// ends with.
func (r *Roster) SignChain(k key.NetworkPrivate, chain []Handover) (SignedRoster, error) {
	if k.IsZero() {
		return SignedRoster{}, errors.New("sign roster: no network key")
	}
	if k.Public() != chainKey(r.Network, chain) {
		return SignedRoster{}, fmt.Errorf("sign roster: key is not the current key of network %s", r.Network)
	}
	if err := r.check(); err != nil {
		return SignedRoster{}, fmt.Errorf("sign roster: %w", err)
	}
	if err := r.checkIndexes(); err != nil {
		return SignedRoster{}, fmt.Errorf("sign roster: %w", err)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return SignedRoster{}, fmt.Errorf("sign roster: %w", err)
	}
	if len(body) > MaxRosterBody {
		return SignedRoster{}, fmt.Errorf("sign roster: %w", ErrRosterTooLarge)
	}
	return SignedRoster{Body: body, Sig: k.Sign(rosterMessage(body)), Chain: chain}, nil
}

func rosterMessage(body []byte) []byte {
	msg := make([]byte, 0, len(rosterDomain)+len(body))
	msg = append(msg, rosterDomain...)
	return append(msg, body...)
}

// Verify checks that s is a well-formed roster of network, signed by
// the key its hand-over chain leads to from network's id, and returns it
// parsed.
func (s SignedRoster) Verify(network key.NetworkPublic) (*Roster, error) {
	return s.verifyFrom(network, 0)
}

// verifyFrom is Verify when the first trusted entries of s.Chain are
// known to be valid.
func (s SignedRoster) verifyFrom(network key.NetworkPublic, trusted int) (*Roster, error) {
	if len(s.Body) > MaxRosterBody {
		return nil, ErrRosterTooLarge
	}
	signer, err := verifyChain(network, s.Chain, min(trusted, len(s.Chain)))
	if err != nil {
		return nil, err
	}
	if !signer.Verify(rosterMessage(s.Body), s.Sig) {
		return nil, ErrRosterSignature
	}
	return parseRoster(s.Body, network)
}

// parseRoster parses and checks a roster body whose signature has been
// verified.
func parseRoster(body []byte, network key.NetworkPublic) (*Roster, error) {
	if len(body) > MaxRosterBody {
		return nil, ErrRosterTooLarge
	}
	r := new(Roster)
	if err := json.Unmarshal(body, r); err != nil {
		return nil, fmt.Errorf("roster is malformed: %w", err)
	}
	if r.Network != network {
		return nil, fmt.Errorf("roster is for network %s, want %s", r.Network, network)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// check validates everything in r except the signature.
func (r *Roster) check() error {
	if r.Network.IsZero() {
		return errors.New("roster has no network id")
	}
	if !ValidNetworkName(r.Name) {
		return fmt.Errorf("roster has invalid network name %q", r.Name)
	}
	if err := r.checkRemovals(); err != nil {
		return err
	}
	if r.Dissolved && len(r.Members) > 0 {
		return errors.New("a dissolved roster has members")
	}
	if len(r.Members) > MaxMembers {
		return fmt.Errorf("roster has %d members, limit %d", len(r.Members), MaxMembers)
	}
	ips := make(map[netip.Addr]bool, 2*len(r.Members))
	names := make(map[string]bool, len(r.Members))
	for i, m := range r.Members {
		if m.Node.IsZero() {
			return fmt.Errorf("roster member %d has no node key", i)
		}
		if i > 0 && !r.Members[i-1].Node.Less(m.Node) {
			return fmt.Errorf("roster members not sorted or duplicated at %s", m.Node.ShortString())
		}
		if !ValidHostname(m.Hostname) {
			return fmt.Errorf("roster member %s has invalid hostname %q", m.Node.ShortString(), m.Hostname)
		}
		if names[m.Hostname] {
			return fmt.Errorf("roster has hostname %q twice", m.Hostname)
		}
		names[m.Hostname] = true
		if m.IPv4 != m.Node.IPv4(m.Index) || m.IPv6 != m.Node.IPv6() {
			return fmt.Errorf("roster member %s has addresses not derived from its key", m.Node.ShortString())
		}
		if ips[m.IPv4] || ips[m.IPv6] {
			return fmt.Errorf("roster has address %s twice", m.IPv4)
		}
		ips[m.IPv4], ips[m.IPv6] = true, true
	}
	return nil
}

// checkIndexes refuses members whose address index is over MaxAddrIndex.
// Rosters received are checked (Sign, FromRoster, ApplyRoster); one
// stored before the limit existed still loads.
func (r *Roster) checkIndexes() error {
	for _, m := range r.Members {
		if m.Index > MaxAddrIndex {
			return fmt.Errorf("roster member %s has address index %d, limit %d", m.Node.ShortString(), m.Index, MaxAddrIndex)
		}
	}
	return nil
}

// Member returns n's entry.
func (r *Roster) Member(n key.NodePublic) (Member, bool) {
	i, ok := r.find(n)
	if !ok {
		return Member{}, false
	}
	return r.Members[i], true
}

// find returns where n is or would be in r.Members.
func (r *Roster) find(n key.NodePublic) (int, bool) {
	return slices.BinarySearchFunc(r.Members, n, func(m Member, n key.NodePublic) int {
		return bytes.Compare(m.Node[:], n[:])
	})
}

// Admins returns the nodes marked admin, in key order.
func (r *Roster) Admins() []key.NodePublic {
	var out []key.NodePublic
	for _, m := range r.Members {
		if m.Admin {
			out = append(out, m.Node)
		}
	}
	return out
}

// MemberByIP returns the member whose overlay IPv4 or IPv6 is a. It scans
// the roster; the data path builds its own table instead.
func (r *Roster) MemberByIP(a netip.Addr) (Member, bool) {
	if !a.IsValid() {
		return Member{}, false
	}
	a = a.Unmap()
	for _, m := range r.Members {
		if m.IPv4 == a || m.IPv6 == a {
			return m, true
		}
	}
	return Member{}, false
}

// clone returns a deep copy of r.
func (r *Roster) clone() *Roster {
	c := *r
	c.Members = slices.Clone(r.Members)
	c.Removed = slices.Clone(r.Removed)
	c.Revoked = slices.Clone(r.Revoked)
	return &c
}
