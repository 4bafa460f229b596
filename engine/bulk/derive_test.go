package bulk

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quic-go/quic-go"
	"golang.org/x/sys/cpu"

	"github.com/rayfish/rayfish/engine/key"
)

// tlsConfigs returns the configs a dialing and a listening node use.
func tlsConfigs(t *testing.T) (client, server *tls.Config) {
	t.Helper()
	ck, sk := key.NewNode(), key.NewNode()
	client, err := ck.TLSConfig([]string{"rayfish-test"}, key.ExpectPeer(sk.Public()))
	if err != nil {
		t.Fatal(err)
	}
	server, err = sk.TLSConfig([]string{"rayfish-test"}, key.ExpectPeer(ck.Public()))
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

// handshake runs a TLS handshake over net.Pipe and returns both ends'
// connection states.
func handshake(t *testing.T, ccfg, scfg *tls.Config) (client, server tls.ConnectionState) {
	t.Helper()
	cp, sp := net.Pipe()
	// Close the pipe, not the TLS conns: their close_notify would block on
	// the unbuffered pipe for five seconds.
	defer cp.Close()
	defer sp.Close()
	c, s := tls.Client(cp, ccfg), tls.Server(sp, scfg)
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake() }()
	if err := c.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	return c.ConnectionState(), s.ConnectionState()
}

