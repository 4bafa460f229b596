package report

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/netmap"
)

// secrets are the texts a report must never contain, and publics the ones
// it must keep.
type secrets struct {
	nodeKey, netKey, invite string
	nodeSeedHex             string
	nodeRawB64              string
	inviteSecretHex         string
	nodeID, networkID       string
}

func makeSecrets(t *testing.T) secrets {
	t.Helper()
	node := key.NewNode()
	network := key.NewNetwork()
	nodeText, err := node.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	netText, err := network.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var inviteSecret [16]byte
	rand.Read(inviteSecret[:])
	code := netmap.Invite{
		Kind:        netmap.InviteReusable,
		Network:     network.Public(),
		NetworkName: "home",
		Inviter:     node.Public(),
		Addrs:       []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:41641")},
		Relay:       "https://relay.example",
		Secret:      inviteSecret,
		Expires:     time.Now().Add(time.Hour),
	}.Encode()
	return secrets{
		nodeKey:         string(nodeText),
		netKey:          string(netText),
		invite:          code,
		nodeSeedHex:     hex.EncodeToString(node.Ed25519().Seed()),
		nodeRawB64:      base64.StdEncoding.EncodeToString(node.Ed25519()),
		inviteSecretHex: hex.EncodeToString(inviteSecret[:]),
		nodeID:          node.Public().String(),
		networkID:       network.Public().String(),
	}
}

// forbidden lists every form of the secrets that must not appear.
func (s secrets) forbidden() []string {
	return []string{
		s.nodeKey, strings.TrimPrefix(s.nodeKey, "nodekey:"), strings.ToUpper(strings.TrimPrefix(s.nodeKey, "nodekey:")),
		s.netKey, strings.TrimPrefix(s.netKey, "netkey:"),
		s.invite, strings.TrimPrefix(s.invite, "rayfish1-"), strings.ToUpper(s.invite[len("rayfish1-"):]),
		s.nodeSeedHex, strings.ToUpper(s.nodeSeedHex), s.nodeRawB64, s.inviteSecretHex,
	}
}

// statusWithSecrets is a status whose fields carry secrets, as a buggy
// engine might produce, plus fields whose very names say "secret".
type statusWithSecrets struct {
	apitype.Status
	PrivateKey string `json:"private_key"`
	Invite     struct {
		Code   string   `json:"code"`
		Secret [16]byte `json:"secret"`
	} `json:"invite"`
	Raw []byte `json:"raw"`
}

func buildInput(s secrets) Input {
	st := statusWithSecrets{
		Status: apitype.Status{
			Version: "0.1.0",
			Self:    apitype.Self{ID: s.nodeID, Hostname: "laptop", IPv4: netip.MustParseAddr("100.64.1.2")},
			State:   apitype.StateUp,
			Networks: []apitype.Network{
				{Name: "home", ID: s.networkID, Admin: true},
			},
			Peers: []apitype.Peer{{
				ID: s.nodeID, Hostname: "nas", Path: apitype.PathRelay,
				RelayReason: "debug dump " + s.nodeKey + " and " + s.invite,
				Endpoint:    s.netKey,
			}},
			Drops: map[string]uint64{"no_peer": 1},
		},
		PrivateKey: "something-unprefixed",
		Raw:        []byte(key.NodePrivate{}.String()),
	}
	st.Invite.Code = s.invite
	return Input{
		Now:     time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC),
		Version: "rayfish 0.1.0 " + s.invite,
		System:  func() string { return "os: linux/amd64\nleaked: " + s.nodeSeedHex + "\n" },
		Status:  st,
		Logs: []string{
			`time=2025-03-01T12:00:00Z level=INFO msg="loaded key" key=` + s.nodeKey,
			`time=2025-03-01T12:00:01Z level=INFO msg="created network" netkey=` + s.netKey,
			`time=2025-03-01T12:00:02Z level=INFO msg="issued invite" code="` + s.invite + `"`,
			`time=2025-03-01T12:00:03Z level=DEBUG msg=raw seed=` + s.nodeSeedHex + ` secret=` + s.inviteSecretHex,
			`time=2025-03-01T12:00:04Z level=DEBUG msg=json raw=` + s.nodeRawB64,
			`time=2025-03-01T12:00:05Z level=INFO msg="peer connected" peer=` + s.nodeID,
		},
		Metrics:  []byte(`rayfish_peer_online{hostname="` + s.invite + `",peer="` + s.nodeID + `"} 1` + "\n"),
		Firewall: "rules:\n  in allow icmp # " + s.netKey,
		DNS:      "mode: resolv.conf\nupstreams: 198.18.0.53:53\n" + strings.ToUpper(s.invite),
		Audit:    []string{`{"event":"invite_issued","detail":"` + s.invite + `"}`},
	}
}

