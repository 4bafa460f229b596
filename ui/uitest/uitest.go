// Package uitest has test doubles for the tray app: a fake local API
// client with a scriptable watch stream, and a dispatch queue that runs UI
// callbacks on the test's goroutine so tests stay deterministic.
package uitest

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/localapi/client"
)

// Timeout bounds every wait in this package.
const Timeout = 10 * time.Second

// Queue collects the functions handed to a controller's Dispatch; the test
// runs them on its own goroutine with RunNext or RunUntil.
type Queue struct {
	ch chan func()
}

// NewQueue returns an empty queue.
func NewQueue() *Queue { return &Queue{ch: make(chan func(), 4096)} }

// Dispatch queues fn. It is the controller's Config.Dispatch.
func (q *Queue) Dispatch(fn func()) { q.ch <- fn }

// RunNext waits for one queued function and runs it.
func (q *Queue) RunNext(t testing.TB) {
	t.Helper()
	select {
	case fn := <-q.ch:
		fn()
	case <-time.After(Timeout):
		t.Fatal("uitest: nothing dispatched to the UI goroutine")
	}
}

// RunUntil runs queued functions until cond holds.
func (q *Queue) RunUntil(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.After(Timeout)
	for !cond() {
		select {
		case fn := <-q.ch:
			fn()
		case <-deadline:
			t.Fatal("uitest: condition not met")
		}
	}
}

// Drain runs whatever is queued now, without waiting.
func (q *Queue) Drain() {
	for {
		select {
		case fn := <-q.ch:
			fn()
		default:
			return
		}
	}
}

// Call records one API call of the fake client.
type Call struct {
	Method string
	Args   []any
}

// FakeClient implements ui.Client. Its watch stream delivers what the test
// sends with Send, and ends when the test calls EndWatch. With SetDown the
// daemon is "not running": Version and Watch fail with client.ErrNoDaemon.
type FakeClient struct {
	calls  chan Call
	events chan apitype.WatchEvent
	end    chan error

	mu          sync.Mutex
	down        bool
	errs        map[string]error
	version     apitype.Version
	invite      apitype.InviteResponse
	join        apitype.JoinResponse
	prefs       apitype.Prefs
	pingReplies []apitype.PingReply
	netcheck    apitype.Netcheck
	report      []byte
	firewall    apitype.FirewallState
	invites     []apitype.InviteInfo
}

// NewFakeClient returns a running fake daemon with an empty stream.
func NewFakeClient() *FakeClient {
	return &FakeClient{
		calls:   make(chan Call, 256),
		events:  make(chan apitype.WatchEvent, 256),
		end:     make(chan error, 1),
		errs:    make(map[string]error),
		version: apitype.Version{Version: "dev", APIVersion: apitype.APIVersion},
	}
}

// SetDown makes the fake daemon unreachable (or reachable again).
func (f *FakeClient) SetDown(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

// SetErr makes method fail with err (nil clears it).
func (f *FakeClient) SetErr(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.errs, method)
	} else {
		f.errs[method] = err
	}
}

// SetVersion sets the answer to Version.
func (f *FakeClient) SetVersion(v apitype.Version) { f.mu.Lock(); f.version = v; f.mu.Unlock() }

// SetInvite sets the answer to Invite.
func (f *FakeClient) SetInvite(r apitype.InviteResponse) { f.mu.Lock(); f.invite = r; f.mu.Unlock() }

// SetJoin sets the answer to Join.
func (f *FakeClient) SetJoin(r apitype.JoinResponse) { f.mu.Lock(); f.join = r; f.mu.Unlock() }

// SetPrefsAnswer sets the answer to Prefs.
func (f *FakeClient) SetPrefsAnswer(p apitype.Prefs) { f.mu.Lock(); f.prefs = p; f.mu.Unlock() }

// SetPingReplies sets the replies Ping streams.
func (f *FakeClient) SetPingReplies(r []apitype.PingReply) {
	f.mu.Lock()
	f.pingReplies = slices.Clone(r)
	f.mu.Unlock()
}

// Send queues ev on the watch stream.
func (f *FakeClient) Send(ev apitype.WatchEvent) { f.events <- ev }

// EndWatch ends the current watch stream with err.
func (f *FakeClient) EndWatch(err error) { f.end <- err }

