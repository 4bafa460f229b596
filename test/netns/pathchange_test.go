//go:build netns

package netns

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stream is a TCP connection from one namespace to another that carries a
// steady trickle of numbered bytes; the receiver notes when data last
// arrived and the longest silence, and checks every byte.
type stream struct {
	conn net.Conn
	mu   sync.Mutex
	last time.Time // last byte received
	gap  time.Duration
	got  int64
	err  error // first receive-side error (a broken stream)
	stop chan struct{}
	done sync.WaitGroup
}

// startStream opens a TCP stream from ns src to dst:port in ns dstNS and
// writes 64 KB every 20 ms (about 26 Mbit/s) until stopped.
func startStream(t *testing.T, srcNS, dstNS, dst string, port int) *stream {
	t.Helper()
	var ln net.Listener
	inNS(t, dstNS, func() {
		var err error
		if ln, err = net.Listen("tcp", net.JoinHostPort(dst, fmt.Sprint(port))); err != nil {
			t.Fatal(err)
		}
	})
	s := &stream{stop: make(chan struct{}), last: time.Now()}
	s.done.Add(2)
	go func() {
		defer s.done.Done()
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			s.fail(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		var want byte
		for {
			n, err := c.Read(buf)
			now := time.Now()
			s.mu.Lock()
			if n > 0 {
				s.gap = max(s.gap, now.Sub(s.last))
				s.last = now
				s.got += int64(n)
			}
			s.mu.Unlock()
			for _, b := range buf[:n] {
				if b != want {
					s.fail(fmt.Errorf("byte %d is %d, want %d", s.got, b, want))
					return
				}
				want++
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				s.fail(err)
				return
			}
		}
	}()
	inNS(t, srcNS, func() {
		var err error
		if s.conn, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	})
	go func() {
		defer s.done.Done()
		defer s.conn.Close()
		chunk := make([]byte, 64<<10)
		var next byte
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			for i := range chunk {
				chunk[i] = next
				next++
			}
			s.conn.SetWriteDeadline(time.Now().Add(60 * time.Second))
			if _, err := s.conn.Write(chunk); err != nil {
				s.fail(fmt.Errorf("write: %w", err))
				return
			}
		}
	}()
	return s
}

func (s *stream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// resetGap forgets the longest silence so far and returns when data last
// arrived.
func (s *stream) resetGap() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gap = 0
}

// flowing reports whether data arrived after since.
func (s *stream) flowing(since time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last.After(since)
}

func (s *stream) state() (gap time.Duration, got int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gap, s.got, s.err
}

// close stops the sender, lets the receiver read to the end and returns
// the stream's error.
func (s *stream) close() error {
	close(s.stop)
	s.done.Wait()
	_, _, err := s.state()
	return err
}

// startRelayIn runs `ray relay` in ns on addr.
func (il *impairLab) startRelayIn(ns, addr string) {
	t := il.t
	logf, _ := os.Create(filepath.Join(il.dir, "relay.log"))
	cmd := exec.Command("ip", "netns", "exec", ns, il.bin, "relay", "--listen", addr, "--stun-port", "0", "--rate", "0")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	waitUntil(t, 5*time.Second, "relay listening", func() bool {
		_, err := nsCmd(ns, "bash", "-c", "</dev/tcp/"+strings.Replace(addr, ":", "/", 1))
		return err == nil
	})
}

// nftIn runs an nftables script in ns.
func nftIn(t *testing.T, ns, script string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in %s: %v\n%s", ns, err, out)
	}
}

// bothPaths reports whether a sees b and b sees a online on path.
func (il *impairLab) bothPaths(a, b, path string) bool {
	p, ok := il.peer(a, b)
	q, ok2 := il.peer(b, a)
	return ok && ok2 && p.Online && q.Online && p.Path == path && q.Path == path
}

