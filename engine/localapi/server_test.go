package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/audit"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
	"github.com/rayfish/rayfish/platform/ipc"
	"github.com/rayfish/rayfish/platform/seat"
)

// fake is a Backend recording what it was asked.
type fake struct {
	up       *bool
	operator string
}

func (f *fake) Status() *apitype.Status {
	return &apitype.Status{State: apitype.StateUp, Peers: []apitype.Peer{}}
}
func (f *fake) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	return ch, func() {}
}
func (f *fake) SetUp(up bool) error                               { f.up = &up; return nil }
func (f *fake) SetHostname(context.Context, string, string) error { return errors.New("no") }
func (f *fake) SetAdmin(string, string, bool) (string, error)     { return "", errors.New("no") }
func (f *fake) DeleteNetwork(string) error                        { return errors.New("no") }
func (f *fake) Rekey(string) (apitype.RekeyResponse, error) {
	return apitype.RekeyResponse{}, errors.New("no")
}
func (f *fake) CreateNetworkAs(name string, open bool, hostname string) (*netmap.Network, error) {
	return nil, errors.New("no")
}
func (f *fake) InviteAs(string, netmap.InviteKind, time.Duration, string) (string, netmap.Invite, error) {
	return "", netmap.Invite{}, errors.New("no")
}
func (f *fake) Join(context.Context, string, string, time.Duration) (*netmap.Network, error) {
	return nil, netmap.ErrJoinPending
}
func (f *fake) LeaveNetwork(string, bool) (string, error) { return "", nil }
func (f *fake) RemovePeer(string, string) (apitype.RemoveResponse, error) {
	return apitype.RemoveResponse{}, errors.New("no")
}
func (f *fake) Invites(string) ([]apitype.InviteInfo, error)   { return nil, errors.New("no") }
func (f *fake) RevokeInvite(string, string) error              { return errors.New("no") }
func (f *fake) Requests(string) ([]apitype.JoinRequest, error) { return nil, nil }
func (f *fake) Decide(string, string, bool) error              { return nil }
func (f *fake) ResolvePeer(string) (key.NodePublic, error) {
	return key.NodePublic{}, errors.New("no peer")
}
func (f *fake) Prefs() apitype.Prefs                               { return apitype.Prefs{} }
func (f *fake) SetPrefs(p apitype.Prefs) (apitype.Prefs, error)    { return p, nil }
func (f *fake) Operator() string                                   { return f.operator }
func (f *fake) FirewallState() apitype.FirewallState               { return apitype.FirewallState{} }
func (f *fake) ChangeFirewall(apitype.FirewallChange) error        { return nil }
func (f *fake) Netcheck(context.Context) (apitype.Netcheck, error) { return apitype.Netcheck{}, nil }
func (f *fake) Report(w io.Writer) error                           { _, err := w.Write([]byte("tgz")); return err }
func (f *fake) PingPeer(context.Context, key.NodePublic, uint64) (apitype.PingReply, error) {
	return apitype.PingReply{}, nil
}

