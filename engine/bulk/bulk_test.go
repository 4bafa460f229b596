package bulk

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var ciphers = []Cipher{ChaCha20Poly1305, AES256GCM}

// testKeys returns deterministic keys for c; seed varies key and session.
func testKeys(c Cipher, seed byte) Keys {
	k := Keys{Cipher: c}
	for i := range k.Key {
		k.Key[i] = seed + byte(i)
	}
	for i := range k.Session {
		k.Session[i] = seed ^ byte(0xa0+i)
	}
	return k
}

// testPair returns a Sender and a Receiver sharing keys.
func testPair(t testing.TB, c Cipher) (*Sender, *Receiver) {
	t.Helper()
	k := testKeys(c, 1)
	s, err := NewSender(&k)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReceiver(&k)
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

func testPacket(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i*7)
	}
	return p
}

func mustSeal(t testing.TB, s *Sender, pkt []byte) []byte {
	t.Helper()
	w, err := s.Seal(nil, pkt)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRoundTrip(t *testing.T) {
	for _, c := range ciphers {
		for _, n := range []int{0, 1, 20, 64, 1280, 1400, 9000} {
			t.Run(fmt.Sprintf("%v/%d", c, n), func(t *testing.T) {
				s, r := testPair(t, c)
				pkt := testPacket(n, byte(n))

				// Into fresh buffers, twice: counters 0 and 1.
				for want := range uint64(2) {
					w := mustSeal(t, s, pkt)
					if len(w) != n+Overhead || !Looks(w) {
						t.Fatalf("wire len %d, want %d; Looks %v", len(w), n+Overhead, Looks(w))
					}
					if got := counterOf(w); got != want {
						t.Fatalf("counter %d, want %d", got, want)
					}
					if sid, ok := ParseSession(w); !ok || sid != s.Session() {
						t.Fatalf("ParseSession = %v %v, want %v", sid, ok, s.Session())
					}
					if bytes.Contains(w, pkt) && n >= 20 {
						t.Fatal("plaintext visible on the wire")
					}
					got, err := r.Open(nil, w)
					if err != nil || !bytes.Equal(got, pkt) {
						t.Fatalf("Open = %x, %v; want %x", got, err, pkt)
					}
				}

				// In place: packet at buf[HeaderLen:], result over it.
				buf := make([]byte, HeaderLen+n, n+Overhead)
				copy(buf[HeaderLen:], pkt)
				w, err := s.Seal(buf[:0], buf[HeaderLen:])
				if err != nil {
					t.Fatal(err)
				}
				if &w[0] != &buf[0] {
					t.Fatal("in-place Seal reallocated")
				}
				got, err := r.Open(w[HeaderLen:HeaderLen], w)
				if err != nil || !bytes.Equal(got, pkt) {
					t.Fatalf("in-place Open = %x, %v; want %x", got, err, pkt)
				}
				if n > 0 && &got[0] != &buf[HeaderLen] {
					t.Fatal("in-place Open moved the packet")
				}

				// Appending after existing bytes keeps them.
				w, err = s.Seal([]byte("prefix"), pkt)
				if err != nil || string(w[:6]) != "prefix" {
					t.Fatalf("Seal with prefix = %q, %v", w, err)
				}
				got, err = r.Open([]byte("x"), w[6:])
				if err != nil || got[0] != 'x' || !bytes.Equal(got[1:], pkt) {
					t.Fatalf("Open with prefix = %x, %v", got, err)
				}
			})
		}
	}
}

func TestOpenRejects(t *testing.T) {
	for _, c := range ciphers {
		t.Run(c.String(), func(t *testing.T) {
			s, r := testPair(t, c)
			w := mustSeal(t, s, testPacket(100, 3))
			other := testKeys(c, 2)
			otherCipher := testKeys(ChaCha20Poly1305+AES256GCM-c, 1) // same key and session, other AEAD
			wrongKey := Keys{Cipher: c, Session: r.Session()}        // right session, zero key

			mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(w)) }
			sealWith := func(k Keys) []byte {
				s, err := NewSender(&k)
				if err != nil {
					t.Fatal(err)
				}
				return mustSeal(t, s, testPacket(100, 3))
			}
			tests := []struct {
				name string
				wire []byte
				want error
			}{
				{"empty", nil, ErrShort},
				{"header only", w[:HeaderLen], ErrShort},
				{"one byte short", w[:HeaderLen+TagLen-1], ErrShort},
				{"marker", mutate(func(b []byte) []byte { b[0] = 0x40; return b }), ErrNotBulk},
				{"session", mutate(func(b []byte) []byte { b[1] ^= 1; return b }), ErrWrongSession},
				{"other session", sealWith(other), ErrWrongSession},
				{"counter", mutate(func(b []byte) []byte { b[HeaderLen-1] ^= 1; return b }), ErrAuth},
				{"huge counter", mutate(func(b []byte) []byte { b[counterOff] = 0xff; return b }), ErrAuth},
				{"ciphertext", mutate(func(b []byte) []byte { b[HeaderLen+5] ^= 0x80; return b }), ErrAuth},
				{"tag", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrAuth},
				{"truncated", w[:len(w)-1], ErrAuth},
				{"extended", append(bytes.Clone(w), 0), ErrAuth},
				{"other cipher", sealWith(otherCipher), ErrAuth},
				{"wrong key", sealWith(wrongKey), ErrAuth},
			}
			forgeries := uint64(0)
			for _, tt := range tests {
				if _, err := r.Open(nil, tt.wire); err != tt.want {
					t.Errorf("%s: Open = %v, want %v", tt.name, err, tt.want)
				}
				if tt.want == ErrAuth {
					forgeries++
				}
			}
			if got := r.Forgeries(); got != forgeries {
				t.Errorf("Forgeries = %d, want %d", got, forgeries)
			}
			// None of that moved the window: the genuine packet (counter
			// 0) still opens, once.
			if _, err := r.Open(nil, w); err != nil {
				t.Fatalf("genuine packet after forgeries: %v", err)
			}
			if _, err := r.Open(nil, w); err != ErrReplay {
				t.Fatalf("second open = %v, want ErrReplay", err)
			}
		})
	}
}

