package relay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/stun"
)

func TestTwoClientsExchange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{})
		a, b := key.NewNode(), key.NewNode()
		ia, ib := newInbox(), newInbox()
		ca := dialTest(t, url, a, slowOpts(url, ia.options()))
		cb := dialTest(t, url, b, ib.options())

		for i := range 10 {
			msg := "a to b " + strconv.Itoa(i)
			if err := ca.Send(b.Public(), []byte(msg)); err != nil {
				t.Fatal(err)
			}
			ib.expectPacket(t, a.Public(), msg)
		}
		if err := cb.Send(a.Public(), []byte("b to a")); err != nil {
			t.Fatal(err)
		}
		ia.expectPacket(t, b.Public(), "b to a")

		// A packet of the largest allowed size passes; one byte more is
		// refused by the client before it reaches the wire.
		big := bytes.Repeat([]byte{0x5a}, ca.MaxPacket())
		if err := ca.Send(b.Public(), big); err != nil {
			t.Fatal(err)
		}
		ib.expectPacket(t, a.Public(), string(big))
		if err := ca.Send(b.Public(), append(big, 0)); !errors.Is(err, ErrPacketTooLarge) {
			t.Errorf("oversized Send: err = %v, want ErrPacketTooLarge", err)
		}

		rtt, err := ca.Ping(context.Background())
		if err != nil || rtt <= 0 {
			t.Errorf("Ping = %v, %v", rtt, err)
		}
		st := s.Stats()
		if st.Clients != 2 || st.Accepted != 2 || st.PacketsForwarded != 12 {
			t.Errorf("stats %+v: want 2 clients, 2 accepted, 12 forwarded", st)
		}
		if want := uint64(10*len("a to b 0") + len("b to a") + len(big)); st.BytesForwarded != want {
			t.Errorf("BytesForwarded = %d, want %d", st.BytesForwarded, want)
		}

		ca.Close()
		if err := ca.Send(b.Public(), []byte("x")); !errors.Is(err, ErrClosed) {
			t.Errorf("Send after Close: err = %v, want ErrClosed", err)
		}
		enginetest.WaitFor(t, 5*time.Second, "server to notice the close", func() bool { return s.Stats().Clients == 1 })
	})
}

func TestTLS(t *testing.T) {
	enginetest.CheckLeaks(t)
	s := NewServer(ServerConfig{})
	ts := httptest.NewUnstartedServer(s.Handler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing Dial below
	ts.StartTLS()
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	url := ts.URL + "/relay"
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())

	a, b := key.NewNode(), key.NewNode()
	ia, ib := newInbox(), newInbox()
	optsA, optsB := ia.options(), ib.options()
	optsA.RootCAs, optsB.RootCAs = roots, roots
	ca := dialTest(t, url, a, optsA)
	dialTest(t, url, b, optsB)
	if err := ca.Send(b.Public(), []byte("over TLS")); err != nil {
		t.Fatal(err)
	}
	ib.expectPacket(t, a.Public(), "over TLS")

	// Without the test CA the certificate does not verify.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, url, a, ClientOptions{})
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Errorf("Dial without the CA: err = %v, want an unknown authority error", err)
	}
}

func TestTLSBindingMismatchRefused(t *testing.T) {
	enginetest.CheckLeaks(t)
	// A server behind TLS sees a binding; a signature over the
	// challenge alone (as a client on plain HTTP would make) is refused.
	s := NewServer(ServerConfig{})
	ts := httptest.NewUnstartedServer(s.Handler())
	ts.StartTLS()
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte("GET /relay HTTP/1.1\r\nHost: x\r\nUpgrade: rayfish-relay\r\nConnection: Upgrade\r\n\r\n"))
	raw := &rawConn{conn: conn}
	raw.br = bufio.NewReader(conn)
	if resp, err := http.ReadResponse(raw.br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v", err)
	}
	_, challenge, err := ReadFrame(raw.br, make([]byte, 64))
	if err != nil {
		t.Fatal(err)
	}
	raw.write(t, FrameClientAuth, clientAuth(key.NewNode(), challenge, nil))
	if msg := raw.expectClosed(t); msg != "authentication failed" {
		t.Errorf("Error frame %q, want authentication failed", msg)
	}
}

func TestSendBeforeAuthClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{})
		r := rawUpgrade(t, url)
		r.write(t, FrameSendPacket, append(make([]byte, keyLen), "sneaky"...))
		if msg := r.expectClosed(t); msg != "expected ClientAuth" {
			t.Errorf("Error frame %q, want expected ClientAuth", msg)
		}
		enginetest.WaitFor(t, 5*time.Second, "auth failure count", func() bool { return s.Stats().AuthFailures == 1 })
		if st := s.Stats(); st.Clients != 0 || st.Accepted != 0 {
			t.Errorf("stats %+v: unauthenticated client counted", st)
		}
	})
}

func TestBadSignatureRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{})
		victim, attacker := key.NewNode(), key.NewNode()
		// The victim is connected; the attacker claims its key.
		iv := newInbox()
		dialTest(t, url, victim, iv.options())

		r := rawUpgrade(t, url)
		payload := clientAuth(attacker, r.challenge, nil)
		vp := victim.Public()
		copy(payload, vp[:])
		r.write(t, FrameClientAuth, payload)
		if msg := r.expectClosed(t); msg != "authentication failed" {
			t.Errorf("Error frame %q, want authentication failed", msg)
		}
		// A signature over another challenge (a replay) fails too.
		r2 := rawUpgrade(t, url)
		r2.write(t, FrameClientAuth, clientAuth(attacker, newChallenge(), nil))
		if msg := r2.expectClosed(t); msg != "authentication failed" {
			t.Errorf("replayed auth: Error frame %q, want authentication failed", msg)
		}
		st := s.Stats()
		if st.AuthFailures != 2 || st.Clients != 1 || st.Replaced != 0 {
			t.Errorf("stats %+v: want 2 auth failures and the victim still connected", st)
		}
	})
}

func TestAuthTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{AuthTimeout: 200 * time.Millisecond})
		r := rawUpgrade(t, url)
		start := time.Now()
		r.expectClosed(t)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("closed after %v, want about 200ms", d)
		}
		enginetest.WaitFor(t, 5*time.Second, "auth failure count", func() bool { return s.Stats().AuthFailures == 1 })
	})
}

func TestAllowHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		member, stranger := key.NewNode(), key.NewNode()
		_, url := testServer(t, ServerConfig{Allow: func(k key.NodePublic) bool { return k == member.Public() }})
		dialTest(t, url, member, ClientOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := Dial(ctx, url, stranger, clientOpts(url, ClientOptions{}))
		var se *ServerError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, "not allowed") {
			t.Errorf("stranger: err = %v, want a ServerError saying not allowed", err)
		}
	})
}

func TestOversizedFrameClosesOnlyThatClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{MaxFrame: 2048})
		a, b, bad := key.NewNode(), key.NewNode(), key.NewNode()
		ib := newInbox()
		ca := dialTest(t, url, a, ClientOptions{})
		dialTest(t, url, b, ib.options())
		if got := ca.MaxPacket(); got != 2048-keyLen {
			t.Errorf("MaxPacket = %d, want %d", got, 2048-keyLen)
		}

		r := rawUpgrade(t, url)
		r.auth(t, bad)
		r.write(t, FrameSendPacket, make([]byte, 2049))
		if msg := r.expectClosed(t); msg != "frame too large" {
			t.Errorf("Error frame %q, want frame too large", msg)
		}
		if err := ca.Send(b.Public(), []byte("still working")); err != nil {
			t.Fatal(err)
		}
		ib.expectPacket(t, a.Public(), "still working")
		enginetest.WaitFor(t, 5*time.Second, "the bad client to be gone", func() bool { return s.Stats().Clients == 2 })
		if st := s.Stats(); st.FramesTooLarge != 1 {
			t.Errorf("stats %+v: want 1 frame too large", st)
		}
	})
}

func TestProtocolErrorCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tests := []struct {
			name    string
			typ     FrameType
			payload []byte
			want    string
		}{
			{"short SendPacket", FrameSendPacket, make([]byte, keyLen-1), "short SendPacket"},
			{"bad Ping", FramePing, []byte("1234"), "Ping must carry 8 bytes"},
			{"second ClientAuth", FrameClientAuth, make([]byte, clientAuthLen), "unexpected ClientAuth"},
			{"server frame", FrameRecvPacket, make([]byte, keyLen), "unexpected RecvPacket"},
		}
		s, url := testServer(t, ServerConfig{})
		for _, tt := range tests {
			r := rawUpgrade(t, url)
			r.auth(t, key.NewNode())
			r.write(t, tt.typ, tt.payload)
			if msg := r.expectClosed(t); msg != tt.want {
				t.Errorf("%s: Error frame %q, want %q", tt.name, msg, tt.want)
			}
		}
		enginetest.WaitFor(t, 5*time.Second, "protocol error count", func() bool { return s.Stats().ProtocolErrors == uint64(len(tests)) })
	})
}

func TestUnknownFrameIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, url := testServer(t, ServerConfig{})
		r := rawUpgrade(t, url)
		r.auth(t, key.NewNode())
		r.write(t, FrameType(0x7f), []byte("from the future"))
		r.write(t, FramePing, []byte("12345678"))
		typ, p, err := ReadFrame(r.br, make([]byte, 64))
		if err != nil || typ != FramePong || string(p) != "12345678" {
			t.Fatalf("got %v %q %v, want Pong", typ, p, err)
		}
	})
}

func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			rate    = 10_000
			pktSize = 1000
			sent    = 100
		)
		// MaxFrame small enough that it does not raise the burst.
		s, url := testServer(t, ServerConfig{RateBytesPerSec: rate, RateBurst: rate, MaxFrame: 2048})
		a, b, c := key.NewNode(), key.NewNode(), key.NewNode()
		var got counter
		ca := dialTest(t, url, a, ClientOptions{})
		dialTest(t, url, b, ClientOptions{OnPacket: func(src key.NodePublic, _ []byte) { got.add(src) }})
		cc := dialTest(t, url, c, ClientOptions{})
		if si := ca.ServerInfo(); si.RateBytesPerSec != rate || si.RateBurst != rate {
			t.Errorf("ServerInfo %+v does not announce the limit", si)
		}

		pkt := make([]byte, pktSize)
		start := time.Now()
		for range sent {
			if err := ca.Send(b.Public(), pkt); err != nil {
				t.Fatal(err)
			}
		}
		syncClient(t, ca)
		elapsed := time.Since(start)
		passed := sent - int(s.Stats().DropRateLimited)
		// The burst lets 10 through, plus what the bucket refilled meanwhile.
		maxPassed := rate/pktSize + int(elapsed.Seconds()*rate/pktSize) + 1
		if passed < rate/pktSize || passed > maxPassed {
			t.Errorf("%d of %d packets passed in %v, want between %d and %d", passed, sent, elapsed, rate/pktSize, maxPassed)
		}
		enginetest.WaitFor(t, 5*time.Second, "the packets that passed", func() bool { return got.get(a.Public()) == passed })

		// c has its own bucket: its packets are unaffected by a's excess.
		for range 5 {
			if err := cc.Send(b.Public(), pkt); err != nil {
				t.Fatal(err)
			}
		}
		enginetest.WaitFor(t, 5*time.Second, "all of c's packets", func() bool { return got.get(c.Public()) == 5 })
		if st := s.Stats(); st.DropRateLimited != uint64(sent-passed) {
			t.Errorf("DropRateLimited = %d, want %d (c's packets must not be limited)", st.DropRateLimited, sent-passed)
		}
	})
}

func TestPeerGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{})
		a, b, nobody := key.NewNode(), key.NewNode(), key.NewNode()
		ia, ib := newInbox(), newInbox()
		ca := dialTest(t, url, a, ia.options())
		cb := dialTest(t, url, b, ib.options())

		// Sending to a key that is not connected: one PeerGone, however
		// many packets.
		for range 3 {
			if err := ca.Send(nobody.Public(), []byte("hello?")); err != nil {
				t.Fatal(err)
			}
		}
		ia.expectGone(t, nobody.Public())
		syncClient(t, ca) // the relay has handled all three
		if st := s.Stats(); st.DropUnknownDest != 3 {
			t.Errorf("DropUnknownDest = %d, want 3", st.DropUnknownDest)
		}
		// Any further PeerGone was queued before the Pong; let a round trip
		// through b flush a's queue on the relay.
		if err := ca.Send(b.Public(), []byte("ping b")); err != nil {
			t.Fatal(err)
		}
		ib.expectPacket(t, a.Public(), "ping b")
		cb.Send(a.Public(), []byte("pong a"))
		ia.expectPacket(t, b.Public(), "pong a")
		if n := len(ia.gone); n != 0 {
			t.Errorf("%d more PeerGone for the same unknown key", n)
		}

		// a sends to b; when b leaves, a is told. b never sent to a, so a's
		// leaving later tells nobody.
		if err := ca.Send(b.Public(), []byte("hi b")); err != nil {
			t.Fatal(err)
		}
		ib.expectPacket(t, a.Public(), "hi b")
		cb.Close()
		ia.expectGone(t, b.Public())
	})
}

