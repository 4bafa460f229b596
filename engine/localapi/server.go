// Package localapi serves rayfish's local API: HTTP+JSON on a unix socket
// (a named pipe on Windows). Reads are open to every local user; changes
// need root (Administrators), the configured operator or the person at the
// machine (see Authorize), decided from the caller's kernel-reported
// credentials, never from anything it sends. Each change and each refusal
// is written to the audit log with the user that asked.
package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"reflect"
	"runtime"
	"strconv"
	"time"

	"github.com/rayfish/rayfish/app/buildinfo"
	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/platform/ipc"
	"github.com/rayfish/rayfish/platform/seat"
)

// Backend is what the API drives; *engine.Engine implements it.
type Backend interface {
	Status() *apitype.Status
	Subscribe() (<-chan struct{}, func())
	SetUp(up bool) error
	CreateNetworkAs(name string, open bool, hostname string) (*netmap.Network, error)
	SetHostname(ctx context.Context, network, name string) error
	SetAdmin(network, peer string, admin bool) (hostname string, err error)
	DeleteNetwork(name string) error
	Rekey(network string) (apitype.RekeyResponse, error)
	InviteAs(name string, kind netmap.InviteKind, ttl time.Duration, hostname string) (string, netmap.Invite, error)
	Join(ctx context.Context, code, hostname string, wait time.Duration) (*netmap.Network, error)
	LeaveNetwork(name string, force bool) (backup string, err error)
	RemovePeer(network, peer string) (apitype.RemoveResponse, error)
	Invites(network string) ([]apitype.InviteInfo, error)
	RevokeInvite(network, id string) error
	Requests(name string) ([]apitype.JoinRequest, error)
	Decide(network, id string, accept bool) error
	ResolvePeer(s string) (key.NodePublic, error)
	PingPeer(ctx context.Context, k key.NodePublic, seq uint64) (apitype.PingReply, error)
	Prefs() apitype.Prefs
	SetPrefs(apitype.Prefs) (apitype.Prefs, error)
	Operator() string
	FirewallState() apitype.FirewallState
	ChangeFirewall(apitype.FirewallChange) error
	Report(w io.Writer) error
	Netcheck(ctx context.Context) (apitype.Netcheck, error)
}

// Server is the local API.
type Server struct {
	b     Backend
	log   *slog.Logger
	hs    *http.Server
	audit *audit.Log // nil: changes are not audited
	goos  string
	probe func(context.Context) (seat.Machine, error)
}

// An Option configures a Server.
type Option func(*Server)

// WithAudit writes each change, and each refused change, to l with the
// user that asked for it.
func WithAudit(l *audit.Log) Option { return func(s *Server) { s.audit = l } }

// New returns a server over b.
func New(b Backend, log *slog.Logger, opts ...Option) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{b: b, log: log, goos: runtime.GOOS, probe: seat.Probe}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apitype.PathVersion, s.version)
	mux.HandleFunc("GET "+apitype.PathStatus, s.status)
	mux.HandleFunc("GET "+apitype.PathWatch, s.watch)
	mux.HandleFunc("GET "+apitype.PathPrefs, s.getPrefs)
	mux.HandleFunc("POST "+apitype.PathRequests, s.requests)
	mux.HandleFunc("POST "+apitype.PathUp, s.change(s.up))
	mux.HandleFunc("POST "+apitype.PathDown, s.change(s.down))
	mux.HandleFunc("POST "+apitype.PathCreate, s.change(s.create))
	mux.HandleFunc("POST "+apitype.PathInvite, s.change(s.invite))
	mux.HandleFunc("POST "+apitype.PathJoin, s.change(s.join))
	mux.HandleFunc("POST "+apitype.PathLeave, s.change(s.leave))
	mux.HandleFunc("POST "+apitype.PathAccept, s.change(s.decide(true)))
	mux.HandleFunc("POST "+apitype.PathDeny, s.change(s.decide(false)))
	mux.HandleFunc("POST "+apitype.PathPrefs, s.change(s.setPrefs))
	mux.HandleFunc("POST "+apitype.PathPing, s.ping)
	mux.HandleFunc("GET "+apitype.PathFirewall, s.firewall)
	mux.HandleFunc("POST "+apitype.PathNetcheck, s.netcheck)
	mux.HandleFunc("POST "+apitype.PathReport, s.change(s.report))
	mux.HandleFunc("POST "+apitype.PathFirewallChange, s.change(s.firewallChange))
	mux.HandleFunc("POST "+apitype.PathRemove, s.change(s.remove))
	mux.HandleFunc("POST "+apitype.PathHostname, s.change(s.hostname))
	mux.HandleFunc("POST "+apitype.PathAdmin, s.change(s.setAdmin))
	mux.HandleFunc("POST "+apitype.PathDelete, s.change(s.deleteNetwork))
	mux.HandleFunc("POST "+apitype.PathRekey, s.change(s.rekey))
	mux.HandleFunc("POST "+apitype.PathInvites, s.change(s.invites))
	mux.HandleFunc("POST "+apitype.PathInviteRevoke, s.change(s.revokeInvite))
	s.handleRoutes(mux)
	s.hs = &http.Server{
		Handler:           s.guard(mux),
		ConnContext:       ipc.ConnContext,
		ReadHeaderTimeout: 10 * time.Second,
	}
	return s
}