func TestReflection(t *testing.T) {
	// A packet A sent to B, reflected back to A, names a session A does
	// not receive on.
	aSend, aRecv := testKeys(AES256GCM, 1), testKeys(AES256GCM, 2)
	s, err := NewSender(&aSend)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReceiver(&aRecv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(nil, mustSeal(t, s, []byte("hello"))); err != ErrWrongSession {
		t.Fatalf("reflected packet: %v, want ErrWrongSession", err)
	}
}

func TestReplayAndReorder(t *testing.T) {
	for _, c := range ciphers {
		t.Run(c.String(), func(t *testing.T) {
			s, r := testPair(t, c)
			const n = 300
			wires := make([][]byte, n)
			for i := range wires {
				wires[i] = mustSeal(t, s, testPacket(60, byte(i)))
			}
			// Deliver in a shuffled order, every packet twice.
			order := rand.New(rand.NewPCG(1, 2)).Perm(n)
			for _, i := range order {
				got, err := r.Open(nil, wires[i])
				if err != nil || !bytes.Equal(got, testPacket(60, byte(i))) {
					t.Fatalf("packet %d: %v", i, err)
				}
				if _, err := r.Open(nil, wires[i]); err != ErrReplay {
					t.Fatalf("packet %d replayed: %v, want ErrReplay", i, err)
				}
			}
		})
	}
}

func TestTooOld(t *testing.T) {
	s, r := testPair(t, ChaCha20Poly1305)
	first := mustSeal(t, s, []byte("first"))
	second := mustSeal(t, s, []byte("second"))
	if _, err := r.Open(nil, first); err != nil {
		t.Fatal(err)
	}
	// Jump the sender ahead so the newest counter is 1+WindowSize.
	s.next.Store(1 + WindowSize)
	newest := mustSeal(t, s, []byte("newest"))
	if _, err := r.Open(nil, newest); err != nil {
		t.Fatal(err)
	}
	// second has counter 1: exactly WindowSize behind, too old.
	if _, err := r.Open(nil, second); err != ErrTooOld {
		t.Fatalf("counter 1 with newest %d: %v, want ErrTooOld", 1+WindowSize, err)
	}
	// Counter 2 is WindowSize-1 behind: still inside.
	s.next.Store(2)
	if _, err := r.Open(nil, mustSeal(t, s, []byte("inside"))); err != nil {
		t.Fatalf("counter 2: %v", err)
	}
}

func TestSenderLimits(t *testing.T) {
	for _, c := range ciphers {
		t.Run(c.String(), func(t *testing.T) {
			s, r := testPair(t, c)
			rekey, reject, _ := c.limits()
			if s.NeedsRekey() {
				t.Fatal("NeedsRekey on a fresh sender")
			}
			s.next.Store(rekey)
			if !s.NeedsRekey() {
				t.Fatal("NeedsRekey false at the rekey limit")
			}
			s.next.Store(reject - 1)
			w, err := s.Seal(nil, []byte("last"))
			if err != nil {
				t.Fatalf("last packet: %v", err)
			}
			if _, err := r.Open(nil, w); err != nil {
				t.Fatalf("open last packet: %v", err)
			}
			for range 3 {
				if w, err := s.Seal([]byte("keep"), []byte("more")); err != ErrExhausted || string(w) != "keep" {
					t.Fatalf("Seal past the limit = %q, %v; want dst, ErrExhausted", w, err)
				}
			}
		})
	}
	// The AES-GCM limits stay within RFC 9001's bound for packets of up to
	// 2^14 bytes; ChaCha20's are WireGuard's.
	if _, reject, _ := AES256GCM.limits(); reject > 1<<25 {
		t.Errorf("AES-GCM reject limit %d", reject)
	}
	if _, reject, _ := ChaCha20Poly1305.limits(); reject != 1<<60 {
		t.Errorf("ChaCha20 reject limit %d", reject)
	}
}

// TestRekeyAfterTime: a Sender asks for fresh keys once it is
// RekeyAfterTime old, however few packets it sealed beyond
// RekeyMinPackets (on virtual time); an idle one does not.
func TestRekeyAfterTime(t *testing.T) {
	for _, c := range ciphers {
		t.Run(c.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, _ := testPair(t, c)
				idle, _ := testPair(t, c)
				for range RekeyMinPackets - 1 {
					mustSeal(t, s, []byte("x"))
					mustSeal(t, idle, []byte("x"))
				}
				mustSeal(t, s, []byte("x"))
				time.Sleep(RekeyAfterTime - time.Second)
				if s.NeedsRekey() {
					t.Fatal("NeedsRekey before RekeyAfterTime")
				}
				time.Sleep(time.Second)
				if !s.NeedsRekey() {
					t.Fatal("NeedsRekey false after RekeyAfterTime")
				}
				if idle.NeedsRekey() {
					t.Fatalf("NeedsRekey after only %d packets", RekeyMinPackets-1)
				}
			})
		})
	}
	if RekeyAfterTime > 2*time.Minute {
		t.Errorf("RekeyAfterTime %v, want at most 2 minutes", RekeyAfterTime)
	}
}