func TestNewerConnectionReplacesOlder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{})
		a, b := key.NewNode(), key.NewNode()
		ia, ib1, ib2 := newInbox(), newInbox(), newInbox()
		ca := dialTest(t, url, a, ia.options())
		b1 := dialTest(t, url, b, ib1.options())
		if err := ca.Send(b.Public(), []byte("to first")); err != nil {
			t.Fatal(err)
		}
		ib1.expectPacket(t, a.Public(), "to first")

		dialTest(t, url, b, ib2.options())
		select {
		case <-b1.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("older connection not closed")
		}
		var se *ServerError
		if err := b1.Err(); !errors.As(err, &se) || !strings.Contains(se.Msg, "replaced") {
			t.Errorf("older connection ended with %v, want a ServerError saying replaced", err)
		}
		if err := ca.Send(b.Public(), []byte("to second")); err != nil {
			t.Fatal(err)
		}
		ib2.expectPacket(t, a.Public(), "to second")
		if n := len(ia.gone); n != 0 {
			t.Errorf("replacing b sent %d PeerGone to a", n)
		}
		st := s.Stats()
		if st.Replaced != 1 || st.Clients != 2 {
			t.Errorf("stats %+v: want 1 replaced, 2 clients", st)
		}
	})
}

func TestServerCloseStopsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, url := newLab(t)
		s := NewServer(ServerConfig{})
		served := make(chan error, 1)
		ln := l.listen(t)
		go func() { served <- s.Serve(ln) }()
		c := dialTest(t, url, key.NewNode(), ClientOptions{})
		rawUpgrade(t, url) // mid-handshake

		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("client not disconnected by Close")
		}
		if err := s.Serve(l.listen(t)); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve after Close returned %v", err)
		}
	})
}

func TestServeHTTPRejectsPlainRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, url := testServer(t, ServerConfig{})
		client := &http.Client{Transport: &http.Transport{DialContext: dialer(url)}}
		defer client.CloseIdleConnections()
		tests := []struct {
			path string
			want int
		}{
			{"/relay", http.StatusUpgradeRequired},
			{"/healthz", http.StatusOK},
			{"/", http.StatusOK},
			{"/nothing", http.StatusNotFound},
		}
		for _, tt := range tests {
			resp, err := client.Get(url + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET %s: %s, want %d", tt.path, resp.Status, tt.want)
			}
		}
		// Dialing something that is not a relay fails cleanly.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := Dial(ctx, url+"/healthz", key.NewNode(), clientOpts(url, ClientOptions{})); err == nil {
			t.Error("Dial to /healthz succeeded")
		}
	})
}

func TestDialErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, url := range []string{"ftp://example.com", "http://", "::not a url"} {
			if _, err := Dial(ctx, url, key.NewNode(), ClientOptions{}); err == nil {
				t.Errorf("Dial(%q) succeeded", url)
			}
		}
		// A server that accepts and says nothing: the context bounds Dial.
		l, silent := newLab(t)
		ln := l.listen(t)
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				accepted <- c
			}
		}()
		short, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel2()
		_, err := Dial(short, silent, key.NewNode(), clientOpts(silent, ClientOptions{}))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Dial to a silent server: err = %v, want deadline exceeded", err)
		}
		(<-accepted).Close()
	})
}

