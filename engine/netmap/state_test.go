package netmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// sampleState returns a state with an admin network (with invites and
// requests), a member network and endpoint records.
func sampleState(t *testing.T) (*State, key.NodePrivate) {
	t.Helper()
	self := key.NewNode()
	s := &State{}
	home, err := s.Create("home", false, self.Public(), "box", t0)
	if err != nil {
		t.Fatal(err)
	}
	peer := key.NewNode()
	if _, err := home.Admit(peer.Public(), "peer", t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := home.IssueInvite(InviteReusable, 0, t0); err != nil {
		t.Fatal(err)
	}
	if err := home.AddRequest(JoinRequest{Node: key.NewNode().Public(), Hostname: "asker", Received: t0}); err != nil {
		t.Fatal(err)
	}
	// A network this node only belongs to.
	other, otherAdmin := newAdminNetwork(t)
	if _, err := other.Admit(self.Public(), "box", t0); err != nil {
		t.Fatal(err)
	}
	work, err := FromRoster(other.ID, other.Signed)
	if err != nil {
		t.Fatal(err)
	}
	work.Name = "work"
	if err := s.Add(work); err != nil {
		t.Fatal(err)
	}
	for _, r := range []EndpointRecord{
		SignEndpoints(peer, []netip.AddrPort{netip.MustParseAddrPort("198.18.0.7:41641")}, "", 4),
		SignEndpoints(otherAdmin, nil, "https://relay.example", 1),
	} {
		if _, err := s.SetEndpoint(r); err != nil {
			t.Fatal(err)
		}
	}
	return s, self
}

func TestStateSaveLoad(t *testing.T) {
	s, self := sampleState(t)
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	if err := s.Save(path); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
		}
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(got.Networks) != 2 || len(got.Endpoints) != 2 {
		t.Fatalf("loaded %d networks, %d endpoints", len(got.Networks), len(got.Endpoints))
	}
	home, work := got.ByName("home"), got.ByName("WORK")
	if home == nil || work == nil {
		t.Fatal("ByName did not find the networks")
	}
	if !home.IsAdmin() || home.Secret.Public() != home.ID || work.IsAdmin() {
		t.Error("admin secrets not restored as they were")
	}
	if home.Roster == nil || home.Roster.Version != s.ByName("home").Roster.Version || len(home.Roster.Members) != 2 {
		t.Errorf("home roster = %+v", home.Roster)
	}
	if len(home.Invites) != 1 || home.Invites[0].Kind != InviteReusable || len(home.Requests) != 1 {
		t.Errorf("invites %+v requests %+v", home.Invites, home.Requests)
	}
	if got.ByID(work.ID) != work || got.ByID(key.NewNetwork().Public()) != nil || got.ByName("nope") != nil {
		t.Error("ByID/ByName wrong")
	}
	// The loaded admin can keep administering.
	if _, err := home.Admit(key.NewNode().Public(), "new", t0.Add(time.Hour)); err != nil {
		t.Errorf("Admit after load: %v", err)
	}
	if _, ok := work.Roster.Member(self.Public()); !ok {
		t.Error("self missing from the member network")
	}

	// Saving what was loaded (before changes) reproduces the file.
	again, _ := Load(path)
	path2 := filepath.Join(t.TempDir(), "state.json")
	if err := again.Save(path2); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(path2)
	if !bytes.Equal(a, b) {
		t.Errorf("save/load/save changed the file:\n%s\n---\n%s", a, b)
	}
	// Secrets appear only as the network key, never an invite secret.
	if !strings.Contains(string(a), `"secret": "netkey:`) || strings.Count(string(a), "netkey:") != 1 {
		t.Errorf("state file should hold exactly one network secret")
	}
}