// pinger pings an address from a namespace every 50 ms in the
// background, noting when each reply came.
type pinger struct {
	cmd *exec.Cmd
	out *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startPinger(t *testing.T, ns, addr string) *pinger {
	p := &pinger{out: &lockedBuffer{}}
	p.cmd = exec.Command("ip", "netns", "exec", ns, "ping", "-D", "-n", "-i", "0.05", "-W", "5", addr)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// replyAfter returns the first reply received after since.
func (p *pinger) replyAfter(since time.Time) (time.Time, bool) {
	for _, line := range strings.Split(p.out.String(), "\n") {
		var sec, frac int64
		if !strings.Contains(line, "bytes from") {
			continue
		}
		if _, err := fmt.Sscanf(line, "[%d.%d]", &sec, &frac); err != nil {
			continue
		}
		at := time.Unix(sec, frac*1000) // ping -D prints microseconds
		if at.After(since) {
			return at, true
		}
	}
	return time.Time{}, false
}

// TestPathChanges: with a TCP stream running through the mesh over a
// 20 ms link, the direct path is blackholed (relay within 3 s), repaired
// (direct again within 10 s), then one node moves to another subnet
// (reconnected within 5 s); the stream survives all three.
func TestPathChanges(t *testing.T) {
	il := newImpairLab(t, "i16p", 162, "a", "b", "r")
	il.setImpair(10*time.Millisecond, 0, 0)
	relay := il.nodes["r"].underlay + ":8443"
	il.startRelayIn(il.nodes["r"].ns, relay)
	const port = 41641
	bAddr := il.meshPair("a", "b", "--relay", "http://"+relay, "--listen-port", fmt.Sprint(port))
	s := startStream(t, il.nodes["a"].ns, il.nodes["b"].ns, bAddr, 5302)
	defer func() {
		if err := s.close(); err != nil {
			t.Errorf("the TCP stream broke: %v", err)
		}
	}()
	waitUntil(t, 5*time.Second, "stream flowing", func() bool { return s.flowing(time.Now().Add(-100 * time.Millisecond)) })
	a, b := il.nodes["a"], il.nodes["b"]
	pings := startPinger(t, a.ns, bAddr)
	// A reply later than this after a change crossed the new path: the
	// link's round trip is 20 ms.
	const inFlight = 60 * time.Millisecond

	// Blackhole: a's UDP to and from b's daemon vanishes (the relay is
	// TCP and stays reachable).
	cut := time.Now()
	nftIn(t, a.ns, fmt.Sprintf(`table inet i16cut {
  chain out { type filter hook output priority -10; policy accept; ip daddr %s udp dport %d drop; }
  chain in { type filter hook input priority -10; policy accept; ip saddr %s udp sport %d drop; }
}`, b.underlay, port, b.underlay, port))
	s.resetGap()
	waitUntil(t, 15*time.Second, "relay path on both sides", func() bool { return il.bothPaths("a", "b", "relay") })
	onRelay := time.Since(cut)
	waitUntil(t, 15*time.Second, "pings through the relay and the stream flowing again", func() bool {
		_, ok := pings.replyAfter(cut.Add(inFlight))
		return ok && s.flowing(cut.Add(inFlight))
	})
	reply, _ := pings.replyAfter(cut.Add(inFlight))
	toRelay := reply.Sub(cut)
	time.Sleep(time.Second) // the stream keeps flowing through the relay
	gap, _, err := s.state()
	if err != nil {
		t.Fatalf("stream broke after the cut: %v", err)
	}
	t.Logf("SUMMARY: direct path blackholed: both sides on the relay after %v, first ping through it after %v, TCP stream silent %v (its retransmit backoff)",
		onRelay.Round(time.Millisecond), toRelay.Round(time.Millisecond), gap.Round(time.Millisecond))
	if toRelay > 3*time.Second {
		t.Errorf("traffic through the relay after %v, want within 3 s", toRelay)
	}

	// Repair.
	repair := time.Now()
	nftIn(t, a.ns, "delete table inet i16cut")
	s.resetGap()
	waitUntil(t, 20*time.Second, "direct path again", func() bool { return il.bothPaths("a", "b", "direct") })
	toDirect := time.Since(repair)
	time.Sleep(time.Second)
	gap, _, err = s.state()
	if err != nil {
		t.Fatalf("stream broke after the repair: %v", err)
	}
	t.Logf("SUMMARY: blackhole lifted: direct again after %v (stream silent %v at most)", toDirect.Round(time.Millisecond), gap.Round(time.Millisecond))
	if toDirect > 10*time.Second {
		t.Errorf("direct after %v, want within 10 s", toDirect)
	}

	// b moves to the next subnet (a DHCP lease elsewhere on the same
	// wire): its old address is gone.
	moved := fmt.Sprintf("198.18.163.%s", b.underlay[strings.LastIndex(b.underlay, ".")+1:])
	move := time.Now()
	run(t, "ip", "-n", b.ns, "addr", "del", b.underlay+"/24", "dev", "eth0")
	run(t, "ip", "-n", b.ns, "addr", "add", moved+"/24", "dev", "eth0")
	run(t, "ip", "-n", b.ns, "route", "replace", "198.18.162.0/24", "dev", "eth0")
	s.resetGap()
	waitUntil(t, 20*time.Second, "direct to the new address, pings and the stream flowing", func() bool {
		p, _ := il.peer("a", "b")
		_, ok := pings.replyAfter(move.Add(inFlight))
		return ok && s.flowing(move.Add(inFlight)) && il.bothPaths("a", "b", "direct") && strings.HasPrefix(p.Endpoint, moved+":")
	})
	reconnect := time.Since(move)
	reply, _ = pings.replyAfter(move.Add(inFlight))
	p, _ := il.peer("a", "b")
	gap, _, err = s.state()
	if err != nil {
		t.Fatalf("stream broke after the move: %v", err)
	}
	t.Logf("SUMMARY: b moved %s -> %s: first ping answered after %v, direct via %s after %v (TCP stream silent %v at most)",
		b.underlay, moved, reply.Sub(move).Round(time.Millisecond), p.Endpoint, reconnect.Round(time.Millisecond), gap.Round(time.Millisecond))
	if reconnect > 5*time.Second {
		t.Errorf("reconnected after %v, want within 5 s", reconnect)
	}
	_, got, _ := s.state()
	t.Logf("SUMMARY: the TCP stream carried %.1f MB through all three changes", float64(got)/1e6)
}