func do(t *testing.T, s *Server, cred *ipc.Cred, method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "http://"+apitype.Host+path, strings.NewReader(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	if cred != nil {
		r = r.WithContext(ipc.NewContext(r.Context(), *cred))
	}
	w := httptest.NewRecorder()
	s.hs.Handler.ServeHTTP(w, r)
	return w
}

func TestAuthorization(t *testing.T) {
	f := &fake{operator: "alice"}
	al, err := audit.Open(audit.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	probes := 0
	s := New(f, nil, WithAudit(al), withMachine("linux", func(context.Context) (seat.Machine, error) {
		probes++
		return seat.Machine{Present: []int{1003}, GroupGID: 990, ConsoleSession: seat.NoSession}, errors.New("some of it unknown")
	}))
	root := &ipc.Cred{UID: 0, Username: "root", IsAdmin: true}
	alice := &ipc.Cred{UID: 1000, Username: "alice"}
	bob := &ipc.Cred{UID: 1001, Username: "bob"}
	carol := &ipc.Cred{UID: 1002, GIDs: []int{1002, 990}, Username: "carol"}
	dave := &ipc.Cred{UID: 1003, GIDs: []int{1003}, Username: "dave"}
	tests := []struct {
		name   string
		cred   *ipc.Cred
		method string
		path   string
		hdr    map[string]string
		want   int
	}{
		{"read as anyone", bob, "GET", apitype.PathStatus, nil, 200},
		{"change as root", root, "POST", apitype.PathDown, nil, 200},
		{"change as operator", alice, "POST", apitype.PathUp, nil, 200},
		{"change as other user", bob, "POST", apitype.PathDown, nil, 403},
		{"change as group member", carol, "POST", apitype.PathDown, nil, 200},
		{"change at the machine", dave, "POST", apitype.PathUp, nil, 200},
		{"change without credentials", nil, "POST", apitype.PathDown, nil, 403},
		{"browser origin refused", root, "GET", apitype.PathStatus, map[string]string{"Origin": "http://evil"}, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, s, tc.cred, tc.method, tc.path, "{}", tc.hdr)
			if w.Code != tc.want {
				t.Errorf("got %d want %d: %s", w.Code, tc.want, w.Body)
			}
		})
	}
	if probes != 3 {
		t.Errorf("asked who is at the machine %d times, want 3 (bob, carol, dave)", probes)
	}
	w := do(t, s, bob, "POST", apitype.PathCreate, `{"name":"x"}`, nil)
	if want := `only the person at this computer or members of the \"rayfish\" group can change rayfish; ask an administrator to run: sudo usermod -aG rayfish bob`; w.Code != 403 || !strings.Contains(w.Body.String(), want) {
		t.Errorf("refusal: %d %s, want %s", w.Code, w.Body, want)
	}
	if err := al.Close(); err != nil {
		t.Fatal(err)
	}
	lines, err := audit.Tail(al.Path(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		var ev audit.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		got = append(got, ev.Event+" "+ev.User+" "+ev.Detail)
	}
	want := []string{
		"local_change root down (administrator)",
		"local_change alice up (operator)",
		"change_refused bob down",
		"local_change carol down (group)",
		"local_change dave up (at the machine)",
		"change_refused  down: caller unidentified",
		"change_refused bob create",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Wrong Host header (DNS rebinding).
	r := httptest.NewRequest("GET", "http://127.0.0.1"+apitype.PathStatus, nil)
	w = httptest.NewRecorder()
	s.hs.Handler.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("foreign Host: %d", w.Code)
	}
	// A pending join is reported as pending, not as an error.
	w = do(t, s, root, "POST", apitype.PathJoin, `{"code":"x"}`, nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"pending":true`) {
		t.Errorf("pending join: %d %s", w.Code, w.Body)
	}
	// Unknown fields are refused with a clear message.
	w = do(t, s, root, "POST", apitype.PathCreate, `{"nme":"x"}`, nil)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "bad request body") {
		t.Errorf("bad body: %d %s", w.Code, w.Body)
	}
}

func TestDiff(t *testing.T) {
	p1 := apitype.Peer{ID: "a", Hostname: "alpha", Online: true}
	p2 := apitype.Peer{ID: "b", Hostname: "beta"}
	s1 := &apitype.Status{State: "up", Peers: []apitype.Peer{p1, p2}}
	if evs := Diff(nil, s1); len(evs) != 1 || evs[0].Type != apitype.EventSnapshot {
		t.Fatalf("first diff: %+v", evs)
	}
	p1b := p1
	p1b.Online = false
	s2 := &apitype.Status{State: "down", Peers: []apitype.Peer{p1b}}
	evs := Diff(s1, s2)
	got := map[string]bool{}
	for _, e := range evs {
		got[e.Type] = true
	}
	for _, want := range []string{apitype.EventState, apitype.EventPeer, apitype.EventPeerRemoved} {
		if !got[want] {
			t.Errorf("missing %s in %+v", want, evs)
		}
	}
	if len(Diff(s2, s2)) != 0 {
		t.Error("no change produced events")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "90m": 90 * time.Minute, "1s": time.Second} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"x", "d", "1y"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}

// withMachine makes the server decide as on goos with probe telling who is
// at the machine; for tests.
func withMachine(goos string, probe func(context.Context) (seat.Machine, error)) Option {
	return func(s *Server) { s.goos, s.probe = goos, probe }
}