// WaitCall waits for the next recorded call and checks its method.
func (f *FakeClient) WaitCall(t testing.TB, method string) Call {
	t.Helper()
	select {
	case c := <-f.calls:
		if c.Method != method {
			t.Fatalf("uitest: call %s%v, want %s", c.Method, c.Args, method)
		}
		return c
	case <-time.After(Timeout):
		t.Fatalf("uitest: no %s call", method)
	}
	return Call{}
}

// NextCall waits for the next recorded call, whatever its method.
func (f *FakeClient) NextCall(t testing.TB) Call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(Timeout):
		t.Fatal("uitest: no call")
	}
	return Call{}
}

// NoCall checks that no call is recorded right now.
func (f *FakeClient) NoCall(t testing.TB) {
	t.Helper()
	select {
	case c := <-f.calls:
		t.Fatalf("uitest: unexpected call %s%v", c.Method, c.Args)
	default:
	}
}

func (f *FakeClient) record(method string, args ...any) error {
	f.calls <- Call{Method: method, Args: args}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return fmt.Errorf("%w (nothing listening on fake)", client.ErrNoDaemon)
	}
	return f.errs[method]
}

// Version implements ui.Client.
func (f *FakeClient) Version(ctx context.Context) (apitype.Version, error) {
	if err := f.record("Version"); err != nil {
		return apitype.Version{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version, nil
}

// Watch implements ui.Client.
func (f *FakeClient) Watch(ctx context.Context, fn func(apitype.WatchEvent) error) error {
	return f.watch(ctx, "Watch", fn)
}

// WatchQuiet implements ui.Client: the same stream as Watch (the test
// sends what a quiet daemon would), recorded as "WatchQuiet".
func (f *FakeClient) WatchQuiet(ctx context.Context, fn func(apitype.WatchEvent) error) error {
	return f.watch(ctx, "WatchQuiet", fn)
}

func (f *FakeClient) watch(ctx context.Context, method string, fn func(apitype.WatchEvent) error) error {
	if err := f.record(method); err != nil {
		return err
	}
	for {
		select {
		case ev := <-f.events:
			if err := fn(ev); err != nil {
				return err
			}
		case err := <-f.end:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Up implements ui.Client.
func (f *FakeClient) Up(ctx context.Context) error { return f.record("Up") }

// Down implements ui.Client.
func (f *FakeClient) Down(ctx context.Context) error { return f.record("Down") }

// Create implements ui.Client.
func (f *FakeClient) Create(ctx context.Context, req apitype.CreateRequest) (apitype.Network, error) {
	if err := f.record("Create", req); err != nil {
		return apitype.Network{}, err
	}
	return apitype.Network{Name: req.Name, Open: req.Open, Admin: true, Members: 1}, nil
}

// Invite implements ui.Client.
func (f *FakeClient) Invite(ctx context.Context, req apitype.InviteRequest) (apitype.InviteResponse, error) {
	if err := f.record("Invite", req); err != nil {
		return apitype.InviteResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.invite, nil
}

// Join implements ui.Client.
func (f *FakeClient) Join(ctx context.Context, req apitype.JoinRequestBody) (apitype.JoinResponse, error) {
	if err := f.record("Join", req); err != nil {
		return apitype.JoinResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.join, nil
}

// Leave implements ui.Client.
func (f *FakeClient) Leave(ctx context.Context, network string) error {
	return f.record("Leave", network)
}

// Accept implements ui.Client.
func (f *FakeClient) Accept(ctx context.Context, network, id string) error {
	return f.record("Accept", network, id)
}

// Deny implements ui.Client.
func (f *FakeClient) Deny(ctx context.Context, network, id string) error {
	return f.record("Deny", network, id)
}

// Ping implements ui.Client.
func (f *FakeClient) Ping(ctx context.Context, req apitype.PingRequest, fn func(apitype.PingReply)) error {
	if err := f.record("Ping", req); err != nil {
		return err
	}
	f.mu.Lock()
	replies := slices.Clone(f.pingReplies)
	f.mu.Unlock()
	for _, r := range replies {
		fn(r)
	}
	return nil
}

// Prefs implements ui.Client.
func (f *FakeClient) Prefs(ctx context.Context) (apitype.Prefs, error) {
	if err := f.record("Prefs"); err != nil {
		return apitype.Prefs{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.prefs, nil
}

// SetPrefs implements ui.Client.
func (f *FakeClient) SetPrefs(ctx context.Context, p apitype.Prefs) (apitype.Prefs, error) {
	if err := f.record("SetPrefs", p); err != nil {
		return apitype.Prefs{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prefs = p
	return p, nil
}

// SetNetcheck sets the answer to Netcheck.
func (f *FakeClient) SetNetcheck(r apitype.Netcheck) { f.mu.Lock(); f.netcheck = r; f.mu.Unlock() }

// SetReport sets the bytes Report writes.
func (f *FakeClient) SetReport(b []byte) { f.mu.Lock(); f.report = slices.Clone(b); f.mu.Unlock() }

// SetFirewall sets the answer to Firewall and FirewallChange.
func (f *FakeClient) SetFirewall(st apitype.FirewallState) {
	f.mu.Lock()
	f.firewall = st
	f.mu.Unlock()
}

// Netcheck implements ui.Client.
func (f *FakeClient) Netcheck(ctx context.Context) (apitype.Netcheck, error) {
	if err := f.record("Netcheck"); err != nil {
		return apitype.Netcheck{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.netcheck, nil
}

// Report implements ui.Client.
func (f *FakeClient) Report(ctx context.Context, w io.Writer) error {
	if err := f.record("Report"); err != nil {
		return err
	}
	f.mu.Lock()
	b := slices.Clone(f.report)
	f.mu.Unlock()
	_, err := w.Write(b)
	return err
}

// Firewall implements ui.Client.
func (f *FakeClient) Firewall(ctx context.Context) (apitype.FirewallState, error) {
	if err := f.record("Firewall"); err != nil {
		return apitype.FirewallState{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.firewall, nil
}

// FirewallChange implements ui.Client: it records the change and answers
// with the state set by SetFirewall (the fake applies nothing).
func (f *FakeClient) FirewallChange(ctx context.Context, ch apitype.FirewallChange) (apitype.FirewallState, error) {
	if err := f.record("FirewallChange", ch); err != nil {
		return apitype.FirewallState{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.firewall, nil
}

// SetInvites sets the answer to Invites.
func (f *FakeClient) SetInvites(in []apitype.InviteInfo) {
	f.mu.Lock()
	f.invites = slices.Clone(in)
	f.mu.Unlock()
}

// Remove implements ui.Client.
func (f *FakeClient) Remove(ctx context.Context, network, peer string) (apitype.RemoveResponse, error) {
	if err := f.record("Remove", network, peer); err != nil {
		return apitype.RemoveResponse{}, err
	}
	return apitype.RemoveResponse{ID: peer, Hostname: peer}, nil
}

// SetAdmin implements ui.Client.
func (f *FakeClient) SetAdmin(ctx context.Context, network, peer string, admin bool) (apitype.RemoveResponse, error) {
	if err := f.record("SetAdmin", network, peer, admin); err != nil {
		return apitype.RemoveResponse{}, err
	}
	return apitype.RemoveResponse{ID: peer, Hostname: peer}, nil
}

// Invites implements ui.Client: it answers with the list SetInvites set.
func (f *FakeClient) Invites(ctx context.Context, network string) ([]apitype.InviteInfo, error) {
	if err := f.record("Invites", network); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.invites), nil
}

// RevokeInvite implements ui.Client.
func (f *FakeClient) RevokeInvite(ctx context.Context, network, id string) error {
	return f.record("RevokeInvite", network, id)
}

// SetHostname implements ui.Client.
func (f *FakeClient) SetHostname(ctx context.Context, network, name string) error {
	return f.record("SetHostname", network, name)
}

// Rekey implements ui.Client.
func (f *FakeClient) Rekey(ctx context.Context, network string) (apitype.RekeyResponse, error) {
	if err := f.record("Rekey", network); err != nil {
		return apitype.RekeyResponse{}, err
	}
	return apitype.RekeyResponse{Generation: 1, Admins: []string{}}, nil
}

// DeleteNetwork implements ui.Client.
func (f *FakeClient) DeleteNetwork(ctx context.Context, network string) error {
	return f.record("DeleteNetwork", network)
}

// UseExitNode implements ui.Client.
func (f *FakeClient) UseExitNode(ctx context.Context, req apitype.ExitNodeRequest) (*apitype.ExitNode, error) {
	if err := f.record("UseExitNode", req.Peer); err != nil {
		return nil, err
	}
	if req.Peer == "" {
		return nil, nil
	}
	return &apitype.ExitNode{ID: req.Peer, Hostname: req.Peer, State: apitype.ExitStateOnline}, nil
}
