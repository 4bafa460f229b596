package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Default invite lifetimes.
const (
	defaultInviteTTL   = 7 * 24 * time.Hour
	defaultReusableTTL = 30 * 24 * time.Hour
	joinWaitMax        = time.Hour
)

// requestKey names a pending join request on the admin side.
type requestKey struct {
	network key.NetworkPublic
	node    key.NodePublic
}

// pendingRequest is a joiner waiting on its join connection for a decision.
type pendingRequest struct {
	decided chan joinResp // buffered 1
	// record is the joiner's verified endpoint record, kept only once
	// the joiner is admitted.
	record *netmap.EndpointRecord
}

// recomputeLocked derives the peer set, the routing table and our own
// addresses from the rosters. Peers that no longer share a network are
// disconnected as non-members.
func (e *Engine) recomputeLocked() { e.recomputeClosingLocked(codeNotMember, "no shared network") }

// recomputeClosingLocked is recomputeLocked, closing connections to peers
// that no longer share a network with code and reason.
func (e *Engine) recomputeClosingLocked(closeCode quic.ApplicationErrorCode, reason string) {
	e.resolveOwnersLocked()
	desired := map[key.NodePublic]*peerInfo{}
	var selfV4 []netip.Addr
	for _, n := range e.state.Networks {
		if n.Roster == nil {
			continue
		}
		for _, m := range n.Roster.Members {
			if m.Node == e.self {
				if !slices.Contains(selfV4, m.IPv4) {
					selfV4 = append(selfV4, m.IPv4)
				}
				continue
			}
			pi := desired[m.Node]
			if pi == nil {
				pi = &peerInfo{hostname: m.Hostname}
				desired[m.Node] = pi
			}
			pi.claim(e.state, n.Name, m)
			pi.networks = append(pi.networks, n.Name)
		}
	}
	now := time.Now()
	for k, pi := range desired {
		p := e.peers[k]
		if p == nil {
			p = newPeer(e, k)
			p.nextDial = now
			e.peers[k] = p
		}
		p.info = *pi
		rec, ok := e.state.Endpoints[k]
		if !ok {
			rec = netmap.EndpointRecord{Node: k} // a member all the same
		}
		e.tellPeerLocked(rec)
	}
	for k, p := range e.peers {
		if _, ok := desired[k]; !ok {
			// Its control writer closes the connections, then removes
			// it from magicconn.
			p.remove(closeCode, reason)
			delete(e.peers, k)
			e.fw.ForgetPeer(k)
		}
	}
	e.updateRelaysLocked() // the meet relay is a member's
	e.updateFilterLocked()
	members := make(map[key.NodePublic]bool, len(e.peers))
	for k := range e.peers {
		members[k] = true
	}
	e.members.Store(&members)
	if len(selfV4) == 0 {
		selfV4 = []netip.Addr{e.self.IPv4(0)}
	}
	e.selfV4 = selfV4
	var prefixes []netip.Prefix
	for _, a := range selfV4 {
		prefixes = append(prefixes, netip.PrefixFrom(a, key.CGNATPrefix.Bits()))
	}
	prefixes = append(prefixes, netip.PrefixFrom(e.self.IPv6(), key.ULAPrefix.Bits()))
	e.updateRoutesLocked() // the routing table: peers, subnet routes, exit node
	if !slices.Equal(prefixes, e.tunAddrs) {
		e.tunAddrs = prefixes
		e.setAddrsLocked(prefixes) // applied by routineReconfig
	}
	e.watchers.notify()
}

func compareNodes(a, b key.NodePublic) int { return bytes.Compare(a[:], b[:]) }