// checkPair checks that two ends' keys match crosswise, differ between
// directions, and carry packets both ways.
func checkPair(t *testing.T, cs, cr, ss, sr Keys) {
	t.Helper()
	if cs != sr || cr != ss {
		t.Fatal("client send != server recv or client recv != server send")
	}
	if cs.Key == cr.Key || cs.Session == cr.Session {
		t.Fatal("both directions share a key or session id")
	}
	if cs.Key == ([keyLen]byte{}) {
		t.Fatal("zero key")
	}
	for _, dir := range []struct{ s, r Keys }{{cs, sr}, {ss, cr}} {
		snd, err := NewSender(&dir.s)
		if err != nil {
			t.Fatal(err)
		}
		rcv, err := NewReceiver(&dir.r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rcv.Open(nil, mustSeal(t, snd, []byte("ping")))
		if err != nil || string(got) != "ping" {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
}

func TestDeriveKeysTLS(t *testing.T) {
	ccfg, scfg := tlsConfigs(t)
	c1, s1 := handshake(t, ccfg, scfg)
	cs, cr, err := DeriveKeysEpoch(c1, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	ss, sr, err := DeriveKeysEpoch(s1, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkPair(t, cs, cr, ss, sr)

	// Both ends are this machine, so TLS chose our preference.
	if cs.Cipher != preferred() {
		t.Errorf("cipher %v from suite %s, preferred %v", cs.Cipher, tls.CipherSuiteName(c1.CipherSuite), preferred())
	}

	// Another session between the same keys: all different.
	c2, _ := handshake(t, ccfg, scfg)
	cs2, cr2, err := DeriveKeysEpoch(c2, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cs2.Key == cs.Key || cr2.Key == cr.Key || cs2.Session == cs.Session || cr2.Session == cr.Session {
		t.Fatal("two TLS sessions gave the same bulk keys")
	}

	// Epochs: independent keys, matching on both ends.
	ecs, ecr, err := DeriveKeysEpoch(c1, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	ess, esr, err := DeriveKeysEpoch(s1, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkPair(t, ecs, ecr, ess, esr)
	if ecs.Key == cs.Key || ecs.Session == cs.Session || ecr.Key == cr.Key {
		t.Fatal("epoch 1 keys equal epoch 0 keys")
	}
}

func TestDeriveKeysQUIC(t *testing.T) {
	ccfg, scfg := tlsConfigs(t)
	ln, err := quic.ListenAddr("127.0.0.1:0", scfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type accepted struct {
		c   *quic.Conn
		err error
	}
	acc := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept(ctx)
		acc <- accepted{c, err}
	}()
	cc, err := quic.DialAddr(ctx, ln.Addr().String(), ccfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.CloseWithError(0, "")
	a := <-acc
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer a.c.CloseWithError(0, "")

	cs, cr, err := DeriveKeysEpoch(cc.ConnectionState().TLS, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	ss, sr, err := DeriveKeysEpoch(a.c.ConnectionState().TLS, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkPair(t, cs, cr, ss, sr)
}

// preferred returns the cipher this machine is fast at: AES256GCM when the
// CPU has AES and carry-less multiplication instructions (the same test
// crypto/tls makes to order its TLS 1.3 suites), else ChaCha20Poly1305.
// The TLS handshake, and so DeriveKeysEpoch, picks AES256GCM only when
// both ends prefer it.
func preferred() Cipher {
	var hw bool
	switch runtime.GOARCH {
	case "amd64":
		hw = cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSE41 && cpu.X86.HasSSSE3
	case "arm64":
		hw = cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
	case "s390x":
		hw = cpu.S390X.HasAES && cpu.S390X.HasAESCTR && cpu.S390X.HasGHASH
	case "ppc64", "ppc64le":
		hw = true
	}
	if hw {
		return AES256GCM
	}
	return ChaCha20Poly1305
}

func TestDeriveKeysErrors(t *testing.T) {
	tests := []struct {
		name string
		cs   tls.ConnectionState
	}{
		{"zero", tls.ConnectionState{}},
		{"incomplete", tls.ConnectionState{Version: tls.VersionTLS13}},
		{"TLS 1.2", tls.ConnectionState{Version: tls.VersionTLS12, HandshakeComplete: true}},
		{"odd suite", tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true, CipherSuite: tls.TLS_RSA_WITH_AES_128_CBC_SHA}},
	}
	for _, tt := range tests {
		if _, _, err := DeriveKeysEpoch(tt.cs, true, 0); err == nil {
			t.Errorf("%s: DeriveKeysEpoch succeeded", tt.name)
		}
	}
}

func TestCipherForSuite(t *testing.T) {
	tests := []struct {
		suite uint16
		want  Cipher
	}{
		{tls.TLS_CHACHA20_POLY1305_SHA256, ChaCha20Poly1305},
		{tls.TLS_AES_128_GCM_SHA256, AES256GCM},
		{tls.TLS_AES_256_GCM_SHA384, AES256GCM},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0},
	}
	for _, tt := range tests {
		got, err := cipherForSuite(tt.suite)
		if got != tt.want || (err == nil) != (tt.want != 0) {
			t.Errorf("cipherForSuite(%s) = %v, %v; want %v", tls.CipherSuiteName(tt.suite), got, err, tt.want)
		}
	}
	if !bytes.Contains([]byte(Cipher(9).String()), []byte("9")) {
		t.Error("unknown cipher's String hides its number")
	}
}

// TestForgeryLimitEndsWithEpoch: a Receiver that has seen its cipher's
// forgery limit refuses even genuine packets, but only until the Sender
// moves on: within RekeyAfterTime (virtual time here) it asks for the
// next epoch, whose Receiver starts with no forgeries.
func TestForgeryLimitEndsWithEpoch(t *testing.T) {
	ccfg, scfg := tlsConfigs(t)
	client, server := handshake(t, ccfg, scfg)
	synctest.Test(t, func(t *testing.T) {
		pair := func(epoch uint32) (*Sender, *Receiver) {
			send, _, err := DeriveKeysEpoch(client, true, epoch)
			if err != nil {
				t.Fatal(err)
			}
			_, recv, err := DeriveKeysEpoch(server, false, epoch)
			if err != nil {
				t.Fatal(err)
			}
			s, err := NewSender(&send)
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReceiver(&recv)
			if err != nil {
				t.Fatal(err)
			}
			return s, r
		}
		s, r := pair(0)
		r.forgeries.Store(r.maxForgeries) // an attacker's flood, at its limit
		for range RekeyMinPackets {
			if _, err := r.Open(nil, mustSeal(t, s, []byte("genuine"))); err != ErrExhausted {
				t.Fatalf("exhausted epoch: %v, want ErrExhausted", err)
			}
		}
		time.Sleep(RekeyAfterTime)
		if !s.NeedsRekey() {
			t.Fatal("the sender stays on the exhausted epoch")
		}
		s, r = pair(1)
		if got, err := r.Open(nil, mustSeal(t, s, []byte("genuine"))); err != nil || string(got) != "genuine" {
			t.Fatalf("next epoch: %q, %v", got, err)
		}
	})
}