func untar(t *testing.T, data []byte) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := make(map[string]string)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeDir {
			continue
		}
		if hdr.Mode&0o077 != 0 {
			t.Errorf("%s has mode %o", hdr.Name, hdr.Mode)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = string(b)
	}
	return files
}

func TestBuildHasNoSecrets(t *testing.T) {
	s := makeSecrets(t)
	var buf bytes.Buffer
	if err := Build(&buf, buildInput(s)); err != nil {
		t.Fatal(err)
	}
	files := untar(t, buf.Bytes())

	const dir = "rayfish-report-20250301-123000/"
	for _, name := range []string{"version.txt", "system.txt", "status.json", "logs.txt", "metrics.txt", "firewall.txt", "dns.txt", "audit.txt"} {
		if _, ok := files[dir+name]; !ok {
			t.Errorf("archive lacks %s%s; has %v", dir, name, keys(files))
		}
	}
	if len(files) != 8 {
		t.Errorf("archive has %d files, want 8: %v", len(files), keys(files))
	}

	// No secret, in any form, anywhere — including the compressed bytes'
	// decompressed whole.
	for name, content := range files {
		for _, secret := range s.forbidden() {
			if strings.Contains(content, secret) {
				t.Errorf("%s contains the secret %q", name, secret)
			}
		}
		for _, marker := range []string{"something-unprefixed"} {
			if strings.Contains(content, marker) {
				t.Errorf("%s contains the value of a secret-named field %q", name, marker)
			}
		}
	}

	// Public ids and ordinary content stay.
	status := files[dir+"status.json"]
	for _, want := range []string{s.nodeID, s.networkID, `"hostname": "laptop"`, `"100.64.1.2"`, `"no_peer": 1`} {
		if !strings.Contains(status, want) {
			t.Errorf("status.json lacks %q:\n%s", want, status)
		}
	}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(status), &decoded); err != nil {
		t.Errorf("status.json is not JSON: %v", err)
	}
	if !strings.Contains(files[dir+"logs.txt"], "peer="+s.nodeID) {
		t.Errorf("logs.txt lost the peer id:\n%s", files[dir+"logs.txt"])
	}
	if !strings.Contains(files[dir+"logs.txt"], "nodekey:"+Redacted) {
		t.Errorf("logs.txt does not show where the key was removed:\n%s", files[dir+"logs.txt"])
	}
	if !strings.Contains(files[dir+"dns.txt"], "198.18.0.53:53") {
		t.Errorf("dns.txt lost its content:\n%s", files[dir+"dns.txt"])
	}
	t.Logf("report: %d bytes compressed, %d files", buf.Len(), len(files))
}

func TestBuildEmptyInput(t *testing.T) {
	var buf bytes.Buffer
	called := false
	if err := Build(&buf, Input{System: func() string { called = true; return "" }}); err != nil {
		t.Fatal(err)
	}
	if !called {
		t.Error("System func not called")
	}
	files := untar(t, buf.Bytes())
	if len(files) != 8 {
		t.Fatalf("archive has %d files, want 8", len(files))
	}
	for name, content := range files {
		if strings.HasSuffix(name, "status.json") {
			if content != "null\n" {
				t.Errorf("status.json = %q, want null", content)
			}
			continue
		}
		if content != "(not available)\n" {
			t.Errorf("%s = %q, want the not-available note", name, content)
		}
	}
}

func TestBuildCutsHugeParts(t *testing.T) {
	var buf bytes.Buffer
	huge := strings.Repeat("x ", MaxFileSize)
	if err := Build(&buf, Input{Firewall: huge, System: func() string { return "s" }}); err != nil {
		t.Fatal(err)
	}
	for name, content := range untar(t, buf.Bytes()) {
		if strings.HasSuffix(name, "firewall.txt") {
			if len(content) > MaxFileSize+1 || !strings.Contains(content, "(truncated)") {
				t.Errorf("firewall.txt is %d bytes, want at most %d and a truncation note", len(content), MaxFileSize)
			}
		}
	}
}

func TestBuildRejectsUnencodableStatus(t *testing.T) {
	if err := Build(io.Discard, Input{Status: make(chan int)}); err == nil {
		t.Error("Build with an unencodable status succeeded")
	}
}

func TestSystemInfo(t *testing.T) {
	info := SystemInfo()
	for _, want := range []string{"os: ", "go: go", "cpus: ", "interfaces:", " lo "} {
		if !strings.Contains(info, want) {
			t.Errorf("SystemInfo lacks %q:\n%s", want, info)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
