//go:build netns

package netns

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine"
)

// TestMesh drives three daemons through the mesh core's life: invites
// of every kind, a full mesh, traffic of every size, standby, restarts,
// approval, several networks, leaving, and spoofing.
func TestMesh(t *testing.T) {
	l := newLab(t, "rfm", 1, "alpha", "beta", "gamma")
	for _, n := range []string{"alpha", "beta", "gamma"} {
		l.start(n)
	}
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }

	l.ray("alpha", "create", "home")

	t.Run("bad codes change nothing", func(t *testing.T) {
		for _, code := range []string{"garbage", "rayfish1-aaaaaaaaaaaaaaaa", ""} {
			out, err := l.rayErr("beta", "join", code)
			if err == nil {
				t.Fatalf("join %q succeeded: %s", code, out)
			}
			if !strings.Contains(out, "ray:") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
				t.Errorf("join %q: want a one-line error, got %q", code, out)
			}
		}
		// A damaged code (one character changed) is detected.
		good := lastLine(l.ray("alpha", "invite", "home"))
		i := len(good) - 5
		repl := "a"
		if good[i] == 'a' {
			repl = "b"
		}
		bad := good[:i] + repl + good[i+1:]
		out, err := l.rayErr("beta", "join", bad)
		if err == nil || !strings.Contains(out, "damaged") {
			t.Errorf("damaged code: err=%v out=%q", err, out)
		}
		if n := len(l.status("beta").Networks); n != 0 {
			t.Errorf("beta has %d networks after bad codes", n)
		}
		summary("bad, damaged and empty codes refused with one-line errors; state unchanged")
	})

	var reusable string
	t.Run("single-use, expired and reusable invites", func(t *testing.T) {
		code := lastLine(l.ray("alpha", "invite", "home"))
		start := time.Now()
		out := l.ray("beta", "join", code)
		if !strings.Contains(out, `joined network "home"`) {
			t.Fatalf("join: %s", out)
		}
		summary("join with a single-use code took %v", time.Since(start).Round(time.Millisecond))
		out, err := l.rayErr("gamma", "join", code)
		if err == nil || !strings.Contains(out, "used") {
			t.Fatalf("reused single-use code: err=%v out=%q", err, out)
		}
		if n := len(l.status("gamma").Networks); n != 0 {
			t.Fatalf("gamma joined with a used code")
		}
		expiring := lastLine(l.ray("alpha", "invite", "home", "--expires", "1s"))
		time.Sleep(1500 * time.Millisecond)
		out, err = l.rayErr("gamma", "join", expiring)
		if err == nil || !strings.Contains(out, "expired") {
			t.Fatalf("expired code: err=%v out=%q", err, out)
		}
		reusable = lastLine(l.ray("alpha", "invite", "home", "--reusable"))
		l.ray("gamma", "join", reusable)
		out, err = l.rayErr("beta", "join", reusable)
		if err == nil || !strings.Contains(out, "already a member") {
			t.Fatalf("second join by a member: err=%v out=%q", err, out)
		}
		summary("single-use code refused on reuse, expired code refused, reusable code admitted gamma")
	})

	t.Run("full mesh", func(t *testing.T) {
		start := time.Now()
		for _, a := range []string{"alpha", "beta", "gamma"} {
			for _, b := range []string{"alpha", "beta", "gamma"} {
				if a != b {
					waitUntil(t, 20*time.Second, a+" sees "+b+" online", func() bool { return l.peerOnline(a, b) })
				}
			}
		}
		summary("full mesh of 3 online %v after the last join", time.Since(start).Round(time.Millisecond))
		for _, n := range []string{"alpha", "beta", "gamma"} {
			st := l.status(n)
			if st.State != "up" || len(st.Networks) != 1 || st.Networks[0].Members != 3 {
				t.Errorf("%s: state %s networks %+v", n, st.State, st.Networks)
			}
			for _, p := range st.Peers {
				if p.Path != "direct" || p.IPv4 == (netip.Addr{}) || !p.IPv6.IsValid() {
					t.Errorf("%s: peer %+v", n, p)
				}
			}
		}
	})

	t.Run("ping v4 and v6 every pair", func(t *testing.T) {
		for _, a := range []string{"alpha", "beta", "gamma"} {
			for _, b := range []string{"alpha", "beta", "gamma"} {
				if a == b {
					continue
				}
				p, _ := l.peer(a, b)
				for _, ip := range []string{p.IPv4.String(), p.IPv6.String()} {
					if out, err := nsCmd(l.nodes[a].ns, "ping", "-c", "2", "-i", "0.2", "-W", "2", ip); err != nil {
						t.Errorf("ping %s -> %s (%s): %v\n%s", a, b, ip, err, out)
					}
				}
			}
		}
		out := l.ray("beta", "ping", "gamma", "-c", "3", "-i", "100ms")
		if !strings.Contains(out, "3 received") || !strings.Contains(out, "via direct") {
			t.Errorf("ray ping: %s", out)
		}
		summary("ICMP v4+v6 ping between all 6 ordered pairs; ray ping: %s", lastLine(out))
	})

	t.Run("full-MTU and 1280-byte IPv6 packets", func(t *testing.T) {
		p, _ := l.peer("alpha", "beta")
		// IPv4 packet of exactly the TUN MTU, DF set.
		v4size := strconv.Itoa(engine.TUNMTU - 28)
		if out, err := nsCmd(l.nodes["alpha"].ns, "ping", "-c", "3", "-i", "0.2", "-M", "do", "-s", v4size, p.IPv4.String()); err != nil {
			t.Errorf("full-MTU IPv4 ping: %v\n%s", err, out)
		}
		v6size := strconv.Itoa(engine.TUNMTU - 48)
		if out, err := nsCmd(l.nodes["alpha"].ns, "ping", "-6", "-c", "3", "-i", "0.2", "-M", "do", "-s", v6size, p.IPv6.String()); err != nil {
			t.Errorf("full-MTU IPv6 ping: %v\n%s", err, out)
		}
		if out, err := nsCmd(l.nodes["alpha"].ns, "ping", "-6", "-c", "3", "-i", "0.2", "-s", "1232", p.IPv6.String()); err != nil {
			t.Errorf("1280-byte IPv6 ping: %v\n%s", err, out)
		}
		summary("TUN MTU %d: %d-byte IPv4 and IPv6 packets with DF and 1280-byte IPv6 packets delivered", engine.TUNMTU, engine.TUNMTU)
	})

	t.Run("100 MB TCP transfer with checksum", func(t *testing.T) {
		// Inbound is denied by default: beta opens the test ports.
		l.ray("beta", "firewall", "add", "in", "allow", "-p", "tcp", "-P", "5201-5299")
		p, _ := l.peer("alpha", "beta")
		mb, secs, ok := tcpTransfer(t, l.nodes["alpha"].ns, l.nodes["beta"].ns, p.IPv4, 100<<20)
		if ok {
			summary("100 MiB TCP alpha->beta over the mesh, sha256 verified, %.0f Mbit/s", mb*8/secs)
		}
	})

	t.Run("spoofed inner source dropped and counted", func(t *testing.T) {
		before := l.status("alpha").Drops["spoofed_source"]
		gamma, _ := l.peer("beta", "gamma")
		alpha, _ := l.peer("beta", "alpha")
		const n = 5
		sendSpoofed(t, l.nodes["beta"].ns, gamma.IPv4, alpha.IPv4, n)
		waitUntil(t, 5*time.Second, "spoofed drops counted on alpha", func() bool {
			return l.status("alpha").Drops["spoofed_source"] >= before+n
		})
		summary("%d packets from beta claiming gamma's address dropped by alpha (spoofed_source counter)", n)
	})

	t.Run("down keeps peers, up resumes", func(t *testing.T) {
		beta, _ := l.peer("alpha", "beta")
		l.ray("beta", "down")
		st := l.status("beta")
		if st.State != "down" {
			t.Fatalf("state %q after down", st.State)
		}
		if out, err := nsCmd(l.nodes["alpha"].ns, "ping", "-c", "1", "-W", "1", beta.IPv4.String()); err == nil {
			t.Errorf("ping to a down node succeeded: %s", out)
		}
		if !l.peerOnline("beta", "alpha") {
			t.Error("peers disconnected on down")
		}
		l.ray("beta", "up")
		if out, err := nsCmd(l.nodes["alpha"].ns, "ping", "-c", "2", "-i", "0.2", "-W", "2", beta.IPv4.String()); err != nil {
			t.Errorf("ping after up: %v\n%s", err, out)
		}
		summary("down: traffic stops while connections stay; up: traffic resumes")
	})

	t.Run("restart reconnects", func(t *testing.T) {
		l.stop("gamma")
		waitUntil(t, 30*time.Second, "alpha sees gamma offline", func() bool { return !l.peerOnline("alpha", "gamma") })
		start := time.Now()
		l.start("gamma")
		waitUntil(t, 20*time.Second, "gamma back", func() bool { return l.peerOnline("alpha", "gamma") && l.peerOnline("beta", "gamma") })
		summary("gamma restarted and reconnected to both peers in %v", time.Since(start).Round(time.Millisecond))
		g, _ := l.peer("alpha", "gamma")
		if out, err := nsCmd(l.nodes["alpha"].ns, "ping", "-c", "2", "-i", "0.2", "-W", "2", g.IPv4.String()); err != nil {
			t.Errorf("ping after restart: %v\n%s", err, out)
		}
	})

	t.Run("members reconnect without the creator", func(t *testing.T) {
		l.stop("alpha")
		l.stop("gamma")
		l.start("gamma")
		start := time.Now()
		waitUntil(t, 20*time.Second, "beta and gamma reconnect", func() bool { return l.peerOnline("beta", "gamma") })
		summary("with the creator stopped, gamma restarted and reached beta in %v", time.Since(start).Round(time.Millisecond))
		g, _ := l.peer("beta", "gamma")
		if out, err := nsCmd(l.nodes["beta"].ns, "ping", "-c", "2", "-i", "0.2", "-W", "2", g.IPv6.String()); err != nil {
			t.Errorf("ping without creator: %v\n%s", err, out)
		}
		l.start("alpha")
		waitUntil(t, 20*time.Second, "alpha back", func() bool { return l.peerOnline("alpha", "beta") && l.peerOnline("alpha", "gamma") })
	})

	t.Run("approval flow and a second network", func(t *testing.T) {
		l.ray("alpha", "create", "lab")
		code := lastLine(l.ray("alpha", "invite", "lab", "--approval"))
		gammaID := l.status("gamma").Self.ID
		done := make(chan string, 1)
		go func() {
			out, err := l.rayErr("gamma", "join", code, "--wait", "60s")
			done <- fmt.Sprintf("%v|%s", err, out)
		}()
		waitUntil(t, 15*time.Second, "request on alpha", func() bool {
			return strings.Contains(l.ray("alpha", "requests", "lab"), gammaID)
		})
		if sw := l.status("alpha").Requests; len(sw) != 1 || sw[0].Hostname != "gamma" {
			t.Errorf("status requests: %+v", sw)
		}
		l.ray("alpha", "accept", "lab", gammaID)
		res := <-done
		if !strings.HasPrefix(res, "<nil>|") || !strings.Contains(res, `joined network "lab"`) {
			t.Fatalf("approved join: %s", res)
		}
		// Deny: beta asks for lab, alpha denies.
		code2 := lastLine(l.ray("alpha", "invite", "lab", "--approval"))
		betaID := l.status("beta").Self.ID
		go func() {
			out, err := l.rayErr("beta", "join", code2, "--wait", "60s")
			done <- fmt.Sprintf("%v|%s", err, out)
		}()
		waitUntil(t, 15*time.Second, "beta's request", func() bool {
			return strings.Contains(l.ray("alpha", "requests", "lab"), betaID)
		})
		l.ray("alpha", "deny", "lab", betaID)
		res = <-done
		if strings.HasPrefix(res, "<nil>|") || !strings.Contains(res, "denied") {
			t.Fatalf("denied join: %s", res)
		}
		st := l.status("gamma")
		if len(st.Networks) != 2 {
			t.Fatalf("gamma networks: %+v", st.Networks)
		}
		a, _ := l.peer("gamma", "alpha")
		if len(a.Networks) != 2 {
			t.Errorf("gamma's view of alpha: networks %v", a.Networks)
		}
		if out, err := nsCmd(l.nodes["gamma"].ns, "ping", "-c", "2", "-i", "0.2", "-W", "2", a.IPv4.String()); err != nil {
			t.Errorf("ping in two networks: %v\n%s", err, out)
		}
		summary("approval: gamma accepted into lab, beta denied; gamma in 2 networks on one TUN")
	})

	t.Run("leave prunes", func(t *testing.T) {
		l.ray("gamma", "leave", "home")
		waitUntil(t, 10*time.Second, "alpha prunes gamma from home", func() bool {
			for _, n := range l.status("alpha").Networks {
				if n.Name == "home" {
					return n.Members == 2
				}
			}
			return false
		})
		waitUntil(t, 10*time.Second, "beta forgets gamma", func() bool {
			_, ok := l.peer("beta", "gamma")
			return !ok
		})
		if !l.peerOnline("alpha", "gamma") {
			t.Error("alpha and gamma share lab but lost their connection")
		}
		// The reusable code admits gamma again.
		l.ray("gamma", "join", reusable)
		waitUntil(t, 20*time.Second, "beta sees gamma again", func() bool { return l.peerOnline("beta", "gamma") })
		summary("gamma left home: pruned by alpha, dropped by beta, kept by alpha via lab; rejoined with the reusable code")
	})

	t.Run("unprivileged local API: reads only", func(t *testing.T) {
		cmd := exec.Command(l.bin, "--socket", l.nodes["beta"].socket, "status", "--json")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `"peers"`) {
			t.Errorf("status as nobody: %v %s", err, out)
		}
		cmd = exec.Command(l.bin, "--socket", l.nodes["beta"].socket, "create", "nope")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "can change rayfish; ask an administrator") {
			t.Errorf("create as nobody: %v %s", err, out)
		}
		for _, n := range l.status("beta").Networks {
			if n.Name == "nope" {
				t.Error("unprivileged create took effect")
			}
		}
		summary("as uid 65534: status works, create refused (%s)", strings.TrimSpace(string(out)))
	})

	t.Run("secrets stay secret", func(t *testing.T) {
		out := l.ray("alpha", "status", "--json")
		if strings.Contains(out, "netkey:") || strings.Contains(out, "nodekey:") {
			t.Error("status leaks a private key")
		}
		for _, f := range []string{"node.key", "state.json"} {
			out := run(t, "stat", "-c", "%a", l.nodes["alpha"].stateDir+"/"+f)
			if strings.TrimSpace(out) != "600" {
				t.Errorf("%s mode %s", f, out)
			}
		}
		if out := run(t, "stat", "-c", "%a", l.nodes["alpha"].stateDir); strings.TrimSpace(out) != "700" {
			t.Errorf("state dir mode %s", out)
		}
	})

	t.Run("throughput", func(t *testing.T) {
		if _, err := exec.LookPath("iperf3"); err != nil {
			t.Skip("iperf3 not installed")
		}
		b, _ := l.peer("alpha", "beta")
		mesh := iperf(t, l.nodes["alpha"].ns, l.nodes["beta"].ns, b.IPv4.String())
		raw := iperf(t, l.nodes["alpha"].ns, l.nodes["beta"].ns, l.nodes["beta"].underlay)
		summary("iperf3 TCP 5 s alpha->beta: mesh %.0f Mbit/s, raw veth+bridge %.0f Mbit/s (ratio %.3f)", mesh, raw, mesh/raw)
	})
}