// CreateNetworkAs creates a network with this node as its admin, named
// hostname in it ("" for the node's hostname).
func (e *Engine) CreateNetworkAs(name string, open bool, hostname string) (*netmap.Network, error) {
	if hostname != "" && !netmap.ValidHostname(strings.ToLower(hostname)) {
		return nil, fmt.Errorf("invalid hostname %q: use letters, digits and '-'", hostname)
	}
	defer e.flushSaved() // after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	norm, err := netmap.NormalizeNetworkName(name)
	if err != nil {
		return nil, err
	}
	if e.state.ByName(norm) != nil {
		return nil, fmt.Errorf("a network named %q already exists", norm)
	}
	if hostname == "" {
		hostname = e.hostname
	}
	n, err := netmap.Create(norm, open, e.self, hostname, time.Now())
	if err != nil {
		return nil, err
	}
	if err := e.state.Add(n); err != nil {
		return nil, err
	}
	e.saveLocked()
	e.recomputeLocked()
	e.log.Info("network created", "network", n.Name, "id", n.ID.String(), "open", open)
	e.auditf(audit.NetworkCreated, key.NodePublic{}, "", n.Name, "")
	return n, nil
}

// InviteAs is Invite with the code bound to the hostname its joiner
// gets ("" for the one it asks for); only single-use codes can be bound.
func (e *Engine) InviteAs(name string, kind netmap.InviteKind, ttl time.Duration, hostname string) (string, netmap.Invite, error) {
	hostname = strings.ToLower(strings.TrimSpace(hostname))
	if hostname != "" && (kind != netmap.InviteSingle || !netmap.ValidHostname(hostname)) {
		return "", netmap.Invite{}, fmt.Errorf("invalid --hostname %q: a single-use code can be bound to a name of a-z, 0-9 and '-'", hostname)
	}
	defer e.flushSaved() // after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.networkLocked(name)
	if err != nil {
		return "", netmap.Invite{}, err
	}
	if !n.IsAdmin() {
		return "", netmap.Invite{}, fmt.Errorf("only an admin of %q can invite", n.Name)
	}
	if ttl == 0 {
		ttl = defaultInviteTTL
		if kind == netmap.InviteReusable {
			ttl = defaultReusableTTL
		}
	}
	secret, rec, err := n.IssueInvite(kind, ttl, time.Now())
	if err != nil {
		return "", netmap.Invite{}, err
	}
	if hostname != "" {
		if err := n.BindInvite(rec.Hash, hostname); err != nil {
			return "", netmap.Invite{}, err
		}
	}
	e.saveLocked()
	e.auditf(audit.InviteIssued, key.NodePublic{}, "", n.Name, kind.String())
	inv := netmap.Invite{
		Kind:        kind,
		Network:     n.ID,
		NetworkName: n.Name,
		Inviter:     e.self,
		Addrs:       e.myRecord.Addrs,
		Relay:       e.myRecord.Relay,
		Secret:      secret,
		Expires:     rec.Expires,
	}
	if len(inv.Addrs) > netmap.MaxInviteAddrs {
		inv.Addrs = inv.Addrs[:netmap.MaxInviteAddrs]
	}
	return inv.Encode(), inv, nil
}

