package disco

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/stun"
)

func TestRoundTrip(t *testing.T) {
	a, b := key.NewNode(), key.NewNode()
	many := make([]netip.AddrPort, MaxEndpoints)
	for i := range many {
		many[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}), uint16(1000+i))
	}
	tests := []struct {
		name string
		msg  Message
	}{
		{"ping", &Ping{TxID: TxID{1, 2, 3}}},
		{"pong v4", &Pong{TxID: TxID{4}, Src: netip.MustParseAddrPort("198.18.0.1:41641")}},
		{"pong v6", &Pong{TxID: TxID{5}, Src: netip.MustParseAddrPort("[2001:db8::1]:7")}},
		{"pong no src", &Pong{TxID: TxID{6}}},
		{"call-me-maybe empty", &CallMeMaybe{}},
		{"call-me-maybe mixed", &CallMeMaybe{Endpoints: []netip.AddrPort{
			netip.MustParseAddrPort("198.18.0.1:1"),
			netip.MustParseAddrPort("[2001:db8::2]:65535"),
		}}},
		{"call-me-maybe max", &CallMeMaybe{Endpoints: many}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkt := Encode(a, b.Public(), tt.msg)
			if !Looks(pkt) {
				t.Fatal("encoded message does not look like disco")
			}
			if len(pkt) > MaxMessageLen {
				t.Fatalf("message of %d bytes exceeds MaxMessageLen %d", len(pkt), MaxMessageLen)
			}
			if s, ok := Sender(pkt); !ok || s != a.Public() {
				t.Fatalf("Sender = %v, %v", s, ok)
			}
			h, got, err := Decode(pkt, b)
			if err != nil {
				t.Fatal(err)
			}
			if h.From != a.Public() {
				t.Errorf("from = %v, want %v", h.From, a.Public())
			}
			if d := time.Since(time.Unix(0, int64(h.Stamp))); d < 0 || d > time.Minute {
				t.Errorf("stamp %v ago, want now", d)
			}
			if !reflect.DeepEqual(got, tt.msg) {
				t.Errorf("decoded %#v, want %#v", got, tt.msg)
			}
		})
	}
}

func TestCallMeMaybeTruncatesEndpoints(t *testing.T) {
	a, b := key.NewNode(), key.NewNode()
	eps := make([]netip.AddrPort, MaxEndpoints+5)
	for i := range eps {
		eps[i] = netip.AddrPortFrom(netip.MustParseAddr("198.18.0.1"), uint16(i+1))
	}
	_, m, err := Decode(Encode(a, b.Public(), &CallMeMaybe{Endpoints: eps}), b)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*CallMeMaybe).Endpoints
	if !reflect.DeepEqual(got, eps[:MaxEndpoints]) {
		t.Errorf("got %d endpoints %v, want the first %d", len(got), got, MaxEndpoints)
	}
}

// NewPair returns the pair of the node k with peer, as a Keys would.
func NewPair(k key.NodePrivate, peer key.NodePublic) (*Pair, error) {
	ks, err := NewKeys(k)
	if err != nil {
		return nil, err
	}
	return ks.Pair(peer, false)
}