// Serve serves on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server and its open streams.
func (s *Server) Close() error { return s.hs.Close() }

// guard refuses browsers: any Host but ours (DNS rebinding) and any Origin.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != apitype.Host || r.Header.Get("Origin") != "" {
			writeErr(w, http.StatusForbidden, errors.New("forbidden"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// change wraps a handler that changes state: only a caller Authorize
// admits may call it. The change, or the refusal, is audited.
func (s *Server) change(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		action := path.Base(r.URL.Path)
		cred, ok := ipc.CredFrom(r.Context())
		if !ok {
			s.log.Warn("local API caller unidentified", "err", ipc.CredErr(r.Context()))
			s.audit.Log(audit.Event{Event: audit.ChangeRefused, Detail: action + ": caller unidentified"})
			writeErr(w, http.StatusForbidden, errors.New("cannot identify the calling user"))
			return
		}
		user := userOf(cred)
		grant, err := s.authorize(r.Context(), cred)
		if err != nil {
			s.audit.Log(audit.Event{Event: audit.ChangeRefused, User: user, Detail: action})
			writeErr(w, http.StatusForbidden, err)
			return
		}
		if err := h(w, r); err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, errNotFound) {
				status = http.StatusNotFound
			}
			writeErr(w, status, err)
			return
		}
		s.audit.Log(audit.Event{Event: audit.LocalChange, User: user, Detail: action + " (" + string(grant) + ")"})
	}
}

// authorize asks who is at the machine only when the caller is neither an
// administrator nor the operator, and decides with Authorize.
func (s *Server) authorize(ctx context.Context, c ipc.Cred) (Grant, error) {
	op := s.b.Operator()
	if g, err := Authorize(s.goos, c, op, seat.Machine{GroupGID: -1, ConsoleSession: seat.NoSession}); err == nil {
		return g, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	m, err := s.probe(ctx)
	if err != nil {
		s.log.Debug("who is at the machine: partly unknown", "err", err)
	}
	return Authorize(s.goos, c, op, m)
}

// userOf names the caller in the audit log: the account name, else its uid.
func userOf(c ipc.Cred) string {
	if c.Username != "" {
		return c.Username
	}
	return "uid " + strconv.Itoa(c.UID)
}

var errNotFound = errors.New("not found")

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(apitype.Error{Error: err.Error()})
}

// decode reads a bounded JSON body into v.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad request body: %w", err)
	}
	return nil
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, apitype.Version{Version: buildinfo.Version, Commit: buildinfo.Commit, APIVersion: apitype.APIVersion})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.b.Status()) }

func (s *Server) getPrefs(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.b.Prefs()) }

func (s *Server) firewall(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.b.FirewallState()) }

func (s *Server) firewallChange(w http.ResponseWriter, r *http.Request) error {
	var ch apitype.FirewallChange
	if err := decode(r, &ch); err != nil {
		return err
	}
	if err := s.b.ChangeFirewall(ch); err != nil {
		return err
	}
	writeJSON(w, s.b.FirewallState())
	return nil
}

// report streams a support bundle. It needs change rights: logs name
// addresses and peers even when sanitized of secrets.
func (s *Server) report(w http.ResponseWriter, r *http.Request) error {
	var buf bytes.Buffer
	if err := s.b.Report(&buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/gzip")
	_, err := w.Write(buf.Bytes())
	return err
}

// netcheck probes connectivity; like ping, any local user may run it.
func (s *Server) netcheck(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	rep, err := s.b.Netcheck(ctx)
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, rep)
}

