package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Joining an open network by its id: an open network admits anyone who
// presents its id, so `ray join NETWORK_ID` asks the nodes this node can
// find (members of its own networks, nodes heard on the LAN) whether they
// admin that network, and joins through the first that does.

// Bounds of the search for an open network's admin.
const (
	maxLANRecords    = 64 // LAN-discovered records kept (newest)
	maxJoinCandidate = 16 // nodes asked
	joinAskTimeout   = 5 * time.Second
)

// lanRecords keeps the newest verified endpoint records heard on the LAN
// (mDNS), members or not: the places to look for an open network's admin.
type lanRecords struct {
	mu   sync.Mutex
	recs map[key.NodePublic]netmap.EndpointRecord
	seen map[key.NodePublic]time.Time
}

func (l *lanRecords) add(r netmap.EndpointRecord, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recs == nil {
		l.recs, l.seen = map[key.NodePublic]netmap.EndpointRecord{}, map[key.NodePublic]time.Time{}
	}
	if _, ok := l.recs[r.Node]; !ok && len(l.recs) >= maxLANRecords {
		var oldest key.NodePublic
		var at time.Time
		for k, t := range l.seen {
			if at.IsZero() || t.Before(at) {
				oldest, at = k, t
			}
		}
		delete(l.recs, oldest)
		delete(l.seen, oldest)
	}
	l.recs[r.Node], l.seen[r.Node] = r, now
}

func (l *lanRecords) list() []netmap.EndpointRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Collect(maps.Values(l.recs))
}

// errClosedByID is the admin's answer to a bare network id for a closed network.
const errClosedByID = "is closed: it admits by invite code or approval only; ask an admin for a code (ray invite)"

// refuseByID answers a join that presents only the id of a closed network.
func refuseByID(n *netmap.Network, joiner key.NodePublic, req joinReq) (joinResp, bool) {
	if !req.ByID || n.Roster.Open || isMember(n, joiner) {
		return joinResp{}, false
	}
	return joinResp{Error: fmt.Sprintf("network %q %s", n.Name, errClosedByID)}, true
}

// wasRemoved reports whether an admin removed node from n.
func wasRemoved(n *netmap.Network, node key.NodePublic) bool {
	_, ok := n.Roster.RemovedAt(node)
	return ok
}

// joinByID joins the open network id through the first admin found.
func (e *Engine) joinByID(ctx context.Context, id key.NetworkPublic, hostname string) (*netmap.Network, error) {
	e.mu.Lock()
	if n := e.state.ByID(id); n != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("already a member of network %q", n.Name)
	}
	if hostname == "" {
		hostname = e.hostname
	}
	rec := e.myRecord
	var cands []netmap.EndpointRecord
	for _, r := range e.state.Endpoints {
		cands = append(cands, r)
	}
	e.mu.Unlock()
	cands = append(cands, e.lanSeen.list()...)
	req := joinReq{Network: id, Hostname: netmap.SanitizeHostname(hostname), Record: &rec, ByID: true}
	tried := map[key.NodePublic]bool{e.self: true}
	var refusal error
	for _, c := range cands {
		if tried[c.Node] || len(tried) > maxJoinCandidate {
			continue
		}
		tried[c.Node] = true
		resp, err := e.askToJoin(ctx, c, req)
		switch {
		case err != nil:
			continue // not reachable, or not speaking: try the next
		case resp.Error != "" && resp.Error != errNotAdmin:
			refusal = errors.New(resp.Error)
		case resp.Roster != nil:
			inv := netmap.Invite{Network: id, NetworkName: id.ShortString(), Inviter: c.Node}
			return e.installJoined(inv, *resp.Roster, resp.Endpoints)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if refusal != nil {
		return nil, refusal
	}
	return nil, fmt.Errorf("found no admin of network %s among %d reachable nodes (your peers and the LAN); "+
		"ask its admin for an invite code", id.ShortString(), len(tried)-1)
}

// errNotAdmin is what a node that does not admin the network answers.
const errNotAdmin = "this node is not an admin of that network"

// askToJoin sends req to the node of r on a join connection and reads
// one answer, within joinAskTimeout.
func (e *Engine) askToJoin(ctx context.Context, r netmap.EndpointRecord, req joinReq) (joinResp, error) {
	ctx, cancel := context.WithTimeout(ctx, joinAskTimeout)
	defer cancel()
	if r.Verify() != nil {
		return joinResp{}, errors.New("bad record")
	}
	e.mu.Lock()
	e.tellPeerLocked(r)
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if _, member := e.peers[r.Node]; !member && e.mc != nil {
			e.mc.RemovePeer(r.Node) // not ours to keep paths to
		}
	}()
	qc, err := e.dial(ctx, r.Node, alpnJoin)
	if err != nil {
		return joinResp{}, err
	}
	defer qc.CloseWithError(codeNormal, "")
	st, err := qc.OpenStreamSync(ctx)
	if err != nil {
		return joinResp{}, err
	}
	st.SetDeadline(time.Now().Add(joinAskTimeout))
	if err := writeMsg(st, &req); err != nil {
		return joinResp{}, err
	}
	var resp joinResp
	if err := readMsg(st, &resp); err != nil {
		return joinResp{}, err
	}
	return resp, nil
}