// Decode opens the disco message b received by the node k, deriving the
// pair's keys for this one message.
func Decode(b []byte, k key.NodePrivate) (Header, Message, error) {
	from, ok := Sender(b)
	if !ok {
		return Header{}, nil, ErrNotDisco
	}
	p, err := NewPair(k, from)
	if err != nil {
		return Header{}, nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return p.Open(b, new(Buf))
}

// TestDecodeRejects: forged, tampered, misdirected, reflected and
// truncated messages are refused, each for its reason.
func TestDecodeRejects(t *testing.T) {
	a, b, c := key.NewNode(), key.NewNode(), key.NewNode()
	ping := Encode(a, b.Public(), &Ping{TxID: TxID{9}})
	pong := Encode(a, b.Public(), &Pong{TxID: TxID{9}, Src: netip.MustParseAddrPort("198.18.0.1:1")})
	cmm := Encode(a, b.Public(), &CallMeMaybe{Endpoints: []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:1")}})

	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 0x01
		return c
	}
	withSender := func(b []byte, k key.NodePublic) []byte {
		c := append([]byte(nil), b...)
		copy(c[len(Magic):], k[:])
		return c
	}
	// Sealed by c for b, claiming to come from a.
	forged := withSender(Encode(c, b.Public(), &Ping{TxID: TxID{9}}), a.Public())
	// a's ping to b, sent back to a as if b had sent it.
	reflected := withSender(ping, b.Public())
	// Low-order and off-curve sender keys: no pair, so nothing opens.
	lowOrder := withSender(ping, key.NodePublic{1})
	offCurve := withSender(ping, key.NodePublic{2})
	// A correctly sealed message with a type byte the receiver does not know.
	unknown := append([]byte(nil), ping...)
	unknown[headerLen-1] = 0x7f
	// A ping body padded to the size of a pong: the layout check refuses it.
	longPing := append(append([]byte(nil), ping...), make([]byte, addrLen)...)

	tests := []struct {
		name string
		b    []byte
		to   key.NodePrivate
		want error
	}{
		{"wrong receiver", ping, c, ErrBadSignature},
		{"receiver is sender", ping, a, ErrBadSignature},
		{"forged by another member", forged, b, ErrBadSignature},
		{"reflected to its sender", reflected, a, ErrBadSignature},
		{"impostor sender key", withSender(ping, c.Public()), b, ErrBadSignature},
		{"low-order sender key", lowOrder, b, ErrBadSignature},
		{"sender key not a point", offCurve, b, ErrBadSignature},
		{"tampered txid", flip(ping, headerLen), b, ErrBadSignature},
		{"tampered nonce", flip(ping, nonceOff+3), b, ErrBadSignature},
		{"tampered stamp", flip(ping, stampOff+7), b, ErrBadSignature},
		{"tampered pong addr", flip(pong, headerLen+14), b, ErrBadSignature},
		{"tampered endpoint", flip(cmm, headerLen+2), b, ErrBadSignature},
		{"tampered tag", flip(ping, len(ping)-1), b, ErrBadSignature},
		{"tampered type", func() []byte { x := append([]byte(nil), pong...); x[headerLen-1] = typeCallMeMaybe; return x }(), b, ErrBadLength},
		{"unknown type", unknown, b, ErrUnknownType},
		{"truncated ping", ping[:len(ping)-1], b, ErrBadLength},
		{"truncated pong", pong[:len(pong)-1], b, ErrBadLength},
		{"truncated call-me-maybe", cmm[:len(cmm)-1], b, ErrBadLength},
		{"tag cut off", pong[:len(pong)-tagLen], b, ErrBadLength},
		{"extended ping", longPing, b, ErrBadLength},
		{"header only", ping[:headerLen+tagLen-1], b, ErrNotDisco},
		{"bad magic", flip(ping, 1), b, ErrNotDisco},
		{"empty", nil, b, ErrNotDisco},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, m, err := Decode(tt.b, tt.to)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if m != nil {
				t.Errorf("message %#v returned with error", m)
			}
		})
	}

	// A pair opens only its peer's messages.
	pc, err := NewPair(b, c.Public())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pc.Open(ping, new(Buf)); !errors.Is(err, ErrWrongPair) {
		t.Errorf("a's ping opened with the pair of c: err = %v, want %v", err, ErrWrongPair)
	}
	if _, err := NewPair(a, a.Public()); err == nil {
		t.Error("a pair with our own key")
	}
}

// TestReplayRefused: a genuine message opens every time it is received,
// and the sender's Window accepts its stamp only the first time.
func TestReplayRefused(t *testing.T) {
	a, b := key.NewNode(), key.NewNode()
	pair, err := NewPair(b, a.Public())
	if err != nil {
		t.Fatal(err)
	}
	var w Window
	for _, pkt := range [][]byte{Encode(a, b.Public(), &Ping{TxID: NewTxID()}), Encode(a, b.Public(), &CallMeMaybe{})} {
		for i, want := range []bool{true, false, false} {
			h, _, err := pair.Open(pkt, new(Buf))
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Accept(h.Stamp, time.Now()); got != want {
				t.Errorf("reception %d: Accept = %v, want %v", i+1, got, want)
			}
		}
	}
}

// TestNoncesDiffer: no two messages of a process share a nonce, even
// with the same stamp.
func TestNoncesDiffer(t *testing.T) {
	p, err := NewPair(key.NewNode(), key.NewNode().Public())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 100 {
		m := p.appendAt(nil, &Ping{}, 1)
		n := string(m[nonceOff:stampOff])
		if seen[n] {
			t.Fatalf("nonce %x used twice", n)
		}
		seen[n] = true
	}
}

