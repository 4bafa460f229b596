package natlab

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// acceptOne returns the next stream l accepts.
func acceptOne(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func listenStream(t *testing.T, h *Host, port uint16) *Listener {
	t.Helper()
	l, err := h.ListenStream(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		srv := n.NewHost("srv", ipA)
		nat := n.NewNAT("nat", ipNAT, SymmetricNAT)
		client := nat.NewHost("client", ipLAN1)
		l := listenStream(t, srv, 80)
		if _, err := srv.ListenStream(80); !errors.Is(err, ErrPortInUse) {
			t.Fatalf("second ListenStream: %v", err)
		}

		c, err := client.DialContext(t.Context(), "tcp", "198.18.0.1:80")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s := acceptOne(t, l)
		if got := s.RemoteAddr().(*net.TCPAddr).AddrPort().Addr(); got != ipNAT {
			t.Errorf("server sees the client at %v, want the NAT's address", got)
		}
		if got := c.RemoteAddr().String(); got != "198.18.0.1:80" {
			t.Errorf("client's RemoteAddr %s", got)
		}

		// More than the buffer holds: Write waits for the reader.
		msg := bytes.Repeat([]byte("rayfish "), 3*streamBuf/8)
		werr := make(chan error, 1)
		go func() {
			_, err := c.Write(msg)
			werr <- err
		}()
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(s, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("read %v, equal %v", err, bytes.Equal(got, msg))
		}
		if err := <-werr; err != nil {
			t.Fatal(err)
		}

		// Deadlines, on virtual time.
		start := time.Now()
		s.SetReadDeadline(start.Add(time.Second))
		if _, err := s.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read past the deadline: %v", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("deadline fired after %v", d)
		}
		s.SetReadDeadline(time.Time{})

		// Close: the other end reads what was sent, then EOF; writes fail.
		c.Write([]byte("last"))
		c.Close()
		if b, err := io.ReadAll(s); err != nil || string(b) != "last" {
			t.Fatalf("after Close: read %q, %v", b, err)
		}
		if _, err := s.Write([]byte("x")); err == nil {
			t.Error("write to a closed stream succeeded")
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read on the closed end: %v", err)
		}
	})
}

func TestStreamDialFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		a := n.NewHost("a", ipA)
		b := n.NewHost("b", ipB)
		nat := n.NewNAT("nat", ipNAT, EasyNAT)
		lan := nat.NewHost("lan", ipLAN1)
		listenStream(t, lan, 22)
		l := listenStream(t, b, 443)

		// Nothing listens: refused at once.
		if _, err := a.DialStream(t.Context(), netip.AddrPortFrom(ipB, 444)); !errors.Is(err, ErrRefused) {
			t.Errorf("dial to a closed port: %v", err)
		}
		// A NAT lets no dial in; a rule drops the dial: both time out.
		timeout := func(dst netip.AddrPort) {
			t.Helper()
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			start := time.Now()
			if _, err := a.DialStream(ctx, dst); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("dial %v: %v, want a timeout", dst, err)
			}
			if d := time.Since(start); d != 3*time.Second {
				t.Errorf("dial %v gave up after %v", dst, d)
			}
		}
		timeout(netip.AddrPortFrom(ipNAT, 22))
		unblock := n.Block(ipA, ipB)
		timeout(netip.AddrPortFrom(ipB, 443))
		unblock()
		if _, err := a.DialStream(t.Context(), netip.AddrPortFrom(ipB, 443)); err != nil {
			t.Fatalf("dial after unblock: %v", err)
		}
		acceptOne(t, l)
		if _, err := a.DialContext(t.Context(), "tcp", "relay.example:443"); err == nil {
			t.Error("dial by name succeeded")
		}
		// A closed listener refuses, and its Accept returns.
		l.Close()
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v", err)
		}
		if _, err := a.DialStream(t.Context(), netip.AddrPortFrom(ipB, 443)); !errors.Is(err, ErrRefused) {
			t.Errorf("dial to a closed listener: %v", err)
		}
	})
}

// TestMappingTimeout: an idle mapping expires after its timeout, on
// virtual time.
func TestMappingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		nat := n.NewNAT("nat", ipNAT, NATConfig{MappingTimeout: time.Minute})
		in := listen(t, nat.NewHost("in", ipLAN1), 5000)
		out := listen(t, n.NewHost("a", ipA), 1000)
		send(t, in, out.LocalAddrPort(), "open")
		_, m, ok := recv(t, out)
		if !ok {
			t.Fatal("nothing arrived")
		}
		time.Sleep(59 * time.Second)
		send(t, out, m, "in time")
		if _, _, ok := recv(t, in); !ok {
			t.Fatal("mapping gone before its timeout")
		}
		time.Sleep(time.Minute)
		send(t, out, m, "too late")
		if _, _, ok := recv(t, in); ok {
			t.Fatal("mapping outlived its timeout")
		}
	})
}
