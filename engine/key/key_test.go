package key

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
)

func TestNodeTextRoundTrip(t *testing.T) {
	k := NewNode()
	pub := k.Public()
	got, err := ParseNodePublic(pub.String())
	if err != nil || got != pub {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if got, err := ParseNodePublic(strings.ToUpper(pub.String()) + " "); err != nil || got != pub {
		t.Fatalf("upper case with space: %v", err)
	}
	txt, err := k.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var k2 NodePrivate
	if err := k2.UnmarshalText(txt); err != nil || k2.Public() != pub {
		t.Fatalf("private round trip: %v", err)
	}
	if strings.Contains(k.String(), string(txt)) || !strings.Contains(k.String(), "redacted") {
		t.Error("String reveals the private key")
	}
	msg := []byte("hello")
	if !pub.Verify(msg, k.Sign(msg)) || pub.Verify([]byte("other"), k.Sign(msg)) {
		t.Error("sign/verify")
	}
}

func TestParseErrors(t *testing.T) {
	valid := NewNode().Public().String()
	tests := []struct{ in, want string }{
		{"", "want 52 characters"},
		{valid[:51], "want 52 characters"},
		{valid[:51] + "1", "not base32"},
		{valid + "a", "want 52 characters"},
	}
	for _, tc := range tests {
		_, err := ParseNodePublic(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseNodePublic(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	var k NodePrivate
	for _, in := range []string{"", "netkey:aaaa", "nodekey:!!!", "nodekey:aaaa"} {
		if err := k.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("UnmarshalText(%q) succeeded", in)
		}
	}
}

func TestAddressDerivation(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		p := NewNode().Public()
		for idx := range uint32(3) {
			a := p.IPv4(idx)
			b := a.As4()
			switch {
			case !CGNATPrefix.Contains(a):
				t.Fatalf("%v outside 100.64/10", a)
			case b[3] == 0 || b[3] == 255:
				t.Fatalf("%v is a .0/.255 host", a)
			case a == MagicDNSv4 || servicePrefix.Contains(a):
				t.Fatalf("%v in the service range", a)
			}
			if a != p.IPv4(idx) {
				t.Fatal("IPv4 not deterministic")
			}
		}
		if p.IPv4(0) == p.IPv4(1) {
			t.Fatal("collision index does not change the address")
		}
		v6 := p.IPv6()
		if !ULAPrefix.Contains(v6) || v6 == MagicDNSv6 || v6 != p.IPv6() {
			t.Fatalf("bad IPv6 %v", v6)
		}
		seen[v6.String()] = true
	}
	if len(seen) != 2000 {
		t.Errorf("IPv6 collisions among 2000 keys: %d unique", len(seen))
	}
}

func TestValidHostV4(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"100.64.0.1", false},
		{"100.64.0.2", true},
		{"100.64.1.0", false},
		{"100.64.1.255", false},
		{"100.100.100.53", false},
		{"100.100.100.7", false},
		{"100.127.255.254", true},
		{"100.128.0.2", false},
	}
	for _, tc := range tests {
		if got := validHostV4(mustAddr(tc.addr)); got != tc.ok {
			t.Errorf("validHostV4(%s) = %v", tc.addr, got)
		}
	}
}

// TestTLSBinding runs real TLS handshakes: the client reaches the key it
// expects, and refuses any other.
func TestTLSBinding(t *testing.T) {
	srvKey, cliKey, other := NewNode(), NewNode(), NewNode()
	var seenClient NodePublic
	srvConf, err := srvKey.TLSConfig([]string{"x"}, func(p NodePublic) error { seenClient = p; return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		expect NodePublic
		ok     bool
	}{
		{"right key", srvKey.Public(), true},
		{"wrong key", other.Public(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cliConf, err := cliKey.TLSConfig([]string{"x"}, ExpectPeer(tc.expect))
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			errc := make(chan error, 1)
			go func() {
				a, err := ln.Accept()
				if err != nil {
					errc <- err
					return
				}
				defer a.Close()
				errc <- tls.Server(a, srvConf).Handshake()
			}()
			b, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			cerr := tls.Client(b, cliConf).Handshake()
			if tc.ok {
				if cerr != nil {
					t.Fatalf("handshake: %v", cerr)
				}
				if err := <-errc; err != nil {
					t.Fatalf("server: %v", err)
				}
				if seenClient != cliKey.Public() {
					t.Error("server saw the wrong client key")
				}
			} else if cerr == nil {
				t.Fatal("client accepted the wrong server key")
			}
		})
	}
}

func FuzzParseNodePublic(f *testing.F) {
	f.Add(NewNode().Public().String())
	f.Add("")
	f.Add(strings.Repeat("z", 52))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseNodePublic(s)
		if err != nil {
			return
		}
		if q, err := ParseNodePublic(p.String()); err != nil || q != p {
			t.Fatalf("re-parse of %q failed", s)
		}
	})
}