func (s *Server) requests(w http.ResponseWriter, r *http.Request) {
	var req apitype.NetworkRequest
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	rs, err := s.b.Requests(req.Network)
	if err != nil {
		writeErr(w, http.StatusNotFound, err)
		return
	}
	writeJSON(w, rs)
}

func (s *Server) up(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.SetUp(true); err != nil {
		return err
	}
	writeJSON(w, struct{}{})
	return nil
}

func (s *Server) down(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.SetUp(false); err != nil {
		return err
	}
	writeJSON(w, struct{}{})
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) error {
	var req apitype.CreateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	n, err := s.b.CreateNetworkAs(req.Name, req.Open, req.Hostname)
	if err != nil {
		return err
	}
	writeJSON(w, networkInfo(n))
	return nil
}

func networkInfo(n *netmap.Network) apitype.Network {
	an := apitype.Network{Name: n.Name, ID: n.ID.String(), Admin: n.IsAdmin()}
	if n.Roster != nil {
		an.Open, an.Version, an.Members = n.Roster.Open, n.Roster.Version, len(n.Roster.Members)
	}
	return an
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) error {
	var req apitype.InviteRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var ttl time.Duration
	if req.Expires != "" {
		d, err := parseDuration(req.Expires)
		if err != nil {
			return fmt.Errorf("invalid --expires %q: %w", req.Expires, err)
		}
		if d <= 0 {
			return fmt.Errorf("invalid --expires %q: must be positive", req.Expires)
		}
		ttl = d
	}
	kind := netmap.InviteSingle
	switch {
	case req.Reusable && req.Approval:
		return errors.New("an invite is either reusable or for approval, not both")
	case req.Reusable:
		kind = netmap.InviteReusable
	case req.Approval:
		kind = netmap.InviteApproval
	}
	code, inv, err := s.b.InviteAs(req.Network, kind, ttl, req.Hostname)
	if err != nil {
		return err
	}
	writeJSON(w, apitype.InviteResponse{Code: code, Network: inv.NetworkName, Reusable: req.Reusable, Approval: req.Approval, Expires: inv.Expires})
	return nil
}

// parseDuration accepts Go durations plus a "d" suffix for days.
func parseDuration(s string) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == 'd' {
		days, err := strconv.Atoi(s[:n-1])
		if err != nil {
			return 0, errors.New("use a duration like 12h, 90m or 7d")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("use a duration like 12h, 90m or 7d")
	}
	return d, nil
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) error {
	var req apitype.JoinRequestBody
	if err := decode(r, &req); err != nil {
		return err
	}
	var wait time.Duration
	if req.Wait != "" {
		d, err := parseDuration(req.Wait)
		if err != nil {
			return fmt.Errorf("invalid wait %q: %w", req.Wait, err)
		}
		wait = d
	}
	n, err := s.b.Join(r.Context(), req.Code, req.Hostname, wait)
	if errors.Is(err, netmap.ErrJoinPending) {
		resp := apitype.JoinResponse{Pending: true}
		if inv, err := netmap.ParseInvite(req.Code); err == nil {
			resp.Network = apitype.Network{Name: inv.NetworkName, ID: inv.Network.String()}
		}
		writeJSON(w, resp)
		return nil
	}
	if err != nil {
		return err
	}
	info := networkInfo(n)
	for _, sn := range s.b.Status().Networks {
		if sn.ID == info.ID {
			info.Hostname = sn.Hostname // the name we got, perhaps with a suffix
		}
	}
	writeJSON(w, apitype.JoinResponse{Network: info})
	return nil
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request) error {
	var req apitype.LeaveRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	backup, err := s.b.LeaveNetwork(req.Network, req.Force)
	if err != nil {
		return err
	}
	writeJSON(w, apitype.LeaveResponse{Backup: backup})
	return nil
}

func (s *Server) decide(accept bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req apitype.DecideRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		if err := s.b.Decide(req.Network, req.ID, accept); err != nil {
			return err
		}
		writeJSON(w, struct{}{})
		return nil
	}
}

func (s *Server) setPrefs(w http.ResponseWriter, r *http.Request) error {
	var p apitype.Prefs
	if err := decode(r, &p); err != nil {
		return err
	}
	out, err := s.b.SetPrefs(p)
	if err != nil {
		return err
	}
	writeJSON(w, out)
	return nil
}

