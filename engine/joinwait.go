package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
)

// The joiner's side of approval joins: which of this node's join requests
// wait for an admin (shown by `ray status` and the GUI), and the signed
// denial that ends a wait.

// joinWaits holds this node's own join requests by network. Lock order:
// e.mu, then joinWaits.mu.
type joinWaits struct {
	mu sync.Mutex
	m  map[key.NetworkPublic]apitype.Joining
}

// set records network id's request in state; "" forgets it.
func (w *joinWaits) set(id key.NetworkPublic, name, state string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if state == "" {
		delete(w.m, id)
		return
	}
	if w.m == nil {
		w.m = map[key.NetworkPublic]apitype.Joining{}
	}
	w.m[id] = apitype.Joining{Network: name, ID: id.String(), State: state, Since: now}
}

// list returns the requests, by network name.
func (w *joinWaits) list() []apitype.Joining {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := slices.Collect(maps.Values(w.m))
	slices.SortFunc(out, func(a, b apitype.Joining) int { return strings.Compare(a.Network, b.Network) })
	return out
}

// joinAnswerWait bounds how long Join waits for the inviting node's first
// answer (admitted, refused or pending).
const joinAnswerWait = 30 * time.Second

// awaitJoin waits for a join's result. An admin's first answer must come
// within joinAnswerWait; once the request is pending (approval), Join
// waits up to wait more (2 minutes if 0), then returns ErrPending while
// the join goes on in the background. Ctrl-C (ctx) also leaves it there.
func awaitJoin(ctx context.Context, result <-chan error, pending <-chan struct{}, wait time.Duration) error {
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	answer := time.NewTimer(joinAnswerWait)
	defer answer.Stop()
	var approval <-chan time.Time
	for {
		select {
		case err := <-result:
			return err
		case <-pending:
			answer.Stop()
			t := time.NewTimer(wait)
			defer t.Stop()
			approval, pending = t.C, nil
		case <-answer.C:
			return fmt.Errorf("the inviting node did not answer within %v (it may still; see ray status)", joinAnswerWait)
		case <-approval:
			return ErrPending
		case <-ctx.Done():
			return ErrPending
		}
	}
}

// joinDenial is an admin's refusal of a join request, signed with the
// network key: only an admin of the network can make one.
type joinDenial struct {
	Network key.NetworkPublic `json:"network"`
	Node    key.NodePublic    `json:"node"`
	Sig     []byte            `json:"sig"`
	// Chain leads from the network id to the signing key (a rekeyed
	// network).
	Chain []netmap.Handover `json:"chain,omitempty"`
}

func denialMessage(network key.NetworkPublic, node key.NodePublic) []byte {
	return []byte("rayfish join denied\x00" + network.String() + "\x00" + node.String())
}

// signDenial denies node's request to join n; n must be ours to admin.
func signDenial(n *netmap.Network, node key.NodePublic) *joinDenial {
	return &joinDenial{Network: n.ID, Node: node, Sig: n.Secret.Sign(denialMessage(n.ID, node)), Chain: n.Signed.Chain}
}

// valid reports whether d denies self's request to join network.
func (d *joinDenial) valid(network key.NetworkPublic, self key.NodePublic) bool {
	if d == nil || d.Network != network || d.Node != self {
		return false
	}
	signer, err := netmap.VerifyChain(network, d.Chain)
	return err == nil && signer.Verify(denialMessage(network, self), d.Sig)
}