func TestSealTooLarge(t *testing.T) {
	s, r := testPair(t, AES256GCM)
	if w, err := s.Seal(nil, make([]byte, MaxPacket+1)); err != ErrTooLarge || w != nil {
		t.Fatalf("Seal(MaxPacket+1) = %d bytes, %v; want ErrTooLarge", len(w), err)
	}
	if s.Sent() != 0 {
		t.Fatal("a refused packet took a counter")
	}
	got, err := r.Open(nil, mustSeal(t, s, make([]byte, MaxPacket)))
	if err != nil || len(got) != MaxPacket {
		t.Fatalf("MaxPacket round trip: %d bytes, %v", len(got), err)
	}
}

func TestForgeryLimit(t *testing.T) {
	s, r := testPair(t, ChaCha20Poly1305)
	w := mustSeal(t, s, []byte("x"))
	r.forgeries.Store(r.maxForgeries)
	if _, err := r.Open(nil, w); err != ErrExhausted {
		t.Fatalf("Open past the forgery limit: %v, want ErrExhausted", err)
	}
}

func TestClose(t *testing.T) {
	s, r := testPair(t, AES256GCM)
	w := mustSeal(t, s, []byte("x"))
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Seal(nil, []byte("x")); err != ErrClosed {
		t.Errorf("Seal after Close: %v", err)
	}
	if _, err := r.Open(nil, w); err != ErrClosed {
		t.Errorf("Open after Close: %v", err)
	}
}

func TestNewBadCipher(t *testing.T) {
	k := Keys{Cipher: 9}
	if _, err := NewSender(&k); err == nil {
		t.Error("NewSender accepted cipher 9")
	}
	if _, err := NewReceiver(&k); err == nil {
		t.Error("NewReceiver accepted cipher 9")
	}
}