func TestSTUN(t *testing.T) {
	enginetest.CheckLeaks(t)
	s := NewServer(ServerConfig{})
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeSTUN(pc) }()
	client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := stun.Query(ctx, client, pc.LocalAddr().(*net.UDPAddr).AddrPort())
	if err != nil {
		t.Fatal(err)
	}
	if want := client.LocalAddr().(*net.UDPAddr).AddrPort(); got != want {
		t.Errorf("STUN says %v, want %v", got, want)
	}
	s.Close()
	if err := <-served; err != nil {
		t.Errorf("ServeSTUN returned %v", err)
	}
}

func TestListenAndServe(t *testing.T) {
	enginetest.CheckLeaks(t)
	// Find free ports; another process could take them meanwhile, but
	// on a test machine that is unlikely.
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := tcp.Addr().String()
	tcp.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stunPort := udp.LocalAddr().(*net.UDPAddr).Port
	udp.Close()

	s := NewServer(ServerConfig{Addr: addr, STUNPort: stunPort})
	served := make(chan error, 1)
	go func() { served <- s.ListenAndServe() }()

	a, b := key.NewNode(), key.NewNode()
	ib := newInbox()
	var ca *Client
	enginetest.WaitFor(t, 5*time.Second, "the relay to listen", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := Dial(ctx, "http://"+addr, a, ClientOptions{})
		ca = c
		return err == nil
	})
	defer ca.Close()
	dialTest(t, "http://"+addr, b, ib.options())
	ca.Send(b.Public(), []byte("via ListenAndServe"))
	ib.expectPacket(t, a.Public(), "via ListenAndServe")

	client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := stun.Query(ctx, client, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(stunPort))); err != nil {
		t.Errorf("STUN on --stun-port: %v", err)
	}
	s.Close()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("ListenAndServe returned %v", err)
	}
}

func TestHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{})
		healthA := make(chan string, 10)
		healthB := make(chan string, 10)
		dialTest(t, url, key.NewNode(), ClientOptions{OnHealth: func(m string) { healthA <- m }})
		expect := func(ch chan string, want string) {
			t.Helper()
			select {
			case got := <-ch:
				if got != want {
					t.Errorf("health %q, want %q", got, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no health message %q", want)
			}
		}
		s.SetHealth("shutting down soon")
		expect(healthA, "shutting down soon")
		// A client connecting later learns it on connecting.
		dialTest(t, url, key.NewNode(), ClientOptions{OnHealth: func(m string) { healthB <- m }})
		expect(healthB, "shutting down soon")
		s.SetHealth("")
		expect(healthA, "")
		expect(healthB, "")
	})
}

func TestRevalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := key.NewNode(), key.NewNode()
		var mu sync.Mutex
		allowed := map[key.NodePublic]bool{a.Public(): true, b.Public(): true}
		s, url := testServer(t, ServerConfig{Allow: func(k key.NodePublic) bool {
			mu.Lock()
			defer mu.Unlock()
			return allowed[k]
		}})
		ca := dialTest(t, url, a, ClientOptions{})
		cb := dialTest(t, url, b, ClientOptions{})
		if n := s.Revalidate(); n != 0 {
			t.Errorf("Revalidate with nothing changed closed %d", n)
		}
		mu.Lock()
		delete(allowed, b.Public())
		mu.Unlock()
		if n := s.Revalidate(); n != 1 {
			t.Errorf("Revalidate closed %d, want 1", n)
		}
		select {
		case <-cb.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("removed node still connected")
		}
		var se *ServerError
		if !errors.As(cb.Err(), &se) || !strings.Contains(se.Msg, "no longer allowed") {
			t.Errorf("removed node closed with %v", cb.Err())
		}
		if ca.Err() != nil {
			t.Errorf("remaining node closed: %v", ca.Err())
		}
	})
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"relay full", "relay full"},
		{"bell\a and newline\n", "bell? and newline?"},
		{"bad utf8 \xff", "bad utf8 ?"},
		{"ünïcødé", "ünïcødé"},
	}
	for _, tt := range tests {
		if got := errorText([]byte(tt.in)); got != tt.want {
			t.Errorf("errorText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := errorText(bytes.Repeat([]byte("x"), 1000)); len(got) != maxErrorTextLen {
		t.Errorf("long text kept %d bytes, want %d", len(got), maxErrorTextLen)
	}
}
