package bulk

import (
	"bytes"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to a fresh Receiver. Open must not panic,
// and whatever authenticates must be, byte for byte, a packet the Sender
// made; anything rejected must leave the window as it was.
func FuzzOpen(f *testing.F) {
	for _, c := range ciphers {
		s, _ := testPair(f, c)
		for i, n := range []int{0, 1, 64, 300} {
			w := mustSeal(f, s, testPacket(n, byte(i)))
			f.Add(byte(c), w)
			bad := bytes.Clone(w)
			bad[len(bad)-1] ^= 1
			f.Add(byte(c), bad)
			f.Add(byte(c), w[:len(w)-1])
		}
	}
	f.Add(byte(0), []byte{})
	f.Add(byte(1), []byte{Marker})
	f.Add(byte(2), make([]byte, Overhead))

	// The genuine packets, per cipher, as made by the seeds above.
	genuine := make(map[Cipher][][]byte)
	for _, c := range ciphers {
		s, _ := testPair(f, c)
		for i, n := range []int{0, 1, 64, 300} {
			genuine[c] = append(genuine[c], mustSeal(f, s, testPacket(n, byte(i))))
		}
	}

	f.Fuzz(func(t *testing.T, which byte, wire []byte) {
		c := ciphers[int(which)%len(ciphers)]
		_, r := testPair(t, c)
		before := r.window.last.Load()
		out, err := r.Open(make([]byte, 0, 8), wire)
		if err != nil {
			if len(out) != 0 {
				t.Fatalf("Open failed with %v but returned %x", err, out)
			}
			if r.window.last.Load() != before {
				t.Fatalf("rejected packet (%v) moved the window", err)
			}
			for i := range r.window.ring {
				if r.window.ring[i].Load() != 0 {
					t.Fatalf("rejected packet (%v) marked block %d", err, i)
				}
			}
			return
		}
		for i, g := range genuine[c] {
			if bytes.Equal(g, wire) {
				if want := testPacket(len(out), byte(i)); !bytes.Equal(out, want) {
					t.Fatalf("genuine packet %d opened to %x, want %x", i, out, want)
				}
				return
			}
		}
		t.Fatalf("forged packet authenticated: %x", wire)
	})
}
