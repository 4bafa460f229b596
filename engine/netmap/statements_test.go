package netmap

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

func TestLeaveNotice(t *testing.T) {
	k := key.NewNode()
	network := key.NewNetwork().Public()
	l := SignLeave(k, network, t0.Add(1500*time.Millisecond))
	if l.Node != k.Public() || l.Network != network || !l.Time.Equal(t0.Add(time.Second)) {
		t.Fatalf("SignLeave = %+v", l)
	}
	if err := l.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// The JSON form verifies after a round trip.
	data, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var back LeaveNotice
	if err := json.Unmarshal(data, &back); err != nil || back.Verify() != nil {
		t.Fatalf("JSON round trip: %v, %v", err, back.Verify())
	}

	tests := []struct {
		name   string
		mutate func(*LeaveNotice)
	}{
		{"other network", func(l *LeaveNotice) { l.Network = key.NewNetwork().Public() }},
		{"other node", func(l *LeaveNotice) { l.Node = key.NewNode().Public() }},
		{"other time", func(l *LeaveNotice) { l.Time = l.Time.Add(time.Second) }},
		{"sub-second time", func(l *LeaveNotice) { l.Time = l.Time.Add(time.Millisecond) }},
		{"zero time", func(l *LeaveNotice) { l.Time = time.Time{} }},
		{"zero network", func(l *LeaveNotice) { l.Network = key.NetworkPublic{} }},
		{"zero node", func(l *LeaveNotice) { l.Node = key.NodePublic{} }},
		{"flipped sig", func(l *LeaveNotice) { l.Sig = bytes.Clone(l.Sig); l.Sig[5] ^= 1 }},
		{"short sig", func(l *LeaveNotice) { l.Sig = l.Sig[:10] }},
		{"no sig", func(l *LeaveNotice) { l.Sig = nil }},
		{"undomained sig", func(l *LeaveNotice) { l.Sig = k.Sign(l.message()[len(leaveDomain):]) }},
	}
	for _, tt := range tests {
		bad := l
		tt.mutate(&bad)
		if err := bad.Verify(); err == nil {
			t.Errorf("%s: Verify succeeded", tt.name)
		}
	}
}

func TestEndpointRecord(t *testing.T) {
	k := key.NewNode()
	addrs := []netip.AddrPort{
		netip.MustParseAddrPort("198.18.0.1:41641"),
		netip.MustParseAddrPort("[fe80::1%eth0]:41641"),
		netip.MustParseAddrPort("[::ffff:198.18.0.2]:41641"),
		netip.MustParseAddrPort("198.18.0.3:0"),
		netip.MustParseAddrPort("0.0.0.0:41641"),
		netip.MustParseAddrPort("[ff02::1]:41641"),
	}
	r := SignEndpoints(k, addrs, "https://relay.example.net", 7)
	want := []netip.AddrPort{
		netip.MustParseAddrPort("198.18.0.1:41641"),
		netip.MustParseAddrPort("[fe80::1]:41641"),
		netip.MustParseAddrPort("198.18.0.2:41641"),
	}
	if r.Node != k.Public() || r.Seq != 7 || r.Relay != "https://relay.example.net" || !slicesEqual(r.Addrs, want) {
		t.Fatalf("SignEndpoints = %+v", r)
	}
	if err := r.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back EndpointRecord
	if err := json.Unmarshal(data, &back); err != nil || back.Verify() != nil {
		t.Fatalf("JSON round trip: %v, %v", err, back.Verify())
	}

	// Bounds are enforced when signing, so the result always verifies.
	many := make([]netip.AddrPort, 40)
	for i := range many {
		many[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 1, byte(i + 1)}), 1)
	}
	big := SignEndpoints(k, many, strings.Repeat("r", MaxRelayLen+1), 1)
	if len(big.Addrs) != MaxEndpointAddrs || big.Relay != "" || big.Verify() != nil {
		t.Errorf("oversized input: %d addrs, relay %d bytes, verify %v", len(big.Addrs), len(big.Relay), big.Verify())
	}

	tests := []struct {
		name   string
		mutate func(*EndpointRecord)
	}{
		{"other seq", func(r *EndpointRecord) { r.Seq++ }},
		{"other relay", func(r *EndpointRecord) { r.Relay = "https://evil.example" }},
		{"dropped addr", func(r *EndpointRecord) { r.Addrs = r.Addrs[1:] }},
		{"changed port", func(r *EndpointRecord) {
			r.Addrs = append([]netip.AddrPort(nil), r.Addrs...)
			r.Addrs[0] = netip.AddrPortFrom(r.Addrs[0].Addr(), 1)
		}},
		{"added zone", func(r *EndpointRecord) {
			r.Addrs = append([]netip.AddrPort(nil), r.Addrs...)
			r.Addrs[1] = netip.AddrPortFrom(r.Addrs[1].Addr().WithZone("eth1"), r.Addrs[1].Port())
		}},
		{"mapped addr", func(r *EndpointRecord) {
			r.Addrs = append([]netip.AddrPort(nil), r.Addrs...)
			r.Addrs[0] = netip.AddrPortFrom(netip.AddrFrom16(r.Addrs[0].Addr().As16()), r.Addrs[0].Port())
		}},
		{"other node", func(r *EndpointRecord) { r.Node = key.NewNode().Public() }},
		{"zero node", func(r *EndpointRecord) { r.Node = key.NodePublic{} }},
		{"flipped sig", func(r *EndpointRecord) { r.Sig = bytes.Clone(r.Sig); r.Sig[0] ^= 1 }},
		{"too many addrs", func(r *EndpointRecord) { r.Addrs = many[:MaxEndpointAddrs+1] }},
		{"relay too long", func(r *EndpointRecord) { r.Relay = strings.Repeat("r", MaxRelayLen+1) }},
		{"relay control", func(r *EndpointRecord) { r.Relay = "a\x00b" }},
		{"leave signature", func(r *EndpointRecord) { r.Sig = SignLeave(k, key.NetworkPublic{1}, t0).Sig }},
	}
	for _, tt := range tests {
		bad := r
		tt.mutate(&bad)
		if err := bad.Verify(); err == nil {
			t.Errorf("%s: Verify succeeded", tt.name)
		}
	}
}

func slicesEqual(a, b []netip.AddrPort) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzLeaveVerify(f *testing.F) {
	k := fixedNode(f, 1)
	valid := SignLeave(k, fixedNetwork(f, 2).Public(), t0)
	validMsg := valid.message()
	seed, _ := json.Marshal(valid)
	f.Add(seed)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"network":"","node":"","time":"2026-01-01T00:00:00Z","sig":"AAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var l LeaveNotice
		if json.Unmarshal(data, &l) != nil {
			return
		}
		if l.Verify() == nil && !bytes.Equal(l.message(), validMsg) {
			t.Fatalf("forged leave notice verified: %+v", l)
		}
	})
}

func FuzzEndpointVerify(f *testing.F) {
	k := fixedNode(f, 1)
	valid := SignEndpoints(k, []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:1"), netip.MustParseAddrPort("[2001:db8::1]:2")}, "https://r", 3)
	validMsg := valid.message()
	seed, _ := json.Marshal(valid)
	f.Add(seed)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"node":"","addrs":["1.2.3.4:5"],"seq":1,"sig":"AAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r EndpointRecord
		if json.Unmarshal(data, &r) != nil {
			return
		}
		if r.Verify() == nil && !bytes.Equal(r.message(), validMsg) {
			t.Fatalf("forged endpoint record verified: %+v", r)
		}
	})
}