// tcpTransfer sends size random bytes from ns src to dst:port over TCP
// and checks the receiver's sha256. It returns MiB and seconds.
func tcpTransfer(t *testing.T, srcNS, dstNS string, dst netip.Addr, size int) (float64, float64, bool) {
	t.Helper()
	var ln net.Listener
	inNS(t, dstNS, func() {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(dst, 5201).String())
		if err != nil {
			t.Fatal(err)
		}
	})
	defer ln.Close()
	got := make(chan [32]byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- [32]byte{}
			return
		}
		defer c.Close()
		h := sha256.New()
		io.Copy(h, c)
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		got <- sum
	}()
	var c net.Conn
	inNS(t, srcNS, func() {
		var err error
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
	})
	h := sha256.New()
	start := time.Now()
	chunk := make([]byte, 1<<20)
	for sent := 0; sent < size; sent += len(chunk) {
		rand.Read(chunk)
		h.Write(chunk)
		c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(chunk); err != nil {
			t.Fatalf("write after %d bytes: %v", sent, err)
		}
	}
	c.Close()
	var want [32]byte
	copy(want[:], h.Sum(nil))
	select {
	case sum := <-got:
		if sum != want {
			t.Fatal("checksum mismatch")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("receiver did not finish")
	}
	return float64(size) / (1 << 20), time.Since(start).Seconds(), true
}

