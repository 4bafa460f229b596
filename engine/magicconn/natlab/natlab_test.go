package natlab

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

var (
	ipA    = netip.MustParseAddr("198.18.0.1")
	ipB    = netip.MustParseAddr("198.18.0.2")
	ipNAT  = netip.MustParseAddr("198.18.1.1")
	ipLAN1 = netip.MustParseAddr("10.0.0.1")
	ipLAN2 = netip.MustParseAddr("10.0.0.2")
)

func listen(t *testing.T, h *Host, port uint16) *Conn {
	t.Helper()
	c, err := h.Listen(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c *Conn, dst netip.AddrPort, msg string) {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort([]byte(msg), dst); err != nil {
		t.Fatalf("send to %v: %v", dst, err)
	}
}

// recv returns the next datagram on c, or ok false if none arrives soon.
func recv(t *testing.T, c *Conn) (msg string, src netip.AddrPort, ok bool) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 2048)
	n, src, err := c.ReadFromUDPAddrPort(buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "", src, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n]), src, true
}

func TestDirect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		a := listen(t, n.NewHost("a", ipA), 1000)
		b := listen(t, n.NewHost("b", ipB), 2000)
		send(t, a, netip.AddrPortFrom(ipB, 2000), "hi")
		msg, src, ok := recv(t, b)
		if !ok || msg != "hi" || src != netip.AddrPortFrom(ipA, 1000) {
			t.Fatalf("got %q from %v (%v)", msg, src, ok)
		}
		// No socket on the port.
		send(t, a, netip.AddrPortFrom(ipB, 2001), "lost")
		if st := n.Stats(); st.Delivered != 1 || st.DroppedNoRoute != 1 {
			t.Fatalf("stats %+v", st)
		}
		// No address of the family.
		if _, err := a.WriteToUDPAddrPort([]byte("x"), netip.MustParseAddrPort("[2001:db8::1]:1")); !errors.Is(err, ErrNoRoute) {
			t.Fatalf("send to IPv6 from an IPv4-only host: %v", err)
		}
		// Too big.
		send(t, a, netip.AddrPortFrom(ipB, 2000), string(make([]byte, DefaultMaxPayload+1)))
		if _, _, ok := recv(t, b); ok {
			t.Fatal("oversized datagram delivered")
		}
		if _, err := n.NewHost("a2", netip.MustParseAddr("198.18.0.9")).Listen(0); err != nil {
			t.Fatal(err)
		}
	})
}

// TestNAT checks each kind of NAT against the RFC 4787 behaviours: which
// outside port a LAN socket gets per destination, and which outside
// senders get in.
func TestNAT(t *testing.T) {
	tests := []struct {
		name string
		cfg  NATConfig
		// samePortOtherIP: the mapping toward another IP keeps the port.
		samePortOtherIP bool
		// samePortOtherPort: ... toward another port of the same IP.
		samePortOtherPort bool
		// fromOtherPort: a port of A the socket never sent to gets in
		// through the mapping made toward A:1000.
		fromOtherPort bool
	}{
		{"easy", EasyNAT, true, true, true},
		{"port-restricted", PortRestrictedNAT, true, true, false},
		{"address-dependent", AddressDependentNAT, false, true, true},
		{"symmetric", SymmetricNAT, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := NewNetwork()
				nat := n.NewNAT("nat", ipNAT, tt.cfg)
				inside := listen(t, nat.NewHost("in", ipLAN1), 5000)
				hostA, hostB := n.NewHost("a", ipA), n.NewHost("b", ipB)
				a1, a2 := listen(t, hostA, 1000), listen(t, hostA, 1001)
				b1 := listen(t, hostB, 1000)

				outside := func(c *Conn) netip.AddrPort {
					t.Helper()
					_, src, ok := recv(t, c)
					if !ok {
						t.Fatal("nothing arrived")
					}
					if src.Addr() != ipNAT {
						t.Fatalf("source %v, want the NAT's address", src)
					}
					return src
				}
				send(t, inside, a1.LocalAddrPort(), "1")
				m1 := outside(a1)
				send(t, inside, b1.LocalAddrPort(), "2")
				m2 := outside(b1)
				send(t, inside, a2.LocalAddrPort(), "3")
				m3 := outside(a2)
				if got := m1 == m2; got != tt.samePortOtherIP {
					t.Errorf("toward another IP: %v then %v", m1, m2)
				}
				if got := m1 == m3; got != tt.samePortOtherPort {
					t.Errorf("toward another port: %v then %v", m1, m3)
				}

				// Replies come in.
				send(t, a1, m1, "reply")
				if msg, _, ok := recv(t, inside); !ok || msg != "reply" {
					t.Fatalf("reply not delivered: %q", msg)
				}
				// A host the socket never sent to.
				stranger := listen(t, n.NewHost("c", netip.MustParseAddr("198.18.0.3")), 1000)
				send(t, stranger, m1, "stranger")
				if _, _, ok := recv(t, inside); ok != (tt.cfg.Filtering == EndpointIndependent) {
					t.Errorf("stranger got in: %v", ok)
				}
				// Another port of a host the mapping talked to.
				a3 := listen(t, hostA, 1002)
				send(t, a3, m1, "other port")
				if _, _, ok := recv(t, inside); ok != tt.fromOtherPort {
					t.Errorf("other port of A got in: %v, want %v", ok, tt.fromOtherPort)
				}
			})
		})
	}
}

