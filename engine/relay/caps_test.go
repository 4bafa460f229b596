package relay

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
)

// dialAll dials url n times, each as a new key, and returns how many
// connections the relay took; the test's cleanup closes them.
func dialAll(t *testing.T, url string, n int) (ok int, lastErr error) {
	t.Helper()
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := Dial(ctx, url, key.NewNode(), clientOpts(url, ClientOptions{}))
		cancel()
		if err != nil {
			lastErr = err
			continue
		}
		t.Cleanup(func() { c.Close() })
		ok++
	}
	return ok, lastErr
}

// TestDefaultConnCapPerIP is issue 12 L2: with a zero config, one source
// address gets DefaultMaxConnsPerIP relay connections, no more.
func TestDefaultConnCapPerIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{})
		const tries = DefaultMaxConnsPerIP + 8
		ok, err := dialAll(t, url, tries)
		t.Logf("%d of %d connections from one address accepted; last error: %v", ok, tries, err)
		if ok != DefaultMaxConnsPerIP {
			t.Errorf("%d connections accepted, want %d", ok, DefaultMaxConnsPerIP)
		}
		if err == nil {
			t.Error("no connection refused")
		}
		if got := s.Stats().ConnsRefused; got != tries-DefaultMaxConnsPerIP {
			t.Errorf("ConnsRefused %d, want %d", got, tries-DefaultMaxConnsPerIP)
		}
	})
}

func TestConnCaps(t *testing.T) {
	for _, tc := range []struct {
		name          string
		total, perIP  int
		tries, wantOK int
	}{
		{"total", 3, -1, 5, 3},
		{"per IP", -1, 2, 5, 2},
		{"both, per IP lower", 4, 2, 5, 2},
		{"no caps", -1, -1, 40, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, url := testServer(t, ServerConfig{MaxConns: tc.total, MaxConnsPerIP: tc.perIP})
				if ok, _ := dialAll(t, url, tc.tries); ok != tc.wantOK {
					t.Errorf("%d of %d accepted, want %d", ok, tc.tries, tc.wantOK)
				}
			})
		})
	}
}

// TestConnCapSlotReleased checks that a closed connection frees its slot.
func TestConnCapSlotReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{MaxConnsPerIP: 1})
		a := dialTest(t, url, key.NewNode(), ClientOptions{})
		if ok, _ := dialAll(t, url, 1); ok != 0 {
			t.Fatal("second connection accepted over a cap of 1")
		}
		a.Close()
		enginetest.WaitFor(t, 5*time.Second, "the slot to free", func() bool { return s.Stats().Clients == 0 })
		enginetest.WaitFor(t, 5*time.Second, "a new connection", func() bool {
			ok, _ := dialAll(t, url, 1)
			return ok == 1
		})
	})
}

// TestIdleConnsCapped: under Serve, TCP connections that never send a
// request count against the caps too.
func TestIdleConnsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{MaxConnsPerIP: 3})
		addr := strings.TrimPrefix(url, "http://")
		var conns []net.Conn
		for range 4 {
			c, err := dialer(url)(t.Context(), "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns = append(conns, c)
		}
		// The fourth is closed at once; the first three stay open.
		conns[3].SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conns[3].Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("fourth idle connection: read %v, want it closed", err)
		}
		conns[0].SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := conns[0].Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("first idle connection: read %v, want it open", err)
		}
		if got := s.Stats().ConnsRefused; got != 1 {
			t.Errorf("ConnsRefused %d, want 1", got)
		}
		conns[0].Close()
		enginetest.WaitFor(t, 5*time.Second, "the slot to free", func() bool {
			ok, _ := dialAll(t, url, 1)
			return ok == 1
		})
	})
}

// TestMountedConnCap: mounted on another HTTP server, the relay counts
// its relay connections itself and refuses more with HTTP 503.
func TestMountedConnCap(t *testing.T) {
	enginetest.CheckLeaks(t)
	s := NewServer(ServerConfig{MaxConnsPerIP: 2})
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	defer s.Close()
	ok, err := dialAll(t, hs.URL, 3)
	if ok != 2 || err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("%d of 3 accepted, last error %v; want 2 and HTTP 503", ok, err)
	}
}

func TestConnLimiter(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	l := newConnLimiter(3, 2)
	steps := []struct {
		acquire bool // else release
		ip      netip.Addr
		want    bool
	}{
		{true, a, true},
		{true, a, true},
		{true, a, false}, // per IP
		{true, b, true},
		{true, b, false}, // total
		{false, a, true},
		{true, b, true},
		{true, b, false}, // per IP and total
		{false, b, true},
		{false, b, true},
		{true, a, true},
	}
	for i, st := range steps {
		if !st.acquire {
			l.release(st.ip)
			continue
		}
		if got := l.acquire(st.ip); got != st.want {
			t.Fatalf("step %d: acquire(%v) = %v, want %v", i, st.ip, got, st.want)
		}
	}
	if l.total != 2 || len(l.perIP) != 1 {
		t.Errorf("total %d, %d addresses; want 2, 1", l.total, len(l.perIP))
	}
}

func TestRemoteIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:443":          "192.0.2.1",
		"[::ffff:192.0.2.1]:443": "192.0.2.1",
		"[fe80::1%eth0]:443":     "fe80::1",
		"[2001:db8::1]:1":        "2001:db8::1",
		"garbage":                "invalid IP",
	} {
		if got := remoteIP(in).String(); got != want {
			t.Errorf("remoteIP(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestRateDefaults(t *testing.T) {
	for _, tc := range []struct {
		in, want uint64
	}{
		{0, DefaultRateBytesPerSec},
		{NoRateLimit, 0},
		{1 << 20, 1 << 20},
	} {
		c := ServerConfig{RateBytesPerSec: tc.in}
		c.setDefaults()
		if c.RateBytesPerSec != tc.want {
			t.Errorf("RateBytesPerSec %d became %d, want %d", tc.in, c.RateBytesPerSec, tc.want)
		}
	}
}

// TestDefaultRateLimit is issue 12 L2: with a zero config, a client that
// sends far more than DefaultRateBytesPerSec in a moment gets packets
// dropped.
func TestDefaultRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, url := testServer(t, ServerConfig{})
		c := dialTest(t, url, key.NewNode(), ClientOptions{})
		nobody := key.NewNode().Public()
		pkt := make([]byte, 60<<10)
		var sent int
		deadline := time.Now().Add(10 * time.Second)
		for s.Stats().DropRateLimited == 0 && sent < 8*DefaultRateBytesPerSec && time.Now().Before(deadline) {
			if err := c.Send(nobody, pkt); errors.Is(err, ErrSendQueueFull) {
				time.Sleep(time.Millisecond)
				continue
			} else if err != nil {
				t.Fatal(err)
			}
			sent += len(pkt)
		}
		syncClient(t, c)
		st := s.Stats()
		t.Logf("sent %d MiB at once: %d packets dropped by the rate limit", sent>>20, st.DropRateLimited)
		if st.DropRateLimited == 0 {
			t.Error("no packet dropped by the default rate limit")
		}
	})
}
