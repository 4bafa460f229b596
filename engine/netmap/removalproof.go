package netmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// removalDomain separates removal proofs from every other signature made
// with a network key.
const removalDomain = "rayfish-removed-v1\x00"

// RemovalProof is an admin's signed statement, made with the network's
// current key, that the roster of version Version records Node as
// removed at Removed. A node removed while it was offline is refused at
// every member's handshake; an admin answers it with this proof (not the
// roster: it is no longer a member), so that it learns why and stops
// trying. Chain leads from the network id to the signing key.
type RemovalProof struct {
	Network key.NetworkPublic `json:"network"`
	Node    key.NodePublic    `json:"node"`
	Removed time.Time         `json:"removed"`
	Version uint64            `json:"version"`
	Chain   []Handover        `json:"chain,omitempty"`
	Sig     []byte            `json:"sig"`
}

// ErrNoRemoval: the node asking was not removed by an admin.
var ErrNoRemoval = errors.New("this node was not removed from the network")

func (p RemovalProof) message() []byte {
	b := make([]byte, 0, len(removalDomain)+64+16)
	b = append(b, removalDomain...)
	b = append(b, p.Network[:]...)
	b = append(b, p.Node[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(p.Removed.UnixNano()))
	return binary.BigEndian.AppendUint64(b, p.Version)
}

// ProveRemoval signs the proof that an admin removed node from n (admin
// only). A node that left, or that is a member, gets ErrNoRemoval.
func (n *Network) ProveRemoval(node key.NodePublic) (RemovalProof, error) {
	if err := n.requireAdmin(); err != nil {
		return RemovalProof{}, err
	}
	if _, ok := n.Roster.Member(node); ok {
		return RemovalProof{}, ErrNoRemoval
	}
	at, ok := n.Roster.RemovedAt(node)
	if !ok {
		return RemovalProof{}, ErrNoRemoval
	}
	p := RemovalProof{Network: n.ID, Node: node, Removed: at, Version: n.Roster.Version, Chain: n.Signed.Chain}
	p.Sig = n.Secret.Sign(p.message())
	return p, nil
}

// CheckRemovalProof reports whether p proves that self was removed from
// n after the roster n holds: signed by n's key, or by one its hand-over
// chain leads to from that key, and newer than n's roster (so that a
// proof of an earlier removal, replayed after self was readmitted, is
// refused).
func (n *Network) CheckRemovalProof(p RemovalProof, self key.NodePublic) error {
	switch {
	case p.Network != n.ID:
		return fmt.Errorf("removal proof is for network %s, not %q", p.Network.ShortString(), n.Name)
	case p.Node != self:
		return errors.New("removal proof names another node")
	case n.Roster != nil && p.Version <= n.Roster.Version:
		return fmt.Errorf("%w: removal proof of version %d, have %d", ErrStaleRoster, p.Version, n.Roster.Version)
	}
	if _, err := n.followChain(p.Chain); err != nil {
		return err
	}
	if !chainKey(n.ID, p.Chain).Verify(p.message(), p.Sig) {
		return errors.New("removal proof: signature invalid")
	}
	return nil
}
