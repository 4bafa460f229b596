package disco

import (
	"crypto/ed25519"
	"net/netip"
	"testing"

	"github.com/rayfish/rayfish/engine/key"
)

// The per-message cost of disco's authentication: BenchmarkOpen and
// BenchmarkAppend are what a member's message costs now,
// BenchmarkEd25519Verify and BenchmarkEd25519Sign what it cost when
// every message was signed (v2), and BenchmarkNewPair what a pair costs
// once (and every message from a key not vouched for).

var benchPong = &Pong{TxID: TxID{1}, Src: netip.MustParseAddrPort("198.18.0.1:41641")}

func BenchmarkOpen(b *testing.B) {
	a, r := key.NewNode(), key.NewNode()
	pair, err := NewPair(r, a.Public())
	if err != nil {
		b.Fatal(err)
	}
	pkt := Encode(a, r.Public(), benchPong)
	var buf Buf
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := pair.Open(pkt, &buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	pair, err := NewPair(key.NewNode(), key.NewNode().Public())
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, MaxMessageLen)
	b.ReportAllocs()
	for b.Loop() {
		pair.Append(dst[:0], benchPong)
	}
}

func BenchmarkNewPair(b *testing.B) {
	k, peer := key.NewNode(), key.NewNode().Public()
	ks, err := NewKeys(k)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ks.Pair(peer, false); err != nil {
			b.Fatal(err)
		}
	}
}

// v2's signed pong: 69 signed bytes besides the body.
func benchSigned() []byte {
	return make([]byte, len("rayfish disco v2\x00")+2*keyLen+stampLen+1+len(TxID{})+addrLen)
}

func BenchmarkEd25519Verify(b *testing.B) {
	k := key.NewNode()
	msg := benchSigned()
	sig := k.Sign(msg)
	pub := k.Public()
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub[:], msg, sig) {
			b.Fatal("bad signature")
		}
	}
}

func BenchmarkEd25519Sign(b *testing.B) {
	k := key.NewNode()
	msg := benchSigned()
	b.ReportAllocs()
	for b.Loop() {
		k.Sign(msg)
	}
}