func (e *Engine) networkLocked(name string) (*netmap.Network, error) {
	if n := e.state.ByName(strings.ToLower(strings.TrimSpace(name))); n != nil {
		return n, nil
	}
	if id, err := key.ParseNetworkPublic(name); err == nil {
		if n := e.state.ByID(id); n != nil {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no network named %q", name)
}

// ErrPending is returned by Join while an admin has not decided yet.
var ErrPending = netmap.ErrJoinPending

// Join joins a network with an invite code. For approval codes it waits up
// to wait for the admin's decision, then returns ErrPending and keeps
// waiting in the background.
func (e *Engine) Join(ctx context.Context, code, hostname string, wait time.Duration) (*netmap.Network, error) {
	if hostname != "" && netmap.SanitizeHostname(hostname) != strings.ToLower(hostname) {
		return nil, fmt.Errorf("invalid hostname %q: use letters, digits and '-'", hostname)
	}
	if id, err := key.ParseNetworkPublic(strings.TrimSpace(code)); err == nil {
		return e.joinByID(ctx, id, hostname)
	}
	inv, err := netmap.ParseInvite(code)
	if err != nil {
		return nil, err
	}
	if !inv.Expires.IsZero() && time.Now().After(inv.Expires) {
		return nil, fmt.Errorf("invite code expired on %s", inv.Expires.Local().Format("2006-01-02 15:04:05 MST"))
	}
	if hostname != "" && netmap.SanitizeHostname(hostname) != strings.ToLower(hostname) {
		return nil, fmt.Errorf("invalid hostname %q: use letters, digits and '-'", hostname)
	}
	e.mu.Lock()
	if n := e.state.ByID(inv.Network); n != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("already a member of network %q", n.Name)
	}
	if n := e.state.ByName(inv.NetworkName); n != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("a different network named %q already exists here", inv.NetworkName)
	}
	if hostname == "" {
		hostname = e.hostname
	}
	rec := e.myRecord
	e.mu.Unlock()
	if inv.Inviter == e.self {
		return nil, errors.New("this invite code was made by this node")
	}

	e.mu.Lock()
	e.tellInviterLocked(inv)
	e.mu.Unlock()
	qc, err := e.dial(ctx, inv.Inviter, alpnJoin)
	if err != nil {
		e.forgetInviter(inv.Inviter)
		return nil, fmt.Errorf("cannot reach the inviting node: %w", err)
	}
	req := joinReq{Network: inv.Network, Hostname: netmap.SanitizeHostname(hostname), Record: &rec}
	if inv.Kind != netmap.InviteApproval {
		req.Secret = inv.Secret[:]
	}
	result := make(chan error, 1)
	pending := make(chan struct{}, 1)
	var joined *netmap.Network
	e.goRoutine(func() {
		n, err := e.runJoin(qc, inv, req, pending)
		joined = n
		result <- err
	})
	if err := awaitJoin(ctx, result, pending, wait); err != nil {
		return nil, err
	}
	return joined, nil
}

// runJoin speaks the join protocol on qc and installs the network.
func (e *Engine) runJoin(qc *quic.Conn, inv netmap.Invite, req joinReq, pending chan<- struct{}) (*netmap.Network, error) {
	defer qc.CloseWithError(codeNormal, "")
	defer e.forgetInviter(inv.Inviter)
	ctx, cancel := context.WithTimeout(e.ctx, joinWaitMax)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { qc.CloseWithError(codeNormal, "join timed out") })
	defer stop()
	st, err := qc.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	if err := writeMsg(st, &req); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	for {
		var resp joinResp
		if err := readMsg(st, &resp); err != nil {
			e.joinWaits.set(inv.Network, "", "", time.Time{})
			e.watchers.notify()
			return nil, fmt.Errorf("join: no answer from the inviting node: %w", err)
		}
		if resp.Denial.valid(inv.Network, e.self) {
			e.joinWaits.set(inv.Network, inv.NetworkName, apitype.JoinDenied, time.Now())
			e.watchers.notify()
			return nil, fmt.Errorf("an admin of %q denied this device's join request", inv.NetworkName)
		}
		e.joinWaits.set(inv.Network, "", "", time.Time{})
		if resp.Error != "" {
			return nil, fmt.Errorf("join refused: %s", resp.Error)
		}
		if resp.Pending {
			e.log.Info("join request waiting for approval", "network", inv.NetworkName)
			e.joinWaits.set(inv.Network, inv.NetworkName, apitype.JoinWaiting, time.Now())
			e.watchers.notify()
			select {
			case pending <- struct{}{}:
			default:
			}
			continue
		}
		if resp.Roster == nil {
			return nil, errors.New("join: admin sent no roster")
		}
		return e.installJoined(inv, *resp.Roster, resp.Endpoints)
	}
}

func (e *Engine) installJoined(inv netmap.Invite, s netmap.SignedRoster, recs []netmap.EndpointRecord) (*netmap.Network, error) {
	n, err := netmap.FromRoster(inv.Network, s)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	if !isMember(n, e.self) {
		return nil, errors.New("join: the roster does not include this node")
	}
	e.mu.Lock()
	if old := e.state.ByID(n.ID); old != nil {
		e.mu.Unlock()
		return old, nil
	}
	if err := e.state.Add(n); err != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("join: %w", err)
	}
	e.state.ForgetRemoved(n.ID)
	e.saveLocked()
	e.recomputeLocked()
	members := len(n.Roster.Members) // guarded by e.mu
	e.mu.Unlock()
	e.flushSaved()
	e.importRecordsVia(nil, recs, viaInvite)
	e.log.Info("joined network", "network", n.Name, "members", members)
	e.auditf(audit.NetworkJoined, inv.Inviter, "", n.Name, "")
	return n, nil
}