// ping streams one PingReply line per ping. Pinging is a read: any local
// user may ping.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	var req apitype.PingRequest
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	k, err := s.b.ResolvePeer(req.Peer)
	if err != nil {
		writeErr(w, http.StatusNotFound, err)
		return
	}
	if s.b.Status().State == apitype.StateDown {
		writeErr(w, http.StatusConflict, errors.New("rayfish is down (standby): no traffic flows; run ray up first"))
		return
	}
	count := req.Count
	if count <= 0 {
		count = 4
	}
	count = min(count, 1000)
	interval := time.Second
	if req.Interval != "" {
		if d, err := time.ParseDuration(req.Interval); err == nil && d >= 10*time.Millisecond {
			interval = d
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	fl, _ := w.(http.Flusher)
	for i := range count {
		if i > 0 {
			select {
			case <-time.After(interval):
			case <-r.Context().Done():
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		start := time.Now()
		reply, err := s.b.PingPeer(ctx, k, uint64(start.UnixNano())+uint64(i))
		cancel()
		reply.Seq = i + 1
		if err != nil {
			reply.Error = err.Error()
		}
		enc.Encode(reply)
		if fl != nil {
			fl.Flush()
		}
	}
}

// watch streams a snapshot, then changes, as newline-delimited JSON;
// quietly (DiffQuiet) when the query asks for apitype.WatchQuiet.
func (s *Server) watch(w http.ResponseWriter, r *http.Request) {
	diff := Diff
	if r.URL.Query().Get("quiet") == "1" {
		diff = DiffQuiet
	}
	ch, cancel := s.b.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	fl, _ := w.(http.Flusher)
	var prev *apitype.Status
	for {
		select {
		case <-r.Context().Done():
			return
		case _, ok := <-ch:
			if !ok {
				enc.Encode(apitype.WatchEvent{Type: apitype.EventStopping})
				if fl != nil {
					fl.Flush()
				}
				return
			}
		}
		cur := s.b.Status()
		for _, ev := range diff(prev, cur) {
			if err := enc.Encode(ev); err != nil {
				return
			}
		}
		prev = cur
		if fl != nil {
			fl.Flush()
		}
	}
}

// Diff returns the watch events that turn prev into cur: a snapshot when
// prev is nil, otherwise only what changed.
func Diff(prev, cur *apitype.Status) []apitype.WatchEvent {
	if prev == nil {
		return []apitype.WatchEvent{{Type: apitype.EventSnapshot, Status: cur}}
	}
	var evs []apitype.WatchEvent
	if prev.State != cur.State {
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventState, State: cur.State})
	}
	if !reflect.DeepEqual(prev.Self, cur.Self) {
		self := cur.Self
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventSelf, Self: &self})
	}
	if !reflect.DeepEqual(prev.Networks, cur.Networks) {
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventNetworks, Networks: cur.Networks})
	}
	if !reflect.DeepEqual(prev.Requests, cur.Requests) {
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventRequests, Requests: cur.Requests})
	}
	if !reflect.DeepEqual(prev.Removed, cur.Removed) {
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventRemoved, Removed: cur.Removed})
	}
	if !reflect.DeepEqual(prev.ExitNode, cur.ExitNode) || !reflect.DeepEqual(prev.Advertised, cur.Advertised) || prev.AcceptRoutes != cur.AcceptRoutes {
		adv := cur.Advertised
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventRouting, ExitNode: cur.ExitNode, Advertised: &adv, AcceptRoutes: cur.AcceptRoutes})
	}
	if !reflect.DeepEqual(prev.Joining, cur.Joining) {
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventJoining, Joining: cur.Joining})
	}
	old := map[string]apitype.Peer{}
	for _, p := range prev.Peers {
		old[p.ID] = p
	}
	for _, p := range cur.Peers {
		if o, ok := old[p.ID]; !ok || !reflect.DeepEqual(o, p) {
			evs = append(evs, peerEvent(o, ok, p))
		}
		delete(old, p.ID)
	}
	for id := range old {
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventPeerRemoved, PeerID: id})
	}
	if !reflect.DeepEqual(prev.Drops, cur.Drops) || prev.FirewallInLastMinute != cur.FirewallInLastMinute {
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventDrops, Drops: cur.Drops, FirewallInLastMinute: cur.FirewallInLastMinute})
	}
	if prev.TUNError != cur.TUNError {
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventTUN, TUNError: cur.TUNError})
	}
	if !reflect.DeepEqual(prev.DNS, cur.DNS) {
		evs = append(evs, apitype.WatchEvent{Type: apitype.EventDNS, DNS: cur.DNS})
	}
	return evs
}
