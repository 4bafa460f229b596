// Package client is the typed client of rayfish's local API, used by the
// `ray` CLI and the tray app. It never imports the engine.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// ErrNoDaemon is returned (wrapped) when nothing answers on the socket.
var ErrNoDaemon = errors.New("rayfish daemon is not running")

// Client talks to one daemon.
type Client struct {
	socket string
	hc     *http.Client
	// posted is set once a POST succeeded (Posted).
	posted atomic.Bool
}

// New returns a client for the daemon listening on socket (a unix socket
// path, or a named pipe on Windows).
func New(socket string) *Client {
	c := &Client{socket: socket}
	c.hc = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx, socket)
		},
		DisableCompression: true,
	}}
	return c
}

// Posted reports whether a POST through c succeeded: the caller may have
// changed the daemon's state (some reads are POSTs too).
func (c *Client) Posted() bool { return c.posted.Load() }

// Socket returns the address the client dials.
func (c *Client) Socket() string { return c.socket }

// APIError is an error answered by the daemon.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

func (c *Client) wrapDial(err error) error {
	switch {
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return fmt.Errorf("no permission to open %s: %w", c.socket, err)
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w (nothing listening on %s)", ErrNoDaemon, c.socket)
	}
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "dial" {
		return fmt.Errorf("%w (%v)", ErrNoDaemon, err)
	}
	return err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s response: %w", path, err)
	}
	return nil
}

// send performs a request and returns a 2xx response, or the daemon's error.
func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+apitype.Host+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.wrapDial(err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var e apitype.Error
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
			if e.Error == "" {
				e.Error = resp.Status
			}
		}
		return nil, &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	if method == http.MethodPost {
		c.posted.Store(true)
	}
	return resp, nil
}

