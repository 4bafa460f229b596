package relay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

func TestFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		typ     FrameType
		payload []byte
	}{
		{"empty", FramePing, nil},
		{"ping", FramePing, []byte("12345678")},
		{"packet", FrameSendPacket, bytes.Repeat([]byte{0xab}, 1500)},
		{"max", FrameRecvPacket, bytes.Repeat([]byte{1}, 4096)},
		{"unknown type", FrameType(0xee), []byte("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, buffered := range []bool{false, true} {
				var out bytes.Buffer
				if buffered {
					bw := bufio.NewWriter(&out)
					if err := writeTestFrame(bw, tt.typ, tt.payload); err != nil {
						t.Fatal(err)
					}
					bw.Flush()
				} else if err := writeTestFrame(&out, tt.typ, tt.payload); err != nil {
					t.Fatal(err)
				}
				if out.Len() != frameHeaderLen+len(tt.payload) {
					t.Fatalf("frame of %d bytes, want %d", out.Len(), frameHeaderLen+len(tt.payload))
				}
				// Read back through a bufio.Reader and through a reader
				// that returns one byte at a time.
				for _, r := range []io.Reader{bufio.NewReader(bytes.NewReader(out.Bytes())), iotest.OneByteReader(bytes.NewReader(out.Bytes()))} {
					typ, p, err := ReadFrame(r, make([]byte, 4096))
					if err != nil {
						t.Fatal(err)
					}
					if typ != tt.typ || !bytes.Equal(p, tt.payload) {
						t.Errorf("got %v %d bytes, want %v %d bytes", typ, len(p), tt.typ, len(tt.payload))
					}
					if _, _, err := ReadFrame(r, make([]byte, 4096)); err != io.EOF {
						t.Errorf("after the frame: err = %v, want EOF", err)
					}
				}
			}
		})
	}
}

func TestReadFrameErrors(t *testing.T) {
	frame := func(typ FrameType, n uint32, payload []byte) []byte {
		b := []byte{byte(typ), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
		return append(b, payload...)
	}
	tests := []struct {
		name string
		in   []byte
		buf  int
		want error
	}{
		{"too large", frame(FrameSendPacket, 101, make([]byte, 101)), 100, ErrFrameTooLarge},
		{"huge length", frame(FrameSendPacket, 0xffffffff, nil), 100, ErrFrameTooLarge},
		{"fits exactly", frame(FrameSendPacket, 100, make([]byte, 100)), 100, nil},
		{"truncated header", []byte{1, 0, 0}, 100, io.ErrUnexpectedEOF},
		{"truncated payload", frame(FramePing, 8, []byte("1234")), 100, io.ErrUnexpectedEOF},
		{"empty", nil, 100, io.EOF},
		{"tiny buffer", frame(FramePing, 0, nil), 0, nil},
		{"tiny buffer too large", frame(FramePing, 1, []byte{1}), 0, ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{bytes.NewReader(tt.in), bufio.NewReader(bytes.NewReader(tt.in))} {
				_, _, err := ReadFrame(r, make([]byte, tt.buf))
				if !errors.Is(err, tt.want) {
					t.Errorf("%T: err = %v, want %v", r, err, tt.want)
				}
			}
		})
	}
}

func TestFrameAllocs(t *testing.T) {
	var stream bytes.Buffer
	payload := make([]byte, 1400)
	bw := bufio.NewWriterSize(io.Discard, 16<<10)
	if a := testing.AllocsPerRun(100, func() { writeTestFrame(bw, FrameSendPacket, payload) }); a != 0 {
		t.Errorf("writeTestFrame to bufio.Writer: %v allocs, want 0", a)
	}
	for range 200 {
		writeTestFrame(&stream, FrameSendPacket, payload)
	}
	br := bufio.NewReader(&stream)
	buf := make([]byte, DefaultMaxFrame)
	if a := testing.AllocsPerRun(100, func() { ReadFrame(br, buf) }); a != 0 {
		t.Errorf("ReadFrame from bufio.Reader: %v allocs, want 0", a)
	}
	r := bytes.NewReader(stream.Bytes())
	if a := testing.AllocsPerRun(100, func() { ReadFrame(r, buf) }); a != 0 {
		t.Errorf("ReadFrame from bytes.Reader: %v allocs, want 0", a)
	}
}

func TestServerInfoRoundTrip(t *testing.T) {
	si := ServerInfo{MaxFrame: DefaultMaxFrame, RateBytesPerSec: 1 << 20, RateBurst: 1 << 21}
	got, err := parseServerInfo(si.appendTo(nil))
	if err != nil || got != si {
		t.Fatalf("got %+v, %v; want %+v", got, err, si)
	}
	// Later versions may append fields.
	if got, err := parseServerInfo(append(si.appendTo(nil), 1, 2, 3)); err != nil || got != si {
		t.Errorf("with trailing fields: got %+v, %v", got, err)
	}
	if _, err := parseServerInfo(si.appendTo(nil)[:serverInfoLen-1]); err == nil {
		t.Error("short ServerInfo accepted")
	}
	if _, err := parseServerInfo(ServerInfo{MaxFrame: 10}.appendTo(nil)); err == nil {
		t.Error("unusably small MaxFrame accepted")
	}
}

func TestTokenBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type step struct {
		at   time.Duration
		n    int
		want bool
	}
	tests := []struct {
		name        string
		rate, burst uint64
		steps       []step
	}{
		{"unlimited", 0, 0, []step{{0, 1 << 30, true}, {0, 1 << 30, true}}},
		{"burst then refuse", 1000, 1000, []step{{0, 600, true}, {0, 400, true}, {0, 1, false}}},
		{"refill", 1000, 1000, []step{{0, 1000, true}, {0, 1, false}, {500 * time.Millisecond, 500, true}, {500 * time.Millisecond, 1, false}}},
		{"refill capped at burst", 1000, 1000, []step{{0, 1000, true}, {time.Hour, 1000, true}, {time.Hour, 1, false}}},
		{"larger than burst never passes", 1000, 1000, []step{{time.Hour, 1001, false}, {time.Hour, 1000, true}}},
		{"burst defaults to rate", 1000, 0, []step{{0, 1000, true}, {0, 1, false}}},
		{"refused packet takes nothing", 1000, 1000, []step{{0, 900, true}, {0, 200, false}, {0, 100, true}}},
		{"clock going back is harmless", 1000, 1000, []step{{time.Second, 1000, true}, {0, 1, false}}},
	}
	for _, tt := range tests {
		b := newTokenBucket(tt.rate, tt.burst, t0)
		for i, s := range tt.steps {
			if got := b.allow(s.n, t0.Add(s.at)); got != s.want {
				t.Errorf("%s: step %d: allow(%d) = %v, want %v", tt.name, i, s.n, got, s.want)
			}
		}
	}
}

func TestVerifyClientAuth(t *testing.T) {
	a, b := key.NewNode(), key.NewNode()
	challenge := newChallenge()
	binding := bytes.Repeat([]byte{7}, bindingLen)
	good := clientAuth(a, challenge, binding)
	// b's key with a's signature: claiming another key.
	impostor := append([]byte(nil), good...)
	bp := b.Public()
	copy(impostor, bp[:])
	tests := []struct {
		name      string
		payload   []byte
		challenge []byte
		binding   []byte
		ok        bool
	}{
		{"good", good, challenge, binding, true},
		{"plain http", clientAuth(a, challenge, nil), challenge, nil, true},
		{"other challenge", good, newChallenge(), binding, false},
		{"other TLS session", good, challenge, bytes.Repeat([]byte{8}, bindingLen), false},
		{"TLS signature on plain connection", good, challenge, nil, false},
		{"plain signature on TLS", clientAuth(a, challenge, nil), challenge, binding, false},
		{"claims another key", impostor, challenge, binding, false},
		{"short", good[:len(good)-1], challenge, binding, false},
		{"long", append(append([]byte(nil), good...), 0), challenge, binding, false},
	}
	for _, tt := range tests {
		k, err := verifyClientAuth(tt.payload, tt.challenge, tt.binding)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err == nil && k != a.Public() {
			t.Errorf("%s: key %v, want %v", tt.name, k, a.Public())
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	var seed bytes.Buffer
	writeTestFrame(&seed, FrameSendPacket, append(make([]byte, keyLen), "hello"...))
	writeTestFrame(&seed, FramePing, []byte("12345678"))
	writeTestFrame(&seed, FrameServerInfo, ServerInfo{MaxFrame: DefaultMaxFrame}.appendTo(nil))
	f.Add(seed.Bytes())
	f.Add([]byte{byte(FramePeerGone), 0, 0, 0, 32})
	f.Add([]byte{byte(FrameError), 0xff, 0xff, 0xff, 0xff})
	seed.Reset()
	writeTestFrame(&seed, FrameServerInfo, ServerInfo{MaxFrame: 2 << 30}.appendTo(nil))
	f.Add(seed.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 256
		r := bufio.NewReader(bytes.NewReader(in))
		buf := make([]byte, limit)
		consumed := 0
		for {
			typ, p, err := ReadFrame(r, buf)
			if err != nil {
				if errors.Is(err, ErrFrameTooLarge) && len(in)-consumed < frameHeaderLen {
					t.Fatal("too large without a full header")
				}
				break
			}
			if len(p) > limit {
				t.Fatalf("payload of %d bytes beyond the %d limit", len(p), limit)
			}
			// The frame re-encodes to exactly the bytes it came from.
			var out bytes.Buffer
			writeTestFrame(&out, typ, p)
			if !bytes.Equal(out.Bytes(), in[consumed:consumed+out.Len()]) {
				t.Fatalf("re-encoded frame differs from input")
			}
			consumed += out.Len()
			// The payload parsers must not panic on anything.
			splitKey(p)
			if si, err := parseServerInfo(p); err == nil && (si.MaxFrame < minMaxFrame || si.MaxFrame > MaxFrameLimit) {
				t.Fatalf("ServerInfo accepted with MaxFrame %d", si.MaxFrame)
			}
			errorText(p)
			verifyClientAuth(p, make([]byte, challengeLen), nil)
		}
	})
}
