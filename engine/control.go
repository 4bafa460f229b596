package engine

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// handleCtrl processes one control message from p. A message about a
// network is accepted only from a current member of that network; roster
// contents are accepted only under the network key's signature.
func (e *Engine) handleCtrl(p *peer, pc *peerConn, m *ctrlMsg) {
	switch m.Type {
	case msgHello:
		e.peerStandby(p, m.Standby)
		if m.Bulk == bulkVersion && pc.bulk != nil && !pc.bulk.Sending() && !e.cfg.DisableBulk {
			if err := pc.bulk.StartSend(0); err != nil {
				e.log.Warn("bulk channel", "peer", p.key.ShortString(), "err", err)
			} else {
				p.dp.SwapCarrier(pc.dgram, pc.bulk) // unless pc is no longer current
			}
		}
		e.importRecords(p, m.Endpoints)
		var push []*netmap.SignedRoster
		var proofs []*netmap.RemovalProof
		e.mu.Lock()
		sw := peerSoftware{os: softwareToken(m.OS), version: softwareToken(m.Version)}
		swChanged := sw != p.software
		p.software = sw
		for _, n := range e.state.Networks {
			theirs, shared := m.Versions[n.ID]
			if shared && !isMember(n, p.key) && n.IsAdmin() {
				// Removed while away, still holding the network.
				if proof, err := n.ProveRemoval(p.key); err == nil {
					proofs = append(proofs, &proof)
				}
			}
			if !shared || !isMember(n, p.key) {
				continue
			}
			if n.Roster.Version > theirs {
				s := n.Signed
				push = append(push, &s)
			}
		}
		e.mu.Unlock()
		if swChanged {
			e.watchers.notify()
		}
		for _, s := range push {
			e.sendCtrl(pc, &ctrlMsg{Type: msgRoster, Roster: s})
		}
		for _, proof := range proofs {
			e.sendCtrl(pc, &ctrlMsg{Type: msgRemoved, Removal: proof})
		}
		e.sendKeysHello(p, pc, m.Versions)
		e.handOverKeys(p, pc)
	case msgRoster:
		if m.Roster != nil {
			e.applyRoster(p, *m.Roster)
		}
		// Records of the members, so that new members are reachable by
		// everyone, not only by whoever admitted them.
		e.importRecords(p, m.Endpoints)
	case msgLeave:
		if m.Leave != nil {
			e.handleLeave(p, *m.Leave)
		}
	case msgEndpoints:
		e.importRecords(p, m.Endpoints)
	case msgState:
		e.peerStandby(p, m.Standby)
	case msgAdminKey:
		if m.AdminKey != nil {
			e.handleAdminKey(p, *m.AdminKey)
		}
	case msgKeys:
		e.handleKeys(p, pc, m.Keys, m.NeedKey)
	case msgRemoved:
		if m.Removal != nil {
			e.applyRemovalProof(p, *m.Removal)
		}
	case msgRename:
		if m.Rename != nil {
			e.handleRename(p, *m.Rename)
		}
	default:
		e.log.Debug("unknown control message", "type", m.Type, "peer", p.key.ShortString())
	}
}

func isMember(n *netmap.Network, k key.NodePublic) bool {
	if n.Roster == nil {
		return false
	}
	_, ok := n.Roster.Member(k)
	return ok
}

// applyRoster installs a roster received from p if p is a member of that
// network (before or after the change) and the roster is newer. Newer
// rosters are gossiped to every other connected member.
func (e *Engine) applyRoster(from *peer, s netmap.SignedRoster) {
	e.mu.Lock()
	var net *netmap.Network
	if id, err := peekNetwork(s); err == nil {
		net = e.state.ByID(id)
	}
	if net == nil || !isMember(net, from.key) {
		e.mu.Unlock()
		e.log.Warn("roster from a non-member refused", "peer", from.key.ShortString())
		return
	}
	old := net.Roster
	changed, err := net.ApplyRoster(s)
	if err != nil {
		e.mu.Unlock()
		if errors.Is(err, netmap.ErrReplacedKey) || errors.Is(err, netmap.ErrRekeyLost) {
			e.answerStaleRoster(from, net.ID)
		} else if !errors.Is(err, netmap.ErrStaleRoster) {
			e.log.Warn("roster refused", "peer", from.key.ShortString(), "err", err)
		}
		return
	}
	if !changed {
		e.mu.Unlock()
		return
	}
	// Missing without a removal record is a concurrent admission lost to
	// a tie: the admin that admitted us merges it back.
	removedSelf := net.Roster.Dropped(e.self)
	gossipSkip := from.key
	if removedSelf {
		e.removedLocked(net)
	} else {
		if e.coAdminLocked(net, old) {
			gossipSkip = key.NodePublic{} // the sender needs the merge too
		}
		e.saveLocked()
		removed := e.removedPeersLocked(net, old)
		e.recomputeLocked()
		for _, p := range removed {
			if e.peers[p.key] != p { // closing: say why, as RemovePeer does
				p.closeReason = removedReason + net.ID.String()
			}
		}
	}
	name, version := net.Name, net.Roster.Version // guarded by e.mu
	ask := e.askKeyLocked(net)
	e.mu.Unlock()
	e.flushSaved()
	ask()
	e.log.Info("roster updated", "network", name, "version", version)
	if !removedSelf {
		e.gossipRoster(net.ID, gossipSkip)
	}
}

