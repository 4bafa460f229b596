//go:build netns

package netns

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// upstreamDNS serves example.test A 198.18.3.200 from inside ns at addr:53.
func upstreamDNS(t *testing.T, ns, addr string) {
	var pc net.PacketConn
	inNS(t, ns, func() {
		var err error
		pc, err = net.ListenPacket("udp", addr+":53")
		if err != nil {
			t.Fatal(err)
		}
	})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if len(q.Question) == 1 && q.Question[0].Name == "example.test." && q.Question[0].Qtype == dns.TypeA {
			rr, _ := dns.NewRR("example.test. 60 IN A 198.18.3.200")
			m.Answer = append(m.Answer, rr)
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
}

// TestDNSMetricsReport checks magic DNS answered in the tunnel and through
// the OS resolver configuration (restored on stop and after a crash),
// forwarding of other names, loopback-only metrics, and a support report
// free of secrets.
func TestDNSMetricsReport(t *testing.T) {
	l := newLab(t, "rfd", 3, "alpha", "beta", "dnsup")
	l.dns = true // each namespace gets its own resolv.conf below
	summary := func(format string, args ...any) { t.Logf("SUMMARY: "+format, args...) }
	// Each namespace gets its own resolv.conf (ip netns exec bind-mounts
	// it over /etc/resolv.conf); the host's file is never touched.
	original := "# test resolver\nnameserver 198.18.3.3\nsearch example.test\n"
	confs := map[string]string{}
	for _, n := range []string{"alpha", "beta"} {
		dir := filepath.Join("/etc/netns", l.nodes[n].ns)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		confs[n] = filepath.Join(dir, "resolv.conf")
		if err := os.WriteFile(confs[n], []byte(original), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hostBefore, _ := os.ReadFile("/etc/resolv.conf")
	upstreamDNS(t, l.nodes["dnsup"].ns, l.nodes["dnsup"].underlay)

	l.start("alpha", "--metrics", "127.0.0.1:9464")
	l.start("beta")
	l.ray("alpha", "create", "home")
	code := lastLine(l.ray("alpha", "invite", "home"))
	l.ray("beta", "join", code)
	waitUntil(t, 20*time.Second, "peers online", func() bool { return l.peerOnline("alpha", "beta") })
	beta, _ := l.peer("alpha", "beta")
	alphaNS := l.nodes["alpha"].ns

	dig := func(args ...string) string {
		out, err := nsCmd(alphaNS, append([]string{"dig", "+short", "+time=2", "+tries=2"}, args...)...)
		if err != nil {
			t.Fatalf("dig %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(out)
	}

	t.Run("magic DNS in the tunnel", func(t *testing.T) {
		if got := dig("@100.100.100.53", "beta.home.ray", "A"); got != beta.IPv4.String() {
			t.Errorf("A beta.home.ray = %q, want %s", got, beta.IPv4)
		}
		if got := dig("@100.100.100.53", "BETA.ray", "AAAA"); got != beta.IPv6.String() {
			t.Errorf("AAAA BETA.ray = %q, want %s", got, beta.IPv6)
		}
		if got := dig("@100.100.100.53", "-x", beta.IPv4.String()); !strings.HasPrefix(got, "beta.") {
			t.Errorf("PTR = %q", got)
		}
		out, _ := nsCmd(alphaNS, "dig", "+time=2", "@100.100.100.53", "nobody.home.ray")
		if !strings.Contains(out, "NXDOMAIN") {
			t.Errorf("unknown .ray name: %s", out)
		}
		if got := dig("@100.100.100.53", "example.test", "A"); got != "198.18.3.200" {
			t.Errorf("forwarded name = %q", got)
		}
		summary("dig @100.100.100.53: A/AAAA/PTR answered from the roster, NXDOMAIN for unknown .ray, example.test forwarded upstream")
	})

	t.Run("OS integration", func(t *testing.T) {
		b, _ := os.ReadFile(confs["alpha"])
		if !strings.Contains(string(b), "nameserver 100.100.100.53") {
			t.Fatalf("resolv.conf not managed:\n%s", b)
		}
		out, err := nsCmd(alphaNS, "getent", "hosts", "beta.home.ray")
		if err != nil || !(strings.Contains(out, beta.IPv4.String()) || strings.Contains(out, beta.IPv6.String())) {
			t.Fatalf("getent hosts beta.home.ray: %v %q", err, out)
		}
		summary("getent hosts beta.home.ray -> %s through the managed resolv.conf", strings.Fields(out)[0])
		out, err = nsCmd(alphaNS, "getent", "hosts", "example.test")
		if err != nil || !strings.Contains(out, "198.18.3.200") {
			t.Errorf("getent hosts example.test: %v %q", err, out)
		}
	})

	t.Run("bare names via the search domains", func(t *testing.T) {
		waitUntil(t, 5*time.Second, "search domains in resolv.conf", func() bool {
			b, _ := os.ReadFile(confs["alpha"])
			return strings.Contains(string(b), "\nsearch ray home.ray example.test\n")
		})
		out, err := nsCmd(alphaNS, "getent", "hosts", "beta")
		if err != nil || !(strings.Contains(out, beta.IPv4.String()) || strings.Contains(out, beta.IPv6.String())) {
			t.Fatalf("getent hosts beta: %v %q", err, out)
		}
		out2, err := nsCmd(alphaNS, "ping", "-c1", "-W3", "beta")
		if err != nil {
			t.Fatalf("ping -c1 beta: %v\n%s", err, out2)
		}
		summary("search ray home.ray example.test in resolv.conf; getent hosts beta -> %s; ping -c1 beta answered", strings.Fields(out)[0])
	})

	t.Run("metrics on loopback", func(t *testing.T) {
		var body string
		// The socket must be made on the namespace's thread; HTTP/1.0 by hand.
		var c net.Conn
		inNS(t, alphaNS, func() {
			var err error
			if c, err = net.DialTimeout("tcp", "127.0.0.1:9464", 5*time.Second); err != nil {
				t.Fatal(err)
			}
		})
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1:9464\r\n\r\n")
		b, _ := io.ReadAll(c)
		c.Close()
		body = string(b)
		if !strings.HasPrefix(body, "HTTP/1.0 200") {
			t.Fatalf("metrics answer: %.200s", body)
		}
		for _, want := range []string{"rayfish_", "beta"} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
		out, err := l.rayErr("beta", "daemon", "--metrics", "0.0.0.0:9464")
		if err == nil || !strings.Contains(out, "127.0.0.1") {
			t.Errorf("non-loopback metrics accepted: %v %s", err, out)
		}
		summary("metrics served on 127.0.0.1:9464 (%d bytes); 0.0.0.0 refused", len(body))
	})

	t.Run("report has no secrets", func(t *testing.T) {
		path := filepath.Join(l.dir, "report.tar.gz")
		l.ray("alpha", "report", "-o", path)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files := untar(t, raw)
		nodeKey, _ := os.ReadFile(filepath.Join(l.nodes["alpha"].stateDir, "node.key"))
		state, _ := os.ReadFile(filepath.Join(l.nodes["alpha"].stateDir, "state.json"))
		secrets := []string{strings.TrimSpace(string(nodeKey)), code, strings.TrimPrefix(strings.TrimSpace(string(nodeKey)), "nodekey:")}
		if i := strings.Index(string(state), "netkey:"); i >= 0 {
			end := strings.IndexByte(string(state[i:]), '"')
			secrets = append(secrets, string(state[i:i+end]), string(state[i+7:i+end]))
		}
		var names []string
		for name, content := range files {
			names = append(names, filepath.Base(name))
			for _, s := range secrets {
				if len(s) > 10 && strings.Contains(content, s) {
					t.Errorf("%s contains a secret", name)
				}
			}
		}
		for _, want := range []string{"version.txt", "status.json", "logs.txt", "metrics.txt", "firewall.txt", "dns.txt"} {
			if !strings.Contains(strings.Join(names, " "), want) {
				t.Errorf("report lacks %s (has %v)", want, names)
			}
		}
		summary("ray report: %d bytes, files %v, no node key / network key / invite code inside", len(raw), names)
	})

	t.Run("resolver restored on stop and after a crash", func(t *testing.T) {
		l.stop("alpha")
		if b, _ := os.ReadFile(confs["alpha"]); string(b) != original {
			t.Fatalf("after stop resolv.conf is:\n%s", b)
		}
		l.start("alpha")
		if b, _ := os.ReadFile(confs["alpha"]); !strings.Contains(string(b), "100.100.100.53") {
			t.Fatalf("not managed after restart:\n%s", b)
		}
		l.kill("alpha")
		if b, _ := os.ReadFile(confs["alpha"]); !strings.Contains(string(b), "100.100.100.53") {
			t.Fatalf("a crash cannot restore, yet the file changed:\n%s", b)
		}
		l.start("alpha", "--no-dns") // the next start repairs what the crash left
		if b, _ := os.ReadFile(confs["alpha"]); string(b) != original {
			t.Fatalf("after crash + restart resolv.conf is:\n%s", b)
		}
		if hostAfter, _ := os.ReadFile("/etc/resolv.conf"); !bytes.Equal(hostBefore, hostAfter) {
			t.Fatal("the host's /etc/resolv.conf changed")
		}
		summary("resolv.conf restored byte for byte after SIGTERM, and after SIGKILL at the next start")
	})
}

func untar(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
	}
}