// sendSpoofed sends n ICMP echo requests from inside ns with source src
// (an address that is not ours) to dst, through the TUN.
func sendSpoofed(t *testing.T, ns string, src, dst netip.Addr, n int) {
	inNS(t, ns, func() {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		pkt := make([]byte, 28)
		pkt[0] = 0x45
		binary.BigEndian.PutUint16(pkt[2:], 28)
		pkt[8] = 64
		pkt[9] = 1 // ICMP
		s4, d4 := src.As4(), dst.As4()
		copy(pkt[12:16], s4[:])
		copy(pkt[16:20], d4[:])
		pkt[20] = 8 // echo request
		binary.BigEndian.PutUint16(pkt[22:], ^checksum(pkt[20:]))
		binary.BigEndian.PutUint16(pkt[10:], ^checksum(pkt[:20]))
		sa := &syscall.SockaddrInet4{Addr: d4}
		for range n {
			if err := syscall.Sendto(fd, pkt, 0, sa); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

var iperfRate = regexp.MustCompile(`"bits_per_second":\s*([0-9.e+]+)`)

// iperf runs a 5 s iperf3 TCP test from ns a to addr in ns b; Mbit/s.
func iperf(t *testing.T, a, b, addr string) float64 {
	srv := exec.Command("ip", "netns", "exec", b, "iperf3", "-s", "-1", "-p", "5299")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Wait()
	time.Sleep(300 * time.Millisecond)
	out, err := nsCmd(a, "iperf3", "-c", addr, "-p", "5299", "-t", "5", "-J")
	if err != nil {
		srv.Process.Kill()
		t.Fatalf("iperf3: %v\n%s", err, tail(out, 20))
	}
	idx := strings.LastIndex(out, `"sum_received"`)
	m := iperfRate.FindStringSubmatch(out[max(idx, 0):])
	if m == nil {
		t.Fatalf("iperf3 output: %s", tail(out, 20))
	}
	bps, _ := strconv.ParseFloat(m[1], 64)
	return bps / 1e6
}
