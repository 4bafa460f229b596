//go:build netns

package netns

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialResult is how a TCP connect attempt ended.
type dialResult string

const (
	connected dialResult = "connected"
	refused   dialResult = "refused" // RST: reject mode
	timedOut  dialResult = "timeout" // silently dropped
)

// tcpDial connects from ns to addr:port and reports how it went.
func tcpDial(t *testing.T, ns string, addr netip.Addr, port uint16) (dialResult, time.Duration) {
	t.Helper()
	var res dialResult
	start := time.Now()
	inNS(t, ns, func() {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(addr, port).String(), 1500*time.Millisecond)
		switch {
		case err == nil:
			c.Close()
			res = connected
		case errors.Is(err, syscall.ECONNREFUSED):
			res = refused
		default:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				res = timedOut
			} else {
				t.Fatalf("dial %v:%d: %v", addr, port, err)
			}
		}
	})
	return res, time.Since(start)
}

// listenTCP opens listeners on the given ports in ns, accepting and closing.
func listenTCP(t *testing.T, ns string, addr netip.Addr, ports ...uint16) {
	for _, p := range ports {
		var ln net.Listener
		inNS(t, ns, func() {
			var err error
			ln, err = net.Listen("tcp", netip.AddrPortFrom(addr, p).String())
			if err != nil {
				t.Fatal(err)
			}
		})
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
}

// TestFirewall checks the per-host firewall with real daemons: inbound
// denied by default, reject mode, an allow rule for one port, and an
// admin-suggested rule accepted by the receiving node.
func TestFirewall(t *testing.T) {
	l := newLab(t, "rff", 2, "alpha", "beta")
	l.start("alpha")
	l.start("beta")
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	l.ray("alpha", "create", "home")
	l.ray("beta", "join", lastLine(l.ray("alpha", "invite", "home")))
	waitUntil(t, 20*time.Second, "peers online", func() bool { return l.peerOnline("alpha", "beta") })
	beta, _ := l.peer("alpha", "beta")
	alphaNS := l.nodes["alpha"].ns
	listenTCP(t, l.nodes["beta"].ns, beta.IPv4, 8080, 8081, 9090)

	t.Run("default: ping allowed, TCP dropped", func(t *testing.T) {
		if out, err := nsCmd(alphaNS, "ping", "-c", "2", "-i", "0.2", "-W", "2", beta.IPv4.String()); err != nil {
			t.Fatalf("ping: %v\n%s", err, out)
		}
		if res, _ := tcpDial(t, alphaNS, beta.IPv4, 8080); res != timedOut {
			t.Fatalf("inbound TCP by default: %s", res)
		}
		if n := l.status("beta").Drops["firewall_in"]; n == 0 {
			t.Error("firewall_in drops not counted")
		}
		summary("default policy: ping passes (seeded rule), inbound TCP to 8080 silently dropped")
	})

	t.Run("reject mode answers with RST", func(t *testing.T) {
		l.ray("beta", "firewall", "reject", "on")
		res, d := tcpDial(t, alphaNS, beta.IPv4, 8080)
		if res != refused || d > time.Second {
			t.Fatalf("reject mode: %s after %v", res, d)
		}
		l.ray("beta", "firewall", "reject", "off")
		summary("reject on: connect refused by RST in %v", d.Round(time.Millisecond))
	})

	t.Run("allow one port", func(t *testing.T) {
		out := l.ray("beta", "firewall", "add", "in", "allow", "-p", "tcp", "-P", "8080")
		if !strings.Contains(out, "8080") {
			t.Errorf("show after add: %s", out)
		}
		if res, _ := tcpDial(t, alphaNS, beta.IPv4, 8080); res != connected {
			t.Fatalf("8080 after allow: %s", res)
		}
		if res, _ := tcpDial(t, alphaNS, beta.IPv4, 8081); res != timedOut {
			t.Fatalf("8081 must stay closed: %s", res)
		}
		// Replies to beta's own outbound flows pass the inbound default.
		alpha, _ := l.peer("beta", "alpha")
		l.ray("alpha", "firewall", "add", "in", "allow", "-p", "tcp", "-P", "7070")
		listenTCP(t, alphaNS, alpha.IPv4, 7070)
		if res, _ := tcpDial(t, l.nodes["beta"].ns, alpha.IPv4, 7070); res != connected {
			t.Fatalf("beta's outbound flow: %s", res)
		}
		summary("firewall add in allow -p tcp -P 8080 opened 8080 only (8081 still dropped)")
	})

	t.Run("suggested rule accepted by consent", func(t *testing.T) {
		l.ray("alpha", "firewall", "suggest", "home", "in", "allow", "-p", "tcp", "-P", "9090")
		waitUntil(t, 10*time.Second, "suggestion reaches beta", func() bool {
			return strings.Contains(l.ray("beta", "firewall", "pending", "home"), "9090")
		})
		if res, _ := tcpDial(t, alphaNS, beta.IPv4, 9090); res != timedOut {
			t.Fatalf("9090 open before consent: %s", res)
		}
		l.ray("beta", "firewall", "accept", "home")
		if res, _ := tcpDial(t, alphaNS, beta.IPv4, 9090); res != connected {
			t.Fatalf("9090 after accept: %s", res)
		}
		summary("admin suggested tcp/9090 through the signed roster; closed until beta accepted, open after")
	})

	t.Run("rules persist across restart", func(t *testing.T) {
		l.stop("beta")
		l.start("beta")
		waitUntil(t, 20*time.Second, "beta back", func() bool { return l.peerOnline("alpha", "beta") })
		if res, _ := tcpDial(t, alphaNS, beta.IPv4, 8080); res != connected {
			t.Fatalf("8080 after restart: %s", res)
		}
	})
}
