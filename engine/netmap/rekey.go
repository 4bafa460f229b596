package netmap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// Rekeying. A network's id is the public key it was created with and
// never changes: invite codes, state and every message name the network
// by it. The key that signs its rosters can change (ray rekey): an admin
// makes a new key and signs a Handover with the current one, naming the
// new public key and its generation. The hand-overs form a chain from the
// id to the current key; it travels with every roster (SignedRoster.Chain),
// so a member that was offline follows it from the key it already
// trusts, and a joiner follows it from the id in its invite code.
//
// A member accepts a longer chain only if the first hand-over it did not
// have was made by a node its current roster marks as admin: a withdrawn
// admin that kept the old secret cannot fork the chain for a member that
// already knows it was withdrawn. Once a member follows a hand-over,
// rosters signed by an older key are refused.
//
// Two admins rekeying at once fork the chain at the same generation. The
// fork whose new key is smaller (bytewise) wins on every node, provided
// its admin is an admin in the roster the node holds. A roster under a
// newer key replaces one under an older key whatever their versions (the
// old key's lineage ends at the hand-over); an admin whose key lost drops
// it, keeps the roster it signed, and once the winning admin hands it the
// new secret merges its own changes on top (MergeLost), as for any
// concurrent change.

// MaxRekeys bounds a network's hand-over chain.
const MaxRekeys = 32

// rekeyDomain separates hand-over signatures from every other signature.
const rekeyDomain = "rayfish-rekey-v1\x00"

// Errors from rekeying.
var (
	ErrRekeyChain    = errors.New("network key hand-over invalid")
	ErrReplacedKey   = fmt.Errorf("%w: signed by a replaced network key", ErrStaleRoster)
	ErrRekeyNotAdmin = errors.New("network key hand-over made by a node that is not an admin")
	ErrRekeyLost     = fmt.Errorf("%w: its network key hand-over lost to a concurrent one", ErrStaleRoster)
)

// Handover is an admin's signed statement that the network's key changes
// from Old to New at generation Gen (the first rekey is generation 1). It
// is signed by Old, which members trust, and by the admin's node key, so
// that members can check who made it.
type Handover struct {
	Network key.NetworkPublic `json:"network"`
	Gen     uint32            `json:"gen"`
	Old     key.NetworkPublic `json:"old"`
	New     key.NetworkPublic `json:"new"`
	By      key.NodePublic    `json:"by"`
	// Time has second precision.
	Time    time.Time `json:"time"`
	KeySig  []byte    `json:"key_sig"`
	NodeSig []byte    `json:"node_sig"`
}

