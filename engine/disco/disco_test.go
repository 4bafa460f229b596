package disco

import (
	"errors"
	"net/netip"
	"reflect"
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
			h, got, err := Decode(pkt, b.Public())
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
	_, m, err := Decode(Encode(a, b.Public(), &CallMeMaybe{Endpoints: eps}), b.Public())
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*CallMeMaybe).Endpoints
	if !reflect.DeepEqual(got, eps[:MaxEndpoints]) {
		t.Errorf("got %d endpoints %v, want the first %d", len(got), got, MaxEndpoints)
	}
}

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
	// Claiming to be c: swap the sender key, keep a's signature.
	impostor := append([]byte(nil), ping...)
	cp := c.Public()
	copy(impostor[len(Magic):], cp[:])
	// A correctly signed message with a type byte the receiver does not know.
	unknown := append([]byte(nil), ping...)
	unknown[headerLen-1] = 0x7f
	// A ping body padded to the size of a pong, re-signed: still wrong.
	longPing := append(append([]byte(nil), ping...), make([]byte, addrLen)...)

	tests := []struct {
		name string
		b    []byte
		to   key.NodePublic
		want error
	}{
		{"wrong receiver", ping, c.Public(), ErrBadSignature},
		{"receiver is sender", ping, a.Public(), ErrBadSignature},
		{"tampered txid", flip(ping, headerLen), b.Public(), ErrBadSignature},
		{"tampered stamp", flip(ping, stampOff+7), b.Public(), ErrBadSignature},
		{"tampered pong addr", flip(pong, len(pong)-3), b.Public(), ErrBadSignature},
		{"tampered endpoint", flip(cmm, len(cmm)-1), b.Public(), ErrBadSignature},
		{"tampered signature", flip(ping, len(Magic)+keyLen+5), b.Public(), ErrBadSignature},
		{"tampered type", func() []byte { x := append([]byte(nil), pong...); x[headerLen-1] = typeCallMeMaybe; return x }(), b.Public(), ErrBadLength},
		{"impostor", impostor, b.Public(), ErrBadSignature},
		{"unknown type", unknown, b.Public(), ErrUnknownType},
		{"truncated ping", ping[:len(ping)-1], b.Public(), ErrBadLength},
		{"truncated pong", pong[:len(pong)-1], b.Public(), ErrBadLength},
		{"truncated call-me-maybe", cmm[:len(cmm)-1], b.Public(), ErrBadLength},
		{"extended ping", longPing, b.Public(), ErrBadLength},
		{"header only", ping[:headerLen-1], b.Public(), ErrNotDisco},
		{"bad magic", flip(ping, 1), b.Public(), ErrNotDisco},
		{"empty", nil, b.Public(), ErrNotDisco},
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
}

func TestLooks(t *testing.T) {
	k := key.NewNode()
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"disco", Encode(k, k.Public(), &Ping{}), true},
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
	if stun.IsMessage(Encode(k, k.Public(), &Pong{})) {
		t.Error("a disco pong passes stun.IsMessage")
	}
}

func FuzzDecode(f *testing.F) {
	a, b := key.NewNode(), key.NewNode()
	f.Add(Encode(a, b.Public(), &Ping{TxID: TxID{1}}))
	f.Add(Encode(a, b.Public(), &Pong{TxID: TxID{2}, Src: netip.MustParseAddrPort("198.18.0.1:1")}))
	f.Add(Encode(a, b.Public(), &CallMeMaybe{Endpoints: []netip.AddrPort{netip.MustParseAddrPort("[2001:db8::1]:2")}}))
	f.Add([]byte(Magic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		h, m, err := Decode(pkt, b.Public())
		if err != nil {
			if m != nil {
				t.Fatal("message returned with error")
			}
			return
		}
		// Only a's genuine messages verify; whatever does must be one
		// of the messages Encode produces, byte for byte.
		if h.From != a.Public() {
			t.Fatalf("decoded a message from %v, which the fuzzer cannot sign", h.From)
		}
		if again := encodeAt(a, b.Public(), m, h.Stamp); string(again) != string(pkt) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, pkt)
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