// admittedLocked saves and publishes a roster that now includes joiner
// and builds the joiner's answer.
func (e *Engine) admittedLocked(n *netmap.Network, joiner key.NodePublic) joinResp {
	e.saveLocked()
	e.recomputeLocked()
	e.log.Info("member admitted", "network", n.Name, "node", joiner.ShortString())
	e.auditf(audit.MemberAdded, joiner, "", n.Name, "")
	e.gossipRosterLocked(n.ID, joiner)
	s := n.Signed
	recs := []netmap.EndpointRecord{e.myRecord}
	for _, m := range n.Roster.Members {
		if r, ok := e.state.Endpoints[m.Node]; ok && m.Node != joiner {
			recs = append(recs, r)
		}
	}
	return joinResp{Roster: &s, Endpoints: recs}
}

// Decide accepts or denies a pending join request.
func (e *Engine) Decide(network, id string, accept bool) error {
	defer e.flushSaved() // after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.networkLocked(network)
	if err != nil {
		return err
	}
	node, err := resolveRequestLocked(n, id, time.Now())
	if err != nil {
		return err
	}
	if !n.IsAdmin() {
		return fmt.Errorf("only an admin of %q can decide join requests", n.Name)
	}
	req, ok := n.TakeRequest(node)
	if !ok {
		return fmt.Errorf("no pending join request from %s in %q", id, n.Name)
	}
	rk := requestKey{n.ID, node}
	pr := e.requests[rk]
	delete(e.requests, rk)
	var resp joinResp
	if accept {
		if _, err := n.Admit(node, req.Hostname, time.Now()); err != nil {
			e.saveLocked()
			return err
		}
		if pr != nil {
			e.keepJoinerRecordLocked(pr.record)
		}
		resp = e.admittedLocked(n, node)
	} else {
		e.saveLocked()
		resp = joinResp{Error: "an admin denied the request", Denial: signDenial(n, node)}
		e.watchers.notify()
	}
	if pr != nil {
		pr.decided <- resp
	}
	if accept {
		e.auditf(audit.JoinAccepted, node, req.Hostname, n.Name, "")
	} else {
		e.auditf(audit.JoinDenied, node, req.Hostname, n.Name, "")
	}
	return nil
}

// Leave leaves the named network: members are told with a signed notice
// and connections to peers no longer shared close with the leave code.
func (e *Engine) Leave(name string) error {
	e.mu.Lock()
	n, err := e.networkLocked(name)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	notice := netmap.SignLeave(e.nodeKey, n.ID, time.Now())
	var targets []*peerConn
	for _, m := range n.Roster.Members {
		if p := e.peers[m.Node]; p != nil {
			if pc := p.cur.Load(); pc != nil {
				targets = append(targets, pc)
			}
		}
	}
	e.mu.Unlock()
	// Written now, not queued: the connections close right after.
	for _, pc := range targets {
		select {
		case <-pc.ready:
			e.writeCtrl(pc, &ctrlMsg{Type: msgLeave, Leave: &notice})
		default: // no control stream yet; the close code tells the peer
		}
	}
	e.mu.Lock()
	e.state.RemoveNetwork(n.ID)
	for k := range e.requests {
		if k.network == n.ID {
			delete(e.requests, k)
		}
	}
	e.saveLocked()
	// Peers we no longer share a network with get the leave code, with
	// the network id as reason so admins prune even if the notice was
	// still in flight.
	e.recomputeClosingLocked(codeLeave, "leave "+n.ID.String())
	e.mu.Unlock()
	e.flushSaved()
	e.log.Info("left network", "network", n.Name)
	e.auditf(audit.NetworkLeft, key.NodePublic{}, "", n.Name, "")
	return nil
}