func (h Handover) message() []byte {
	b := make([]byte, 0, len(rekeyDomain)+4*32+4+8)
	b = append(b, rekeyDomain...)
	b = append(b, h.Network[:]...)
	b = binary.BigEndian.AppendUint32(b, h.Gen)
	b = append(b, h.Old[:]...)
	b = append(b, h.New[:]...)
	b = append(b, h.By[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(h.Time.Unix()))
}

// Sign returns h signed by old, the key it replaces, and by, the admin
// node making it.
func (h Handover) Sign(old key.NetworkPrivate, by key.NodePrivate) Handover {
	msg := h.message()
	h.KeySig, h.NodeSig = old.Sign(msg), by.Sign(msg)
	return h
}

// same reports whether h and o are the same statement.
func (h Handover) same(o Handover) bool {
	return h.New == o.New && bytes.Equal(h.KeySig, o.KeySig) && bytes.Equal(h.NodeSig, o.NodeSig)
}

// verify checks h as the hand-over of generation gen from old.
func (h Handover) verify(network, old key.NetworkPublic, gen uint32) error {
	switch {
	case h.Network != network:
		return fmt.Errorf("%w: for network %s", ErrRekeyChain, h.Network.ShortString())
	case h.Gen != gen || h.Old != old:
		return fmt.Errorf("%w: generation %d does not follow the key of generation %d", ErrRekeyChain, h.Gen, gen-1)
	case h.New.IsZero() || h.New == h.Old || h.New == network:
		return fmt.Errorf("%w: generation %d names no new key", ErrRekeyChain, h.Gen)
	case h.By.IsZero() || h.Time.IsZero() || h.Time.Nanosecond() != 0:
		return fmt.Errorf("%w: generation %d is malformed", ErrRekeyChain, h.Gen)
	}
	msg := h.message()
	if !h.Old.Verify(msg, h.KeySig) || !h.By.Verify(msg, h.NodeSig) {
		return fmt.Errorf("%w: generation %d: signature invalid", ErrRekeyChain, h.Gen)
	}
	return nil
}

// verifyChain checks chain from entry from on (the ones before were
// verified already) and returns the key it ends with.
func verifyChain(network key.NetworkPublic, chain []Handover, from int) (key.NetworkPublic, error) {
	if len(chain) > MaxRekeys {
		return key.NetworkPublic{}, fmt.Errorf("%w: %d hand-overs, limit %d", ErrRekeyChain, len(chain), MaxRekeys)
	}
	cur := chainKey(network, chain[:from])
	for i := from; i < len(chain); i++ {
		if err := chain[i].verify(network, cur, uint32(i+1)); err != nil {
			return key.NetworkPublic{}, err
		}
		cur = chain[i].New
	}
	return cur, nil
}

// chainKey returns the key a (verified) chain ends with.
func chainKey(network key.NetworkPublic, chain []Handover) key.NetworkPublic {
	if len(chain) == 0 {
		return network
	}
	return chain[len(chain)-1].New
}

// VerifyChain checks a hand-over chain from network's id and returns the
// key it ends with: what a node that knows only the id (a joiner) trusts.
func VerifyChain(network key.NetworkPublic, chain []Handover) (key.NetworkPublic, error) {
	return verifyChain(network, chain, 0)
}

// Key returns the key that signs n's rosters now: its id until the first
// rekey.
func (n *Network) Key() key.NetworkPublic { return chainKey(n.ID, n.Signed.Chain) }

// Generation returns how many times n was rekeyed.
func (n *Network) Generation() int { return len(n.Signed.Chain) }

// chainStep says how a received chain relates to the one held.
type chainStep int

const (
	chainSame   chainStep = iota // the chain held
	chainLonger                  // the chain held, then hand-overs
	chainFork                    // a winning concurrent hand-over
)

// followChain decides whether n trusts chain, a chain received with a
// roster or a removal proof: see the rule at the top of this file. It
// verifies only the hand-overs n does not hold.
func (n *Network) followChain(chain []Handover) (chainStep, error) {
	ours := n.Signed.Chain
	if len(chain) > MaxRekeys {
		return 0, fmt.Errorf("%w: %d hand-overs, limit %d", ErrRekeyChain, len(chain), MaxRekeys)
	}
	g := 0
	for g < len(ours) && g < len(chain) && ours[g].same(chain[g]) {
		g++
	}
	switch {
	case g == len(chain) && g == len(ours):
		return chainSame, nil
	case g == len(chain):
		return 0, ErrReplacedKey
	}
	// The cheap checks first: a node holding an old key (a withdrawn
	// admin) can sign any number of hand-overs from it.
	if n.Roster != nil && !n.Roster.AdminOf(chain[g].By) {
		return 0, fmt.Errorf("%w (%s)", ErrRekeyNotAdmin, chain[g].By.ShortString())
	}
	step := chainLonger
	if g < len(ours) {
		if bytes.Compare(chain[g].New[:], ours[g].New[:]) >= 0 {
			return 0, ErrRekeyLost
		}
		step = chainFork
	}
	if _, err := verifyChain(n.ID, chain, g); err != nil {
		return 0, err
	}
	return step, nil
}

// Rekey gives n a new network key (admin only): by, this node, signs the
// hand-over with the current key, and the roster is re-signed by the new
// one as the next version. The caller hands the new secret to the other
// admins the roster marks.
func (n *Network) Rekey(by key.NodePrivate, now time.Time) error {
	if err := n.requireAdmin(); err != nil {
		return err
	}
	if !n.Roster.AdminOf(by.Public()) {
		return fmt.Errorf("network %q: %w", n.Name, ErrNotAdmin)
	}
	if n.Roster.Dissolved {
		return fmt.Errorf("network %q was deleted", n.Name)
	}
	gen := len(n.Signed.Chain) + 1
	if gen > MaxRekeys {
		return fmt.Errorf("network %q was rekeyed %d times, the limit; create a new network instead", n.Name, MaxRekeys)
	}
	secret := key.NewNetwork()
	h := Handover{Network: n.ID, Gen: uint32(gen), Old: n.Key(), New: secret.Public(), By: by.Public(), Time: now.UTC().Truncate(time.Second)}
	chain := append(append([]Handover(nil), n.Signed.Chain...), h.Sign(n.Secret, by))
	r := n.Roster.clone()
	r.Version = n.Roster.Version + 1
	r.Issued = now.UTC()
	s, err := r.SignChain(secret, chain)
	if err != nil {
		return fmt.Errorf("network %q: %w", n.Name, err)
	}
	n.Secret, n.Signed, n.Roster = secret, s, r
	n.lost = nil
	return nil
}

// keyReplaced follows a roster installed under a key this node's secret
// does not sign for: the node drops the secret and keeps old, the roster
// it held, to merge once the new secret arrives (MergeLost).
func (n *Network) keyReplaced(old *Roster) {
	if !n.IsAdmin() || n.Secret.Public() == n.Key() {
		return
	}
	n.Secret = key.NetworkPrivate{}
	n.lost = old
}

// AwaitsKey reports whether n was an admin's until another admin rekeyed
// it, and the new secret has not arrived yet.
func (n *Network) AwaitsKey() bool { return n.lost != nil && !n.IsAdmin() }

// MergeLost merges, once n holds the secret again, the roster it held
// when another admin's rekey replaced its key (see Merge).
func (n *Network) MergeLost(now time.Time) (changed bool, err error) {
	lost := n.lost
	if lost == nil || !n.IsAdmin() {
		return false, nil
	}
	n.lost = nil
	return n.Merge(lost, now)
}