// Version returns the daemon's version.
func (c *Client) Version(ctx context.Context) (apitype.Version, error) {
	var v apitype.Version
	return v, c.do(ctx, http.MethodGet, apitype.PathVersion, nil, &v)
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (*apitype.Status, error) {
	var st apitype.Status
	if err := c.do(ctx, http.MethodGet, apitype.PathStatus, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Up turns the data plane on.
func (c *Client) Up(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, apitype.PathUp, struct{}{}, nil)
}

// Down turns the data plane off (standby).
func (c *Client) Down(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, apitype.PathDown, struct{}{}, nil)
}

// Create creates a network.
func (c *Client) Create(ctx context.Context, req apitype.CreateRequest) (apitype.Network, error) {
	var n apitype.Network
	return n, c.do(ctx, http.MethodPost, apitype.PathCreate, req, &n)
}

// Invite makes an invite code.
func (c *Client) Invite(ctx context.Context, req apitype.InviteRequest) (apitype.InviteResponse, error) {
	var r apitype.InviteResponse
	return r, c.do(ctx, http.MethodPost, apitype.PathInvite, req, &r)
}

// Join joins a network with a code.
func (c *Client) Join(ctx context.Context, req apitype.JoinRequestBody) (apitype.JoinResponse, error) {
	var r apitype.JoinResponse
	return r, c.do(ctx, http.MethodPost, apitype.PathJoin, req, &r)
}

// Leave leaves a network.
func (c *Client) Leave(ctx context.Context, network string) error {
	return c.do(ctx, http.MethodPost, apitype.PathLeave, apitype.NetworkRequest{Network: network}, nil)
}

// LeaveNetwork leaves a network, with force if this node is its last
// admin; the answer names the backup of the network secret, if any.
func (c *Client) LeaveNetwork(ctx context.Context, network string, force bool) (apitype.LeaveResponse, error) {
	var r apitype.LeaveResponse
	return r, c.do(ctx, http.MethodPost, apitype.PathLeave, apitype.LeaveRequest{Network: network, Force: force}, &r)
}

// SetAdmin shares (admin true) or withdraws admin rights; the answer
// names the member.
func (c *Client) SetAdmin(ctx context.Context, network, peer string, admin bool) (apitype.RemoveResponse, error) {
	var r apitype.RemoveResponse
	return r, c.do(ctx, http.MethodPost, apitype.PathAdmin, apitype.AdminRequest{Network: network, Peer: peer, Admin: admin}, &r)
}

// DeleteNetwork dissolves a network for every member (admin only).
func (c *Client) DeleteNetwork(ctx context.Context, network string) error {
	return c.do(ctx, http.MethodPost, apitype.PathDelete, apitype.NetworkRequest{Network: network}, nil)
}

// Rekey gives a network a new key (admin only).
func (c *Client) Rekey(ctx context.Context, network string) (apitype.RekeyResponse, error) {
	var r apitype.RekeyResponse
	return r, c.do(ctx, http.MethodPost, apitype.PathRekey, apitype.NetworkRequest{Network: network}, &r)
}

// SetHostname renames this node in a network.
func (c *Client) SetHostname(ctx context.Context, network, name string) error {
	return c.do(ctx, http.MethodPost, apitype.PathHostname, apitype.HostnameRequest{Network: network, Hostname: name}, nil)
}

// Remove removes a member from a network (admin only).
func (c *Client) Remove(ctx context.Context, network, peer string) (apitype.RemoveResponse, error) {
	var r apitype.RemoveResponse
	return r, c.do(ctx, http.MethodPost, apitype.PathRemove, apitype.RemoveRequest{Network: network, Peer: peer}, &r)
}

// Invites lists a network's outstanding invites (admin only).
func (c *Client) Invites(ctx context.Context, network string) ([]apitype.InviteInfo, error) {
	var r []apitype.InviteInfo
	return r, c.do(ctx, http.MethodPost, apitype.PathInvites, apitype.NetworkRequest{Network: network}, &r)
}

// RevokeInvite revokes an outstanding invite by id (admin only).
func (c *Client) RevokeInvite(ctx context.Context, network, id string) error {
	return c.do(ctx, http.MethodPost, apitype.PathInviteRevoke, apitype.DecideRequest{Network: network, ID: id}, nil)
}

// Requests lists pending join requests of a network ("" for all).
func (c *Client) Requests(ctx context.Context, network string) ([]apitype.JoinRequest, error) {
	var r []apitype.JoinRequest
	return r, c.do(ctx, http.MethodPost, apitype.PathRequests, apitype.NetworkRequest{Network: network}, &r)
}

// Accept approves a join request.
func (c *Client) Accept(ctx context.Context, network, id string) error {
	return c.do(ctx, http.MethodPost, apitype.PathAccept, apitype.DecideRequest{Network: network, ID: id}, nil)
}

// Deny refuses a join request.
func (c *Client) Deny(ctx context.Context, network, id string) error {
	return c.do(ctx, http.MethodPost, apitype.PathDeny, apitype.DecideRequest{Network: network, ID: id}, nil)
}

// Prefs returns the daemon's preferences.
func (c *Client) Prefs(ctx context.Context) (apitype.Prefs, error) {
	var p apitype.Prefs
	return p, c.do(ctx, http.MethodGet, apitype.PathPrefs, nil, &p)
}

// SetPrefs replaces the daemon's preferences.
func (c *Client) SetPrefs(ctx context.Context, p apitype.Prefs) (apitype.Prefs, error) {
	var out apitype.Prefs
	return out, c.do(ctx, http.MethodPost, apitype.PathPrefs, p, &out)
}

// Ping pings a peer, calling fn with each reply as it arrives.
func (c *Client) Ping(ctx context.Context, req apitype.PingRequest, fn func(apitype.PingReply)) error {
	resp, err := c.send(ctx, http.MethodPost, apitype.PathPing, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeLines(resp.Body, func(r apitype.PingReply) error { fn(r); return nil })
}

// Watch streams the daemon's state: first an EventSnapshot, then changes,
// until ctx ends or the daemon goes away. fn runs on the caller's
// goroutine; an error from fn stops the watch and is returned.
func (c *Client) Watch(ctx context.Context, fn func(apitype.WatchEvent) error) error {
	return c.watch(ctx, apitype.PathWatch, fn)
}

// WatchQuiet is Watch for a watcher that shows no counters (the app
// while hidden): after the snapshot the daemon leaves out drops events
// and peer changes made by traffic alone (apitype.WatchQuiet).
func (c *Client) WatchQuiet(ctx context.Context, fn func(apitype.WatchEvent) error) error {
	return c.watch(ctx, apitype.PathWatch+"?"+apitype.WatchQuiet, fn)
}

func (c *Client) watch(ctx context.Context, path string, fn func(apitype.WatchEvent) error) error {
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeLines(resp.Body, fn)
}

func decodeLines[T any](r io.Reader, fn func(T) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return fmt.Errorf("decode stream: %w", err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

// Firewall returns the firewall's state.
func (c *Client) Firewall(ctx context.Context) (apitype.FirewallState, error) {
	var s apitype.FirewallState
	return s, c.do(ctx, http.MethodGet, apitype.PathFirewall, nil, &s)
}

// FirewallChange applies one firewall change and returns the new state.
func (c *Client) FirewallChange(ctx context.Context, ch apitype.FirewallChange) (apitype.FirewallState, error) {
	var s apitype.FirewallState
	return s, c.do(ctx, http.MethodPost, apitype.PathFirewallChange, ch, &s)
}

// Report fetches a sanitized support bundle (.tar.gz) into w.
func (c *Client) Report(ctx context.Context, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodPost, apitype.PathReport, struct{}{})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// Netcheck probes the node's connectivity.
func (c *Client) Netcheck(ctx context.Context) (apitype.Netcheck, error) {
	var r apitype.Netcheck
	return r, c.do(ctx, http.MethodPost, apitype.PathNetcheck, struct{}{}, &r)
}