func TestLoadMissing(t *testing.T) {
	s, err := Load(filepath.Join(t.TempDir(), "none.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Networks) != 0 || s.Endpoints == nil {
		t.Errorf("empty state = %+v", s)
	}
	if s.ByName("home") != nil {
		t.Error("empty state has a network")
	}
}

func TestLoadCorrupt(t *testing.T) {
	s, _ := sampleState(t)
	dir := t.TempDir()
	goodPath := filepath.Join(dir, "good.json")
	if err := s.Save(goodPath); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(goodPath)
	edit := func(f func(doc map[string]any)) string {
		var d map[string]any
		json.Unmarshal(good, &d)
		f(d)
		b, _ := json.Marshal(d)
		return string(b)
	}
	net0 := func(d map[string]any) map[string]any { return d["networks"].([]any)[0].(map[string]any) }
	otherSecret, _ := key.NewNetwork().MarshalText()

	tests := []struct {
		name, data, want string
	}{
		{"garbage", "not json at all", "corrupt"},
		{"truncated", string(good[:len(good)/2]), "corrupt"},
		{"empty", "", "corrupt"},
		{"no version", `{"networks":[]}`, "no format version"},
		{"newer", `{"version":99,"networks":[]}`, "newer rayfish"},
		{"null network", `{"version":1,"networks":[null]}`, "empty"},
		{"tampered roster", edit(func(d map[string]any) {
			r := net0(d)["roster"].(map[string]any)
			body := []byte(r["body"].(string)) // base64 text
			body[10] ^= 1
			r["body"] = string(body)
		}), ""},
		{"roster of another network", edit(func(d map[string]any) {
			net0(d)["roster"] = d["networks"].([]any)[1].(map[string]any)["roster"]
		}), "signature invalid"},
		{"secret mismatch", edit(func(d map[string]any) { net0(d)["secret"] = string(otherSecret) }), "secret does not match"},
		{"bad secret", edit(func(d map[string]any) { net0(d)["secret"] = "netkey:xyz" }), "corrupt"},
		{"duplicate name", edit(func(d map[string]any) {
			d["networks"].([]any)[1].(map[string]any)["name"] = "home"
		}), "already exists"},
		{"duplicate network", edit(func(d map[string]any) {
			d["networks"] = append(d["networks"].([]any), net0(d))
		}), "already a member"},
		{"bad name", edit(func(d map[string]any) { net0(d)["name"] = "Bad Name" }), "invalid network name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded with %d networks", len(s.Networks))
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want the path and %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "netkey:") {
				t.Errorf("error leaks a secret: %v", err)
			}
			after, _ := os.ReadFile(path)
			if string(after) != tt.data {
				t.Error("Load modified the file")
			}
		})
	}
}

func TestLoadDropsBadEndpoints(t *testing.T) {
	s, _ := sampleState(t)
	for n, r := range s.Endpoints {
		r.Seq++ // invalidates the signature
		s.Endpoints[n] = r
		break
	}
	if got := saveLoad(t, s); len(got.Endpoints) != 1 {
		t.Errorf("%d endpoint records, want the 1 valid one", len(got.Endpoints))
	}
}

func TestStateNetworks(t *testing.T) {
	s := &State{}
	self := key.NewNode().Public()
	if _, err := s.Create("home", false, self, "box", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("HOME", false, self, "box", t0); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("duplicate Create: %v", err)
	}
	if _, err := s.Create("bad name", false, self, "box", t0); err == nil {
		t.Error("Create with an invalid name succeeded")
	}
	n, _ := newAdminNetwork(t) // also named "home"
	if err := s.Add(n); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("Add with a taken name: %v", err)
	}
	n.Name = "home2"
	if err := s.Add(n); err != nil {
		t.Errorf("Add renamed: %v", err)
	}
	if err := s.Add(&Network{Name: "third", ID: n.ID, Roster: n.Roster}); err == nil {
		t.Error("Add of the same network id under another name succeeded")
	}
	if err := s.Add(&Network{Name: "noroster"}); err == nil {
		t.Error("Add of a network without roster succeeded")
	}
	if !s.RemoveNetwork(n.ID) || s.RemoveNetwork(n.ID) || s.ByName("home2") != nil {
		t.Error("RemoveNetwork")
	}
	if len(s.Networks) != 1 {
		t.Errorf("%d networks left, want 1", len(s.Networks))
	}
}

func TestSetEndpoint(t *testing.T) {
	s := &State{}
	k := key.NewNode()
	addr := []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:1")}
	steps := []struct {
		name        string
		r           EndpointRecord
		wantChanged bool
		wantErr     bool
		wantSeq     uint64
	}{
		{"first", SignEndpoints(k, addr, "", 5), true, false, 5},
		{"same seq", SignEndpoints(k, nil, "", 5), false, false, 5},
		{"older", SignEndpoints(k, nil, "", 4), false, false, 5},
		{"newer", SignEndpoints(k, nil, "x", 6), true, false, 6},
		{"forged", func() EndpointRecord { r := SignEndpoints(k, nil, "", 9); r.Relay = "evil"; return r }(), false, true, 6},
	}
	for _, st := range steps {
		changed, err := s.SetEndpoint(st.r)
		if changed != st.wantChanged || (err != nil) != st.wantErr || s.Endpoints[k.Public()].Seq != st.wantSeq {
			t.Errorf("%s: changed=%v err=%v seq=%d", st.name, changed, err, s.Endpoints[k.Public()].Seq)
		}
	}
}

func TestPruneEndpoints(t *testing.T) {
	s, _ := sampleState(t)
	stranger := key.NewNode()
	if _, err := s.SetEndpoint(SignEndpoints(stranger, nil, "", 1)); err != nil {
		t.Fatal(err)
	}
	if got := s.PruneEndpoints(); got != 1 {
		t.Errorf("PruneEndpoints dropped %d, want 1", got)
	}
	if _, ok := s.Endpoints[stranger.Public()]; ok || len(s.Endpoints) != 2 {
		t.Errorf("endpoints after prune: %d", len(s.Endpoints))
	}
}