// TestNoAllocs: sealing into a buffer with room, and opening into a Buf,
// allocate nothing.
func TestNoAllocs(t *testing.T) {
	a, b := key.NewNode(), key.NewNode()
	out, err := NewPair(a, b.Public())
	if err != nil {
		t.Fatal(err)
	}
	in, err := NewPair(b, a.Public())
	if err != nil {
		t.Fatal(err)
	}
	eps := []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:1"), netip.MustParseAddrPort("[2001:db8::1]:2")}
	msgs := []Message{&Ping{TxID: TxID{1}}, &Pong{TxID: TxID{2}, Src: eps[0]}, &CallMeMaybe{Endpoints: eps}}
	dst := make([]byte, 0, MaxMessageLen)
	var buf Buf
	for _, m := range msgs {
		var pkt []byte
		if n := testing.AllocsPerRun(100, func() { pkt = out.Append(dst[:0], m) }); n != 0 {
			t.Errorf("Append(%T): %v allocs", m, n)
		}
		if n := testing.AllocsPerRun(100, func() {
			if _, _, err := in.Open(pkt, &buf); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Open(%T): %v allocs", m, n)
		}
	}
}

// TestKeys: a Keys caches the pairs it is told to keep, up to its bound,
// derives the same keys as NewPair, and forgets what Retain rejects.
func TestKeys(t *testing.T) {
	self := key.NewNode()
	ks, err := NewKeys(self)
	if err != nil {
		t.Fatal(err)
	}
	member, stranger := key.NewNode(), key.NewNode()
	pm, err := ks.Pair(member.Public(), true)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := ks.Pair(member.Public(), true); again != pm {
		t.Error("a member's pair derived twice")
	}
	ps, err := ks.Pair(stranger.Public(), false)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := ks.Pair(stranger.Public(), false); again == ps {
		t.Error("a non-member's pair was cached")
	}
	if ks.Len() != 1 {
		t.Errorf("%d pairs cached, want 1 (the member's)", ks.Len())
	}
	// The cached pair opens what the peer seals, both ways.
	if _, _, err := pm.Open(Encode(member, self.Public(), &Ping{}), new(Buf)); err != nil {
		t.Errorf("member's ping: %v", err)
	}
	if _, _, err := Decode(pm.Append(nil, &Ping{}), member); err != nil {
		t.Errorf("ping to the member: %v", err)
	}
	if _, err := ks.Pair(key.NodePublic{1}, true); err == nil {
		t.Error("a pair with a low-order key")
	}
	if _, err := ks.Pair(self.Public(), true); err == nil {
		t.Error("a pair with our own key")
	}
	ks.Retain(func(k key.NodePublic) bool { return k != member.Public() })
	if ks.Len() != 0 {
		t.Errorf("%d pairs cached after the member left, want 0", ks.Len())
	}

	// Bounded: past the bound, pairs are derived but not kept.
	ks.max = 5
	for range ks.max + 3 {
		if _, err := ks.Pair(key.NewNode().Public(), true); err != nil {
			t.Fatal(err)
		}
	}
	if ks.Len() != ks.max {
		t.Errorf("%d pairs cached, want at most %d", ks.Len(), ks.max)
	}
}

// TestKeysConcurrent: goroutines asking for the same pair at once all get
// one that works, and one stays cached.
func TestKeysConcurrent(t *testing.T) {
	self, peer := key.NewNode(), key.NewNode()
	ks, err := NewKeys(self)
	if err != nil {
		t.Fatal(err)
	}
	pkt := Encode(peer, self.Public(), &Ping{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			p, err := ks.Pair(peer.Public(), true)
			if err == nil {
				_, _, err = p.Open(pkt, new(Buf))
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ks.Len() != 1 {
		t.Errorf("%d pairs cached, want 1", ks.Len())
	}
}

func TestLooks(t *testing.T) {
	k, to := key.NewNode(), key.NewNode().Public()
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"disco", Encode(k, to, &Ping{}), true},
		{"magic only", []byte(Magic), true},
		{"short", []byte(Magic[:5]), false},
		{"stun request", stun.BuildRequest(stun.TxID{}), false},
		{"quic long header", []byte{0xc0, 0, 0, 0, 1, 8, 1, 2, 3}, false},
		{"quic short header", []byte{0x40, 'r', 'f', 'd', 0x1f, 0x80}, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := Looks(tt.b); got != tt.want {
			t.Errorf("%s: Looks = %v, want %v", tt.name, got, tt.want)
		}
	}
	// The reasoning of the package doc, checked: the first byte has both
	// QUIC bits clear, and no disco message is a STUN message.
	if Magic[0]&0xc0 != 0 {
		t.Errorf("Magic[0] = %#x has a QUIC header bit set", Magic[0])
	}
	if stun.IsMessage(Encode(k, to, &Pong{})) {
		t.Error("a disco pong passes stun.IsMessage")
	}
}

func FuzzDecode(f *testing.F) {
	a, b := key.NewNode(), key.NewNode()
	seeds := [][]byte{
		Encode(a, b.Public(), &Ping{TxID: TxID{1}}),
		Encode(a, b.Public(), &Pong{TxID: TxID{2}, Src: netip.MustParseAddrPort("198.18.0.1:1")}),
		Encode(a, b.Public(), &CallMeMaybe{Endpoints: []netip.AddrPort{netip.MustParseAddrPort("[2001:db8::1]:2")}}),
		Encode(a, b.Public(), &CallMeMaybe{}),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add([]byte(Magic))
	f.Add([]byte{})
	// As magicconn does: the pair of whatever key the message claims.
	ks, err := NewKeys(b)
	if err != nil {
		f.Fatal(err)
	}
	var buf Buf
	f.Fuzz(func(t *testing.T, pkt []byte) {
		from, ok := Sender(pkt)
		if !ok {
			return
		}
		pair, err := ks.Pair(from, from == a.Public())
		if err != nil {
			return // our own key, or one with no pair: nothing opens
		}
		h, m, err := pair.Open(pkt, &buf)
		if err != nil {
			if m != nil {
				t.Fatal("message returned with error")
			}
			return
		}
		// Only a's genuine messages open, and the fuzzer cannot seal:
		// whatever opens is one of the seeds, byte for byte.
		if h.From != a.Public() || !slices.ContainsFunc(seeds, func(s []byte) bool { return bytes.Equal(s, pkt) }) {
			t.Fatalf("opened a message no one sealed: %x", pkt)
		}
		// And it re-encodes to a message of the same length that opens
		// to the same message.
		re := Encode(a, b.Public(), m)
		if len(re) != len(pkt) {
			t.Fatalf("re-encoded to %d bytes, want %d", len(re), len(pkt))
		}
		if _, m2, err := Decode(re, b); err != nil || !reflect.DeepEqual(m2, m) {
			t.Fatalf("re-encoded message decodes to %#v, %v; want %#v", m2, err, m)
		}
	})
}

// TestWindow: a Window accepts each fresh stamp once, in any order within
// ReorderWindow, and refuses replays, stale stamps and stamps from too
// far in the future.
func TestWindow(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) Stamp { return Stamp(now.Add(d).UnixNano()) }
	var w Window
	steps := []struct {
		name  string
		stamp Stamp
		want  bool
	}{
		{"fresh", at(-time.Second), true},
		{"replay", at(-time.Second), false},
		{"newer", at(0), true},
		{"reordered within the window", at(-2 * time.Second), true},
		{"reordered, replayed", at(-2 * time.Second), false},
		{"behind the newest by more than the window", at(-ReorderWindow - time.Millisecond), false},
		{"older than the clock skew", at(-MaxClockSkew - time.Second), false},
		{"from too far ahead", at(MaxClockSkew + time.Second), false},
		{"ahead within the skew", at(MaxClockSkew - time.Second), true},
		{"behind that one by more than the window", at(0), false},
		{"zero", 0, false},
	}
	for _, s := range steps {
		if got := w.Accept(s.stamp, now); got != s.want {
			t.Errorf("%s: Accept = %v, want %v", s.name, got, s.want)
		}
	}
	// More stamps than the window remembers: none of them is accepted
	// twice, however they are replayed.
	var w2 Window
	var stamps []Stamp
	for i := range 3 * windowSlots {
		s := at(time.Duration(i) * time.Microsecond)
		stamps = append(stamps, s)
		if !w2.Accept(s, now) {
			t.Fatalf("stamp %d refused", i)
		}
	}
	for i, s := range stamps {
		if w2.Accept(s, now) {
			t.Fatalf("stamp %d accepted twice", i)
		}
	}
}

// TestStampsIncrease: stamps from one process never repeat or go back,
// however fast messages are encoded.
func TestStampsIncrease(t *testing.T) {
	last := nextStamp()
	for range 1000 {
		s := nextStamp()
		if s <= last {
			t.Fatalf("stamp %d after %d", s, last)
		}
		last = s
	}
}

// TestStampsAcrossClocks: a clock far behind the last stamp (the wall
// clock stepped back, or a synctest bubble's virtual clock) gets stamps
// of its own time, not ones its peers would refuse as too far ahead.
func TestStampsAcrossClocks(t *testing.T) {
	ahead := time.Now().Add(time.Hour)
	first := stampAt(ahead)
	if second := stampAt(ahead); second <= first {
		t.Fatalf("stamp %d after %d from the same clock", second, first)
	}
	now := time.Now()
	s := stampAt(now)
	if s != Stamp(now.UnixNano()) {
		t.Errorf("stamp %d an hour behind the last, want the time now %d", s, now.UnixNano())
	}
	var w Window
	if !w.Accept(s, now) {
		t.Error("stamp of a clock behind the last one refused")
	}
}
