package dhtdisc

import (
	"bytes"
	"crypto/ed25519"
	"net/netip"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

func testRecord(k key.NodePrivate) netmap.EndpointRecord {
	return netmap.SignEndpoints(k, []netip.AddrPort{
		netip.MustParseAddrPort("198.18.0.1:41641"),
		netip.MustParseAddrPort("[2001:db8::1]:41641"),
	}, "http://198.18.0.1:41383", 7)
}

func TestBlindedSignatureVerifies(t *testing.T) {
	k := key.NewNode()
	n1, n2 := key.NewNetwork().Public(), key.NewNetwork().Public()
	kp := k.Public()
	s, err := newSigner(n1, k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := PublicKey(n1, k.Public())
	if err != nil {
		t.Fatal(err)
	}
	if pub != s.pub {
		t.Fatalf("a member computes %x, the owner signs for %x", pub, s.pub)
	}
	msg := []byte("3:seqi1e1:v3:abc")
	if !ed25519.Verify(pub[:], msg, s.sign(msg)) {
		t.Fatal("blinded signature does not verify")
	}
	if ed25519.Verify(pub[:], []byte("other"), s.sign(msg)) {
		t.Fatal("signature verifies for another message")
	}
	pub2, _ := PublicKey(n2, k.Public())
	if pub2 == pub || bytes.Equal(pub[:], kp[:]) {
		t.Fatal("the published key links the node across networks or to its node key")
	}
	// The same node and network always give the same key (re-publish
	// replaces the item instead of adding one).
	if again, _ := PublicKey(n1, k.Public()); again != pub {
		t.Fatal("blinded key not deterministic")
	}
}

func TestSealOpen(t *testing.T) {
	k, other := key.NewNode(), key.NewNode()
	nw, wrongNw := key.NewNetwork().Public(), key.NewNetwork().Public()
	r := testRecord(k)
	kp := k.Public()
	pub, _ := PublicKey(nw, k.Public())
	v, err := Seal(nw, pub, r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(v, kp[:]) || bytes.Contains(v, []byte("198.18")) {
		t.Fatal("sealed value shows the node key or an address")
	}
	got, err := Open(nw, k.Public(), v)
	if err != nil {
		t.Fatal(err)
	}
	if got.Node != r.Node || got.Seq != r.Seq || got.Relay != r.Relay || len(got.Addrs) != 2 || got.Addrs[1] != r.Addrs[1] {
		t.Fatalf("got %+v, want %+v", got, r)
	}
	// Another member's record sealed under k's key.
	otherPub, _ := PublicKey(nw, other.Public())
	vo, _ := Seal(nw, otherPub, testRecord(other))
	forged := testRecord(k)
	forged.Addrs = forged.Addrs[:1] // signature no longer matches
	vf, _ := Seal(nw, pub, forged)
	imposter, _ := Seal(nw, pub, testRecord(other))
	for name, tc := range map[string]struct {
		nw key.NetworkPublic
		v  []byte
	}{
		"wrong network":       {wrongNw, v},
		"other member's item": {nw, vo},
		"forged record":       {nw, vf},
		"record of another":   {nw, imposter},
		"truncated":           {nw, v[:30]},
		"oversize":            {nw, make([]byte, MaxValue+1)},
		"flipped bit":         {nw, append(append([]byte{}, v[:len(v)-1]...), v[len(v)-1]^1)},
	} {
		if _, err := Open(tc.nw, k.Public(), tc.v); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}

func TestLargestRecordFits(t *testing.T) {
	k := key.NewNode()
	var addrs []netip.AddrPort
	for i := range netmap.MaxEndpointAddrs {
		addrs = append(addrs, netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(i + 1)}), 1))
	}
	r := netmap.SignEndpoints(k, addrs, "http://"+strings.Repeat("a", netmap.MaxRelayLen-7), 1)
	nw := key.NewNetwork().Public()
	pub, _ := PublicKey(nw, k.Public())
	v, err := Seal(nw, pub, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(nw, k.Public(), v); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeBounds(t *testing.T) {
	good, _ := Encode(testRecord(key.NewNode()))
	for name, b := range map[string][]byte{
		"empty":        nil,
		"version":      append([]byte{2}, good[1:]...),
		"trailing":     append(append([]byte{}, good...), 0),
		"truncated":    good[:len(good)-1],
		"many addrs":   append(append(append([]byte{}, good[:41]...), 200), good[42:]...),
		"bad family":   append(append(append([]byte{}, good[:42]...), 5), good[43:]...),
		"over maximum": make([]byte, maxRecord+1),
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode(testRecord(key.NewNode()))
	f.Add(good)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(r)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decode/encode not a round trip: %v", err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	k := key.NewNode()
	nw := key.NewNetwork().Public()
	pub, _ := PublicKey(nw, k.Public())
	v, _ := Seal(nw, pub, testRecord(k))
	f.Add(v)
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := Open(nw, k.Public(), b); err == nil && r.Verify() != nil {
			t.Fatal("opened a record that does not verify")
		}
	})
}
