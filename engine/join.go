package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Limits on what a node that is not a member yet may ask of us. Nothing
// a stranger sends is kept, and no packet goes to an address it names,
// before it is admitted.
const (
	// maxJoinMsg bounds a join request (hostname, secret, a record of at
	// most MaxEndpointAddrs addresses: about 1 KiB).
	maxJoinMsg = 8 << 10
	// maxJoinConns bounds join connections served at once, and
	// maxJoinConnsPerSource those from one source (magicconn.Source).
	maxJoinConns          = 64
	maxJoinConnsPerSource = 4
	// joinRequestTimeout is how long a join connection may take to open
	// its stream and send the request.
	joinRequestTimeout = 10 * time.Second
)

// joinLimiter counts the join connections being served, in total and
// per source. Its zero value is ready to use.
type joinLimiter struct {
	mu       sync.Mutex
	total    int
	bySource map[string]int
}

// acquire reports whether one more join connection from src may be
// served; if so, release(src) must follow.
func (l *joinLimiter) acquire(src string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= maxJoinConns || l.bySource[src] >= maxJoinConnsPerSource {
		return false
	}
	if l.bySource == nil {
		l.bySource = map[string]int{}
	}
	l.total++
	l.bySource[src]++
	return true
}

// full reports whether acquire(src) would fail now.
func (l *joinLimiter) full(src string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total >= maxJoinConns || l.bySource[src] >= maxJoinConnsPerSource
}

func (l *joinLimiter) release(src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.bySource[src]--; l.bySource[src] <= 0 {
		delete(l.bySource, src)
	}
}

// acceptJoin serves a join connection from joiner within the limits, or
// closes it at once.
func (e *Engine) acceptJoin(qc *quic.Conn, joiner key.NodePublic) {
	src := e.mc.Source(joiner)
	if !e.adminOfAny() || !e.joins.acquire(src) {
		qc.CloseWithError(codeFlood, "not accepting join connections")
		return
	}
	e.goRoutine(func() {
		defer e.joins.release(src)
		e.serveJoin(qc, joiner, src)
	})
}

// screenClientHello refuses, before the handshake's signatures, a
// connection that asks only to join while its source is at the limit.
// Used as the server's tls.Config.GetConfigForClient.
func (e *Engine) screenClientHello(info *tls.ClientHelloInfo) (*tls.Config, error) {
	if slices.Contains(info.SupportedProtos, alpnMesh) || info.Conn == nil {
		return nil, nil
	}
	k, ok := e.mc.PeerOf(info.Conn.RemoteAddr())
	if ok && e.joins.full(e.mc.Source(k)) {
		return nil, errors.New("too many join connections from this source")
	}
	return nil, nil
}

func (e *Engine) adminOfAny() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range e.state.Networks {
		if n.IsAdmin() {
			return true
		}
	}
	return false
}

// serveJoin answers one join connection (admin side).
func (e *Engine) serveJoin(qc *quic.Conn, joiner key.NodePublic, src string) {
	defer qc.CloseWithError(codeNormal, "")
	ctx, cancel := context.WithTimeout(e.ctx, joinWaitMax)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { qc.CloseWithError(codeNormal, "") })
	defer stop()
	deadline := time.Now().Add(joinRequestTimeout)
	reqCtx, reqCancel := context.WithDeadline(ctx, deadline)
	st, err := qc.AcceptStream(reqCtx)
	reqCancel()
	if err != nil {
		return
	}
	st.SetReadDeadline(deadline)
	var req joinReq
	if err := readMsgMax(st, &req, maxJoinMsg); err != nil {
		return
	}
	st.SetReadDeadline(time.Time{})
	resp, wait := e.admit(joiner, src, req)
	if wait != nil {
		writeMsg(st, &joinResp{Pending: true})
		select {
		case resp = <-wait.decided:
		case <-qc.Context().Done():
			return
		}
	}
	writeMsg(st, &resp)
	// Let the answer reach the joiner before the deferred close.
	st.Close()
	select {
	case <-qc.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

// admit decides a join request from joiner, received from src. It
// returns a final answer, or a pending request to wait on. A refused
// request changes nothing: the joiner's endpoint record is kept (and its
// addresses contacted) only once it is a member.
func (e *Engine) admit(joiner key.NodePublic, src string, req joinReq) (joinResp, *pendingRequest) {
	var rec *netmap.EndpointRecord
	if r := req.Record; r != nil && r.Node == joiner && r.Verify() == nil {
		rec = r
	}
	now := time.Now()
	defer e.flushSaved() // after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.state.ByID(req.Network)
	if n == nil || !n.IsAdmin() {
		return joinResp{Error: errNotAdmin}, nil
	}
	if req.Removal {
		return answerRemoval(n, joiner), nil
	}
	if resp, refused := refuseByID(n, joiner, req); refused {
		return resp, nil
	}
	var err error
	switch {
	case isMember(n, joiner):
		// Already admitted (for instance accepted while away): resend.
	case len(req.Secret) != 0 && len(req.Secret) != 16:
		err = netmap.ErrInviteUnknown
	case len(req.Secret) == 16:
		var secret [16]byte
		copy(secret[:], req.Secret)
		_, err = n.AdmitWithInvite(secret, joiner, req.Hostname, now)
	case n.Roster.Open && !wasRemoved(n, joiner):
		// A removed node waits for an admin's decision instead.
		_, err = n.Admit(joiner, req.Hostname, now)
	default:
		if err := n.AddRequest(netmap.JoinRequest{Node: joiner, Hostname: req.Hostname, Received: now, Source: src}); err != nil {
			return joinResp{Error: err.Error()}, nil
		}
		e.saveLocked()
		pr := &pendingRequest{decided: make(chan joinResp, 1), record: rec}
		e.requests[requestKey{n.ID, joiner}] = pr
		e.watchers.notify()
		e.log.Info("join request waiting", "network", n.Name, "node", joiner.ShortString(), "hostname", req.Hostname)
		e.auditf(audit.JoinRequested, joiner, req.Hostname, n.Name, "")
		return joinResp{}, pr
	}
	if err != nil {
		e.log.Info("join refused", "network", n.Name, "node", joiner.ShortString(), "err", err)
		return joinResp{Error: err.Error()}, nil
	}
	e.keepJoinerRecordLocked(rec)
	return e.admittedLocked(n, joiner), nil
}

// keepJoinerRecordLocked stores the endpoint record of a node just
// admitted (nil: none); recomputing hands it to magicconn.
func (e *Engine) keepJoinerRecordLocked(rec *netmap.EndpointRecord) {
	if rec == nil {
		return
	}
	if old, ok := e.state.Endpoints[rec.Node]; ok && old.Seq >= rec.Seq {
		return
	}
	e.state.Endpoints[rec.Node] = *rec
}