func TestKeysZeroAndString(t *testing.T) {
	k := testKeys(AES256GCM, 7)
	if s := k.String(); bytes.Contains([]byte(s), []byte(fmt.Sprintf("%x", k.Key[:8]))) {
		t.Errorf("String shows the key: %s", s)
	}
	k.Zero()
	if k != (Keys{}) {
		t.Errorf("Zero left %+v", k)
	}
}

func TestLooks(t *testing.T) {
	tests := []struct {
		b    []byte
		want bool
	}{
		{nil, false},
		{[]byte{Marker}, true},
		{[]byte{0x00, 'r', 'f', 'd'}, false}, // disco
		{[]byte{0x01, 0x01}, false},          // STUN binding response
		{[]byte{0x40}, false},                // QUIC short header
		{[]byte{0xc0}, false},                // QUIC long header
	}
	for _, tt := range tests {
		if got := Looks(tt.b); got != tt.want {
			t.Errorf("Looks(%x) = %v", tt.b, got)
		}
	}
	if Marker&0xc0 != 0 || Marker < 0x20 {
		t.Errorf("Marker %#x may collide with QUIC, disco or STUN", Marker)
	}
	if _, ok := ParseSession(make([]byte, Overhead)); ok {
		t.Error("ParseSession accepted a packet without the marker")
	}
}

func TestAllocs(t *testing.T) {
	for _, c := range ciphers {
		s, r := testPair(t, c)
		pkt := testPacket(1400, 1)
		buf := make([]byte, 0, 1400+Overhead)
		out := make([]byte, 0, 1400)
		var err error
		if a := testing.AllocsPerRun(100, func() {
			buf, err = s.Seal(buf[:0], pkt)
			if err != nil {
				t.Fatal(err)
			}
			out, err = r.Open(out[:0], buf)
			if err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%v: Seal+Open allocate %v times per packet", c, a)
		}
		// The rejection paths, too.
		bad := bytes.Clone(buf)
		bad[len(bad)-1] ^= 1
		if a := testing.AllocsPerRun(100, func() {
			if _, err := r.Open(out[:0], buf); err != ErrReplay {
				t.Fatal(err)
			}
			bad[HeaderLen-2]++ // a fresh, newer counter, so the AEAD runs
			if _, err := r.Open(out[:0], bad); err != ErrAuth {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%v: rejecting allocates %v times per packet", c, a)
		}
	}
}

// TestConcurrentOpen opens every packet from several goroutines at once:
// each is accepted exactly once. Run with -race.
func TestConcurrentOpen(t *testing.T) {
	for _, c := range ciphers {
		t.Run(c.String(), func(t *testing.T) {
			s, r := testPair(t, c)
			const n, goroutines = 2000, 4
			wires := make([][]byte, n)
			for i := range wires {
				wires[i] = mustSeal(t, s, testPacket(64, byte(i)))
			}
			accepted := make([]int, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 9))
					buf := make([]byte, 0, 64)
					for _, i := range rng.Perm(n) {
						out, err := r.Open(buf[:0], wires[i])
						switch err {
						case nil:
							if !bytes.Equal(out, testPacket(64, byte(i))) {
								t.Errorf("packet %d corrupted", i)
							}
							accepted[g]++
						case ErrReplay:
						default:
							t.Errorf("packet %d: %v", i, err)
						}
					}
				})
			}
			wg.Wait()
			total := 0
			for _, a := range accepted {
				total += a
			}
			if total != n {
				t.Fatalf("accepted %d packets in all, want %d (%v)", total, n, accepted)
			}
		})
	}
}

// TestConcurrentSeal seals from several goroutines: every counter is used
// exactly once.
func TestConcurrentSeal(t *testing.T) {
	s, r := testPair(t, AES256GCM)
	const n, goroutines = 500, 4
	var mu sync.Mutex
	seen := make(map[uint64]bool)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range n {
				w, err := s.Seal(nil, []byte("pkt"))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := r.Open(nil, w); err != nil {
					t.Error(err)
				}
				mu.Lock()
				seen[counterOf(w)] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n*goroutines {
		t.Fatalf("%d distinct counters, want %d", len(seen), n*goroutines)
	}
}