// removedPeersLocked returns, if this node admins net, the peers that
// were members in old and that net's roster now records as removed (a
// co-admin's removal, or one merged back after a concurrent change), so
// that their connections close with the removal reason: the removed node
// trusts that reason from an admin and learns it was removed.
func (e *Engine) removedPeersLocked(net *netmap.Network, old *netmap.Roster) []*peer {
	if !net.IsAdmin() || old == nil {
		return nil
	}
	var out []*peer
	for _, m := range old.Members {
		if p := e.peers[m.Node]; p != nil && net.Roster.Dropped(m.Node) {
			out = append(out, p)
		}
	}
	return out
}

// gossipRoster sends the current roster of network id to every connected
// member except skip.
func (e *Engine) gossipRoster(id key.NetworkPublic, skip key.NodePublic) {
	e.mu.Lock()
	e.gossipRosterLocked(id, skip)
	e.mu.Unlock()
}

// gossipRosterLocked queues the roster of network id for every connected
// member except skip (queueing does not block).
func (e *Engine) gossipRosterLocked(id key.NetworkPublic, skip key.NodePublic) {
	n := e.state.ByID(id)
	if n == nil {
		return
	}
	s := n.Signed
	var targets []*peerConn
	recs := []netmap.EndpointRecord{e.myRecord}
	for _, m := range n.Roster.Members {
		if m.Node == e.self {
			continue
		}
		if r, ok := e.state.Endpoints[m.Node]; ok && len(recs) < maxGossipRecords {
			recs = append(recs, r)
		}
		if m.Node == skip {
			continue
		}
		if p, ok := e.peers[m.Node]; ok {
			if pc := p.cur.Load(); pc != nil {
				targets = append(targets, pc)
			}
		}
	}
	msg := &ctrlMsg{Type: msgRoster, Roster: &s, Endpoints: recs}
	for _, pc := range targets {
		e.sendCtrl(pc, msg)
	}
}

// maxGossipRecords bounds the endpoint records sent with a roster.
const maxGossipRecords = 512

// handleLeave processes a signed leave notice. Admins prune the member
// and publish the new roster; other members stop routing to it at once.
func (e *Engine) handleLeave(from *peer, ln netmap.LeaveNotice) {
	if err := ln.Verify(); err != nil {
		e.log.Warn("bad leave notice", "peer", from.key.ShortString(), "err", err)
		return
	}
	e.mu.Lock()
	n := e.state.ByID(ln.Network)
	if n == nil || !isMember(n, ln.Node) || !isMember(n, from.key) {
		e.mu.Unlock()
		return
	}
	if !n.IsAdmin() {
		e.mu.Unlock()
		return
	}
	removed, err := n.ApplyLeave(ln, time.Now()) // refuses notices older than the membership
	if err != nil || !removed {
		e.mu.Unlock()
		e.log.Warn("prune after leave", "err", err)
		return
	}
	e.prunedUnlock(n, ln.Node, "member left, pruned")
}

// importRecords stores verified endpoint records of nodes we share a
// network with; newer sequence numbers win. One record per node is
// considered per message, and signatures are checked outside e.mu.
func (e *Engine) importRecords(from *peer, recs []netmap.EndpointRecord) {
	e.importRecordsVia(from, recs, viaRoster)
}

// importRecordsVia is importRecords noting where the records came from
// (status's discovered_via).
func (e *Engine) importRecordsVia(from *peer, recs []netmap.EndpointRecord, via string) {
	recs = newestPerNode(recs)
	e.mu.Lock()
	recs = e.wantedRecordsLocked(recs)
	e.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	if recs = e.verifiedRecords(recs); len(recs) == 0 {
		return
	}
	e.mu.Lock()
	var fresh []netmap.EndpointRecord
	for _, r := range recs {
		if !e.isNewRecordLocked(r) { // changed while unlocked
			continue
		}
		e.state.Endpoints[r.Node] = r
		e.dht.setVia(r.Node, via)
		e.tellPeerLocked(r)
		fresh = append(fresh, r)
		if p := e.peers[r.Node]; p != nil && p.cur.Load() == nil {
			p.nextDial = time.Now() // new addresses: try now
		}
	}
	if len(fresh) == 0 {
		e.mu.Unlock()
		return
	}
	e.saveLocked()
	defer e.flushSaved()   // after the unlock below
	e.updateRelaysLocked() // members may serve relays
	e.updateRoutesLocked() // records carry route offers
	// Pass news on: a record reaches every member even when its owner
	// cannot reach them yet (which is what the record is for). Only
	// records newer than what a node holds are forwarded, so each change
	// crosses each connection at most once.
	var targets []*peerConn
	for _, p := range e.peers {
		if from != nil && p == from {
			continue
		}
		if pc := p.cur.Load(); pc != nil {
			targets = append(targets, pc)
		}
	}
	e.mu.Unlock()
	msg := &ctrlMsg{Type: msgEndpoints, Endpoints: fresh}
	for _, pc := range targets {
		e.sendCtrl(pc, msg)
	}
}

// peekNetwork reads the network id a roster claims; Verify then checks the
// signature against that network's key.
func peekNetwork(s netmap.SignedRoster) (key.NetworkPublic, error) {
	var hdr struct {
		Network key.NetworkPublic `json:"network"`
	}
	err := json.Unmarshal(s.Body, &hdr)
	return hdr.Network, err
}
