package engine

import (
	"fmt"
	"time"

	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Rekeying a network (ray rekey): a new network key, the roster re-signed
// by it, and the hand-over chain with it (netmap/rekey.go). Members follow
// the chain from the key they trust; co-admins that remain admins get the
// new secret over the control stream (handOverKeys), as with admin add; a
// withdrawn admin does not, so its signatures are refused from now on.

// Rekey gives network a new key (admin only) and returns its generation
// and the co-admins it goes to.
func (e *Engine) Rekey(network string) (apitype.RekeyResponse, error) {
	defer e.flushSaved() // after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.adminNetworkLocked(network, "rekey the network")
	if err != nil {
		return apitype.RekeyResponse{}, err
	}
	if err := n.Rekey(e.nodeKey, time.Now()); err != nil {
		return apitype.RekeyResponse{}, err
	}
	e.saveLocked()
	e.gossipRosterLocked(n.ID, key.NodePublic{})
	resp := apitype.RekeyResponse{Generation: n.Generation(), Admins: []string{}}
	secret := &ctrlMsg{Type: msgAdminKey, AdminKey: &adminKey{Network: n.ID, Secret: n.Secret}}
	for _, m := range n.Roster.Members {
		if !m.Admin || m.Node == e.self {
			continue
		}
		resp.Admins = append(resp.Admins, m.Hostname)
		if p := e.peers[m.Node]; p != nil {
			if pc := p.cur.Load(); pc != nil { // queued after the roster
				e.sendCtrl(pc, secret)
			}
		}
	}
	e.watchers.notify()
	e.log.Info("network rekeyed", "network", n.Name, "generation", resp.Generation)
	e.auditf(audit.NetworkRekeyed, key.NodePublic{}, "", n.Name, fmt.Sprintf("generation %d", resp.Generation))
	return resp, nil
}

// sendKeysHello tells p, after its hello, the current key of every
// rekeyed network both hold, so that two nodes whose rosters carry the
// same version under different keys (a concurrent rekey) exchange them.
func (e *Engine) sendKeysHello(p *peer, pc *peerConn, theirs map[key.NetworkPublic]uint64) {
	e.mu.Lock()
	keys := map[key.NetworkPublic]key.NetworkPublic{}
	for _, n := range e.state.Networks {
		if _, shared := theirs[n.ID]; shared && n.Generation() > 0 && isMember(n, p.key) {
			keys[n.ID] = n.Key()
		}
	}
	e.mu.Unlock()
	if len(keys) > 0 {
		e.sendCtrl(pc, &ctrlMsg{Type: msgKeys, Keys: keys})
	}
}

// handleKeys answers a peer's network keys: where ours differs, it gets
// our roster, and keeps whichever its rules say (a newer key, or the
// winner of a concurrent rekey). A co-admin that waits for a network's
// new secret gets it if we hold it.
func (e *Engine) handleKeys(p *peer, pc *peerConn, keys map[key.NetworkPublic]key.NetworkPublic, need []key.NetworkPublic) {
	if len(keys) > maxKeysMsg || len(need) > maxKeysMsg {
		return
	}
	var msgs []*ctrlMsg
	e.mu.Lock()
	for id, k := range keys {
		n := e.state.ByID(id)
		if n != nil && isMember(n, p.key) && n.Key() != k {
			s := n.Signed
			msgs = append(msgs, &ctrlMsg{Type: msgRoster, Roster: &s})
		}
	}
	for _, id := range need {
		if n := e.state.ByID(id); n != nil && n.IsAdmin() && n.Roster.AdminOf(p.key) {
			msgs = append(msgs, &ctrlMsg{Type: msgAdminKey, AdminKey: &adminKey{Network: n.ID, Secret: n.Secret}})
		}
	}
	e.mu.Unlock()
	for _, m := range msgs {
		e.sendCtrl(pc, m)
	}
}

// askKeyLocked returns what asks the connected admins of n for its new
// secret, if this node waits for it (another admin rekeyed n); it runs
// after e.mu is released.
func (e *Engine) askKeyLocked(n *netmap.Network) func() {
	if !n.AwaitsKey() {
		return func() {}
	}
	var targets []*peerConn
	for _, a := range n.Roster.Admins() {
		if p := e.peers[a]; p != nil && a != e.self {
			if pc := p.cur.Load(); pc != nil {
				targets = append(targets, pc)
			}
		}
	}
	msg := &ctrlMsg{Type: msgKeys, NeedKey: []key.NetworkPublic{n.ID}}
	return func() {
		for _, pc := range targets {
			e.sendCtrl(pc, msg)
		}
	}
}

// maxKeysMsg bounds the networks a keys message may name.
const maxKeysMsg = 256

// staleAnswerEvery bounds how often one peer's stale rosters get ours in
// answer: a member that keeps sending them gets no more than that.
const staleAnswerEvery = 2 * time.Second

// answerStaleRoster sends p our roster of n when p sent one under a key
// ours replaced (it missed a rekey) or that lost a concurrent rekey, so
// that it follows.
func (e *Engine) answerStaleRoster(p *peer, id key.NetworkPublic) {
	now := time.Now()
	e.mu.Lock()
	n := e.state.ByID(id)
	if last, ok := e.staleAnswers[p.key]; n == nil || n.Generation() == 0 || ok && now.Sub(last) < staleAnswerEvery {
		e.mu.Unlock()
		return
	}
	if e.staleAnswers == nil || len(e.staleAnswers) >= maxRemovalAsks {
		e.staleAnswers = map[key.NodePublic]time.Time{}
	}
	e.staleAnswers[p.key] = now
	s := n.Signed
	pc := p.cur.Load()
	e.mu.Unlock()
	if pc != nil {
		e.sendCtrl(pc, &ctrlMsg{Type: msgRoster, Roster: &s})
	}
}
