package engine

import (
	"context"
	"errors"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// A member removed while its daemon was stopped still holds the network;
// every member refuses its handshake, which says nothing. So the refused
// node asks the admins of its roster, on a join connection (open to
// non-members, within the join limits), whether it was removed; an admin
// answers with a RemovalProof signed by the network key. An admin that
// shares another network with the node sends the proof after the hello
// instead. The node believes only a proof that verifies against the key
// it trusts, and then shows the removal as for an online one.

// removalAskEvery bounds how often this node asks one peer why it
// refused a handshake.
const removalAskEvery = 30 * time.Second

// maxRemovalAsks bounds the peers remembered in removalAsks.
const maxRemovalAsks = 256

// handshakeRefused reports whether err is the peer refusing our TLS
// handshake (verifyIncoming: we are not a member in its roster).
func handshakeRefused(err error) bool {
	var te *quic.TransportError
	return errors.As(err, &te) && te.Remote && te.ErrorCode.IsCryptoError()
}

// refusalWait is how long after a dial a refusal of our certificate
// may still end the connection.
const refusalWait = 5 * time.Second

// watchRefusal waits, on the dial's goroutine, for qc to be refused by
// the peer's certificate check, and then asks it why (askRemoval).
func (e *Engine) watchRefusal(p *peer, qc *quic.Conn) {
	t := time.NewTimer(refusalWait)
	defer t.Stop()
	select {
	case <-qc.Context().Done():
		if handshakeRefused(context.Cause(qc.Context())) {
			e.askRemoval(p)
		}
	case <-t.C:
	case <-e.ctx.Done():
	}
}

// askRemoval asks p, which refused our handshake, whether it removed
// this node from the networks in which our roster marks it as admin.
// Called without e.mu, from a dial's goroutine.
func (e *Engine) askRemoval(p *peer) {
	now := time.Now()
	e.mu.Lock()
	if last, ok := e.removalAsks[p.key]; ok && now.Sub(last) < removalAskEvery {
		e.mu.Unlock()
		return
	}
	if e.removalAsks == nil || len(e.removalAsks) >= maxRemovalAsks {
		e.removalAsks = map[key.NodePublic]time.Time{}
	}
	e.removalAsks[p.key] = now
	var ids []key.NetworkPublic
	for _, n := range e.state.Networks {
		if n.Roster.AdminOf(p.key) {
			ids = append(ids, n.ID)
		}
	}
	rec, ok := e.state.Endpoints[p.key]
	e.mu.Unlock()
	if !ok {
		return
	}
	for _, id := range ids {
		resp, err := e.askToJoin(e.ctx, rec, joinReq{Network: id, Removal: true})
		if err != nil {
			e.log.Debug("asking a refusing admin why", "peer", p.key.ShortString(), "err", err)
			return
		}
		if resp.Removal != nil {
			e.applyRemovalProof(p, *resp.Removal)
		}
	}
}

// applyRemovalProof believes a removal proof from p if it verifies (see
// netmap.CheckRemovalProof): this node then forgets the network and shows
// the removal, as for a roster that removes it.
func (e *Engine) applyRemovalProof(from *peer, proof netmap.RemovalProof) {
	e.mu.Lock()
	n := e.state.ByID(proof.Network)
	if n == nil {
		e.mu.Unlock()
		return
	}
	if err := n.CheckRemovalProof(proof, e.self); err != nil {
		e.mu.Unlock()
		e.log.Warn("removal proof refused", "network", n.Name, "peer", from.key.ShortString(), "err", err)
		return
	}
	e.removedLocked(n)
	e.mu.Unlock()
	e.flushSaved()
}

// answerRemoval answers a removal question from node (admin side, join
// connection): the proof if an admin removed it from n, else an error
// that says nothing more.
func answerRemoval(n *netmap.Network, node key.NodePublic) joinResp {
	proof, err := n.ProveRemoval(node)
	if err != nil {
		return joinResp{Error: netmap.ErrNoRemoval.Error()}
	}
	return joinResp{Removal: &proof}
}