func TestLANAndHairpin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		nat := n.NewNAT("nat", ipNAT, EasyNAT)
		c1 := listen(t, nat.NewHost("1", ipLAN1), 1)
		c2 := listen(t, nat.NewHost("2", ipLAN2), 2)
		send(t, c1, c2.LocalAddrPort(), "lan")
		if msg, src, ok := recv(t, c2); !ok || msg != "lan" || src != c1.LocalAddrPort() {
			t.Fatalf("LAN: %q from %v", msg, src)
		}
		if nat.Mappings() != 0 {
			t.Fatal("LAN traffic made a mapping")
		}
	})
}

func TestResetAndMove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		nat := n.NewNAT("nat", ipNAT, EasyNAT)
		h := nat.NewHost("in", ipLAN1)
		in := listen(t, h, 5000)
		out := listen(t, n.NewHost("a", ipA), 1000)

		send(t, in, out.LocalAddrPort(), "1")
		_, m1, _ := recv(t, out)
		nat.Reset()
		send(t, out, m1, "to the old mapping")
		if _, _, ok := recv(t, in); ok {
			t.Fatal("old mapping survived Reset")
		}
		send(t, in, out.LocalAddrPort(), "2")
		_, m2, _ := recv(t, out)
		if m2 == m1 || m2.Addr() != ipNAT {
			t.Fatalf("after Reset: %v, before %v", m2, m1)
		}

		h.Move(nil, ipB)
		send(t, in, out.LocalAddrPort(), "3")
		if _, src, ok := recv(t, out); !ok || src != netip.AddrPortFrom(ipB, 5000) {
			t.Fatalf("after Move: from %v", src)
		}
	})
}

func TestRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		a := listen(t, n.NewHost("a", ipA), 1)
		b := listen(t, n.NewHost("b", ipB), 2)
		unblock := n.Block(ipA, ipB)
		send(t, a, b.LocalAddrPort(), "x")
		send(t, b, a.LocalAddrPort(), "y")
		if _, _, ok := recv(t, b); ok {
			t.Fatal("blocked packet delivered")
		}
		if _, _, ok := recv(t, a); ok {
			t.Fatal("blocked packet delivered")
		}
		unblock()
		send(t, a, b.LocalAddrPort(), "z")
		if msg, _, ok := recv(t, b); !ok || msg != "z" {
			t.Fatal("unblocked packet lost")
		}
		if n.Stats().DroppedRule != 2 {
			t.Fatalf("stats %+v", n.Stats())
		}
	})
}

func TestConnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		h := n.NewHost("a", ipA)
		c, err := h.Listen(7)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Listen(7); !errors.Is(err, ErrPortInUse) {
			t.Fatalf("second Listen: %v", err)
		}
		done := make(chan error)
		go func() {
			_, _, err := c.ReadFrom(make([]byte, 10))
			done <- err
		}()
		c.Close()
		c.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after Close: %v", err)
		}
		if _, err := c.WriteTo([]byte("x"), &net.UDPAddr{IP: ipB.AsSlice(), Port: 1}); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write after Close: %v", err)
		}
		if _, err := h.Listen(7); err != nil {
			t.Fatalf("port not freed: %v", err)
		}
	})
}
