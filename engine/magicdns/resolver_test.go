package magicdns

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

func TestHandleLocal(t *testing.T) {
	r := newTestResolver(t, Config{})
	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		rcode   int
		answers []string // RR data in order (A/AAAA address or PTR target)
		soa     bool     // negative answer carries the zone's SOA
	}{
		{"A", "laptop.home.ray.", dns.TypeA, dns.RcodeSuccess, []string{"100.64.1.2"}, false},
		{"AAAA", "laptop.home.ray.", dns.TypeAAAA, dns.RcodeSuccess, []string{"fd72:6179:6669:0:1::2"}, false},
		{"case folded", "LapTop.HOME.Ray.", dns.TypeA, dns.RcodeSuccess, []string{"100.64.1.2"}, false},
		{"other network", "laptop.work.ray.", dns.TypeA, dns.RcodeSuccess, []string{"100.70.0.9"}, false},
		{"bare name, first network wins", "laptop.ray.", dns.TypeA, dns.RcodeSuccess, []string{"100.64.1.2"}, false},
		{"bare name, unique", "db.ray.", dns.TypeA, dns.RcodeSuccess, []string{"100.70.0.10"}, false},
		{"ANY", "nas.ray.", dns.TypeANY, dns.RcodeSuccess, []string{"100.64.1.3", "fd72:6179:6669:0:1::3"}, false},
		{"labels sanitized", "build-box.lab-net.ray.", dns.TypeA, dns.RcodeSuccess, []string{"100.99.0.1"}, false},
		{"no AAAA: NODATA", "db.work.ray.", dns.TypeAAAA, dns.RcodeSuccess, nil, true},
		{"MX: NODATA", "laptop.ray.", dns.TypeMX, dns.RcodeSuccess, nil, true},
		{"network name: NODATA", "home.ray.", dns.TypeA, dns.RcodeSuccess, nil, true},
		{"apex: NODATA", "ray.", dns.TypeA, dns.RcodeSuccess, nil, true},
		{"unknown host", "nope.ray.", dns.TypeA, dns.RcodeNameError, nil, true},
		{"unknown host in network", "nope.home.ray.", dns.TypeA, dns.RcodeNameError, nil, true},
		{"host in wrong network", "db.home.ray.", dns.TypeA, dns.RcodeNameError, nil, true},
		{"too deep", "a.laptop.home.ray.", dns.TypeA, dns.RcodeNameError, nil, true},
		{"outside overlay never served", "bank.evil.ray.", dns.TypeA, dns.RcodeSuccess, nil, true},
		{"outside overlay never served v6", "bank.evil.ray.", dns.TypeAAAA, dns.RcodeSuccess, nil, true},
		{"nameless network skipped", "nonet.ray.", dns.TypeA, dns.RcodeNameError, nil, true},
		{"PTR v4 bare", "2.1.64.100.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"laptop.ray."}, false},
		{"PTR v4 qualified", "9.0.70.100.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"laptop.work.ray."}, false},
		{"PTR v4 first name", "3.1.64.100.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"nas.ray."}, false},
		{"PTR v4 case", "2.1.64.100.IN-ADDR.ARPA.", dns.TypePTR, dns.RcodeSuccess, []string{"laptop.ray."}, false},
		{"PTR v6", mustReverse("fd72:6179:6669:0:1::2"), dns.TypePTR, dns.RcodeSuccess, []string{"laptop.ray."}, false},
		{"PTR resolver v4", "53.100.100.100.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{ResolverName}, false},
		{"PTR resolver v6", mustReverse("fd72:6179:6669::53"), dns.TypePTR, dns.RcodeSuccess, []string{ResolverName}, false},
		{"PTR unknown overlay v4", "9.9.64.100.in-addr.arpa.", dns.TypePTR, dns.RcodeNameError, nil, true},
		{"PTR unknown overlay v6", mustReverse("fd72:6179:6669::99"), dns.TypePTR, dns.RcodeNameError, nil, true},
		{"A on reverse name", "2.1.64.100.in-addr.arpa.", dns.TypeA, dns.RcodeSuccess, nil, true},
		{"resolver's name", "magicdns.ray.", dns.TypeA, dns.RcodeSuccess, []string{"100.100.100.53"}, false},
		{"resolver's name v6", "MagicDNS.ray.", dns.TypeAAAA, dns.RcodeSuccess, []string{"fd72:6179:6669::53"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := make([]byte, 512)
			n, fwd, err := r.Handle(query(t, tt.qname, tt.qtype, 0), resp)
			if err != nil || fwd {
				t.Fatalf("Handle = %d, %v, %v", n, fwd, err)
			}
			m := unpack(t, resp[:n])
			if m.Id != 0x1234 || !m.Response || !m.Authoritative || !m.RecursionDesired || m.Rcode != tt.rcode {
				t.Errorf("header: id %#x qr %v aa %v rd %v rcode %s", m.Id, m.Response, m.Authoritative, m.RecursionDesired, dns.RcodeToString[m.Rcode])
			}
			if len(m.Question) != 1 || m.Question[0].Name != tt.qname {
				t.Errorf("question %v, want %s as asked", m.Question, tt.qname)
			}
			var got []string
			for _, rr := range m.Answer {
				if rr.Header().Name != tt.qname || rr.Header().Ttl != answerTTL {
					t.Errorf("answer header %v", rr.Header())
				}
				switch rr := rr.(type) {
				case *dns.A:
					got = append(got, rr.A.String())
				case *dns.AAAA:
					got = append(got, rr.AAAA.String())
				case *dns.PTR:
					got = append(got, rr.Ptr)
				}
			}
			if !slices.Equal(got, tt.answers) {
				t.Errorf("answers %v, want %v", got, tt.answers)
			}
			hasSOA := len(m.Ns) == 1 && m.Ns[0].Header().Rrtype == dns.TypeSOA
			if hasSOA != tt.soa {
				t.Errorf("authority %v, want SOA: %v", m.Ns, tt.soa)
			}
			if m.IsEdns0() != nil {
				t.Error("OPT record in answer to a query without EDNS0")
			}
		})
	}
}

func TestHandleSOA(t *testing.T) {
	r := newTestResolver(t, Config{})
	for _, tt := range []struct {
		qname, qtype string
		answer, ns   string // owner of the SOA in either section
	}{
		{"ray.", "SOA", "ray.", ""},
		{"Ray.", "SOA", "Ray.", ""},
		{"nope.ray.", "A", "", "ray."},
		{"9.9.64.100.in-addr.arpa.", "PTR", "", "64.100.in-addr.arpa."},
		{"9.9.127.100.in-addr.arpa.", "PTR", "", "127.100.in-addr.arpa."},
		{mustReverse("fd72:6179:6669::99"), "PTR", "", "9.6.6.6.9.7.1.6.2.7.d.f.ip6.arpa."},
	} {
		resp := make([]byte, 512)
		n, _, err := r.Handle(query(t, tt.qname, dns.StringToType[tt.qtype], 0), resp)
		if err != nil {
			t.Fatal(err)
		}
		m := unpack(t, resp[:n])
		owner := func(rrs []dns.RR) string {
			if len(rrs) == 1 && rrs[0].Header().Rrtype == dns.TypeSOA {
				return rrs[0].Header().Name
			}
			return ""
		}
		if owner(m.Answer) != tt.answer || owner(m.Ns) != tt.ns {
			t.Errorf("%s %s: answer %v, authority %v", tt.qname, tt.qtype, m.Answer, m.Ns)
		}
	}
}

func mustReverse(ip string) string {
	s, err := dns.ReverseAddr(ip)
	if err != nil {
		panic(err)
	}
	return s
}

func TestHandleForwardDecision(t *testing.T) {
	r := newTestResolver(t, Config{})
	for _, tt := range []struct {
		qname   string
		forward bool
	}{
		{"example.com.", true},
		{"laptop.", true}, // single label: not ours
		{"ray.example.com.", true},
		{"xray.", true},
		{"1.1.168.192.in-addr.arpa.", true},      // LAN reverse lookups go upstream
		{"1.0.0.100.in-addr.arpa.", true},        // 100.0.0.1 is outside 100.64/10
		{"64.100.in-addr.arpa.", true},           // partial names go upstream
		{mustReverse("2001:db8::1"), true},       // not our ULA
		{mustReverse("fd72:6179:666a::1"), true}, // the next /48
		{"laptop.ray.", false},
		{"anything.at.all.ray.", false},
		{"1.0.64.100.in-addr.arpa.", false},
		{"255.255.127.100.in-addr.arpa.", false},
	} {
		resp := make([]byte, 512)
		n, fwd, err := r.Handle(query(t, tt.qname, dns.TypeA, 0), resp)
		if err != nil || fwd != tt.forward || (n == 0) != tt.forward {
			t.Errorf("%s: Handle = %d, %v, %v; want forward %v", tt.qname, n, fwd, err, tt.forward)
		}
	}
	if st := r.Stats(); st[StatLocal] != 4 {
		t.Errorf("Stats = %v", st)
	}
}

func TestHandleMalformed(t *testing.T) {
	r := newTestResolver(t, Config{})
	resp := make([]byte, 512)

	// Too short or a response: no answer at all.
	for _, q := range [][]byte{nil, {1, 2, 3}, make([]byte, 11)} {
		if n, fwd, err := r.Handle(q, resp); !errors.Is(err, ErrNotQuery) || n != 0 || fwd {
			t.Errorf("Handle(%x) = %d, %v, %v", q, n, fwd, err)
		}
	}
	isResp := query(t, "laptop.ray.", dns.TypeA, 0)
	isResp[2] |= 0x80
	if _, _, err := r.Handle(isResp, resp); !errors.Is(err, ErrNotQuery) {
		t.Errorf("response as query: %v", err)
	}

	rcode := func(q []byte) (*dns.Msg, int) {
		t.Helper()
		n, fwd, err := r.Handle(q, resp)
		if err != nil || fwd {
			t.Fatalf("Handle = %d, %v, %v", n, fwd, err)
		}
		m := unpack(t, resp[:n])
		if m.Id != 0x1234 || !m.Response {
			t.Errorf("header %+v", m.MsgHdr)
		}
		return m, m.Rcode
	}

	// A header promising a question that is not there: FORMERR.
	trunc := query(t, "laptop.ray.", dns.TypeA, 0)[:15]
	if m, rc := rcode(trunc); rc != dns.RcodeFormatError || !m.RecursionDesired {
		t.Errorf("truncated query: rcode %s, rd %v", dns.RcodeToString[rc], m.RecursionDesired)
	}
	// Two questions: FORMERR.
	two := new(dns.Msg)
	two.SetQuestion("laptop.ray.", dns.TypeA)
	two.Question = append(two.Question, dns.Question{Name: "nas.ray.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	two.Id = 0x1234
	b, _ := two.Pack()
	if _, rc := rcode(b); rc != dns.RcodeFormatError {
		t.Errorf("two questions: rcode %s", dns.RcodeToString[rc])
	}
	// No question: FORMERR.
	none := &dns.Msg{MsgHdr: dns.MsgHdr{Id: 0x1234}}
	b, _ = none.Pack()
	if _, rc := rcode(b); rc != dns.RcodeFormatError {
		t.Errorf("no question: rcode %s", dns.RcodeToString[rc])
	}
	// Not a QUERY: NOTIMP.
	upd := new(dns.Msg)
	upd.SetUpdate("home.ray.")
	upd.Id = 0x1234
	b, _ = upd.Pack()
	if _, rc := rcode(b); rc != dns.RcodeNotImplemented {
		t.Errorf("update: rcode %s", dns.RcodeToString[rc])
	}
	// EDNS version 1: BADVERS.
	v1 := new(dns.Msg)
	v1.SetQuestion("laptop.ray.", dns.TypeA)
	v1.Id = 0x1234
	v1.SetEdns0(1232, false)
	v1.IsEdns0().SetVersion(1)
	b, _ = v1.Pack()
	if _, rc := rcode(b); rc != dns.RcodeBadVers {
		t.Errorf("EDNS version 1: rcode %s", dns.RcodeToString[rc])
	}
	// CHAOS class under .ray: REFUSED.
	ch := new(dns.Msg)
	ch.SetQuestion("version.ray.", dns.TypeTXT)
	ch.Question[0].Qclass = dns.ClassCHAOS
	ch.Id = 0x1234
	b, _ = ch.Pack()
	if _, rc := rcode(b); rc != dns.RcodeRefused {
		t.Errorf("CHAOS: rcode %s", dns.RcodeToString[rc])
	}
	if st := r.Stats(); st[StatMalformed] != 5 {
		t.Errorf("malformed count %d, want 5", st[StatMalformed])
	}

	// A response buffer too small.
	if _, _, err := r.Handle(query(t, "laptop.ray.", dns.TypeA, 0), make([]byte, 20)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short buffer: %v", err)
	}
}

func TestHandleEDNS(t *testing.T) {
	r := newTestResolver(t, Config{})
	resp := make([]byte, 4096)
	n, _, err := r.Handle(query(t, "laptop.ray.", dns.TypeA, 4096), resp)
	if err != nil {
		t.Fatal(err)
	}
	m := unpack(t, resp[:n])
	opt := m.IsEdns0()
	if opt == nil || opt.UDPSize() != MaxUDPSize || len(m.Answer) != 1 {
		t.Errorf("EDNS answer: opt %v, answers %v", opt, m.Answer)
	}
}

func TestClientSize(t *testing.T) {
	for _, tt := range []struct {
		advertised uint16
		want       int
	}{
		{0, 512}, {100, 512}, {512, 512}, {1000, 1000}, {1232, 1232}, {4096, 1232}, {65535, 1232},
	} {
		if got := clientSize(tt.advertised); got != tt.want {
			t.Errorf("clientSize(%d) = %d, want %d", tt.advertised, got, tt.want)
		}
	}
}

func TestHandlePacketLocal(t *testing.T) {
	r := newTestResolver(t, Config{})
	for _, tt := range []struct {
		client, server string
	}{
		{"100.64.1.2:40000", "100.100.100.53:53"},
		{"[fd72:6179:6669:0:1::2]:40000", "[fd72:6179:6669::53]:53"},
	} {
		client, server := netip.MustParseAddrPort(tt.client), netip.MustParseAddrPort(tt.server)
		pkt := udpPacket(client, server, query(t, "nas.home.ray.", dns.TypeAAAA, 1232))
		var info packet.Info
		if err := packet.Parse(pkt, &info); err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 1280)
		n, err := r.HandlePacket(pkt, out, &info)
		if err != nil {
			t.Fatalf("%s: %v", tt.client, err)
		}
		ri, m := replyPayload(t, out[:n])
		if ri.Src != server.Addr() || ri.Dst != client.Addr() || ri.SrcPort != 53 || ri.DstPort != client.Port() {
			t.Errorf("reply %+v", ri)
		}
		if len(m.Answer) != 1 || m.Answer[0].(*dns.AAAA).AAAA.String() != "fd72:6179:6669:0:1::3" {
			t.Errorf("answer %v", m.Answer)
		}
	}

	// Not for the resolver.
	pkt := udpPacket(netip.MustParseAddrPort("100.64.1.2:40000"), netip.MustParseAddrPort("100.64.1.3:53"), query(t, "x.ray.", dns.TypeA, 0))
	var info packet.Info
	if err := packet.Parse(pkt, &info); err != nil {
		t.Fatal(err)
	}
	if _, err := r.HandlePacket(pkt, make([]byte, 1280), &info); !errors.Is(err, ErrNotForUs) {
		t.Errorf("packet to a peer: %v", err)
	}
	// Forwarded names without a forwarder get SERVFAIL at once.
	pkt = udpPacket(netip.MustParseAddrPort("100.64.1.2:40000"), netip.AddrPortFrom(key.MagicDNSv4, 53), query(t, "example.com.", dns.TypeA, 0))
	if err := packet.Parse(pkt, &info); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 1280)
	n, err := r.HandlePacket(pkt, out, &info)
	if err != nil {
		t.Fatal(err)
	}
	if _, m := replyPayload(t, out[:n]); m.Rcode != dns.RcodeServerFailure {
		t.Errorf("no forwarder: rcode %s", dns.RcodeToString[m.Rcode])
	}
	// A truncated UDP datagram is refused.
	bad := slices.Clone(pkt)
	bad[len(bad)-len(query(t, "example.com.", dns.TypeA, 0))-4] = 0xff // UDP length
	if err := packet.Parse(bad, &info); err == nil {
		if _, err := r.HandlePacket(bad, out, &info); err == nil {
			t.Error("HandlePacket accepted a bad UDP length")
		}
	}
}

func TestLabel(t *testing.T) {
	for in, want := range map[string]string{
		"laptop":                       "laptop",
		"LapTop":                       "laptop",
		"Build_Box":                    "build-box",
		"my net":                       "my-net",
		"a.b":                          "a-b",
		"--x--":                        "x",
		"a  b":                         "a-b",
		"ünïcode":                      "ncode",
		"!!!":                          "",
		"":                             "",
		strings.Repeat("a", 70):        strings.Repeat("a", 63),
		strings.Repeat("a", 62) + "-b": strings.Repeat("a", 62),
	} {
		if got := Label(in); got != want {
			t.Errorf("Label(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseReverse(t *testing.T) {
	for _, ip := range []string{"100.64.0.1", "0.0.0.0", "255.255.255.255", "fd72:6179:6669::53", "::", "2001:db8::abcd:1"} {
		a := netip.MustParseAddr(ip)
		got, ok := parseReverse(mustReverse(ip))
		if !ok || got != a {
			t.Errorf("parseReverse(%s) = %v, %v", mustReverse(ip), got, ok)
		}
	}
	for _, bad := range []string{
		"1.2.3.in-addr.arpa.", "1.2.3.4.5.in-addr.arpa.", "256.1.1.1.in-addr.arpa.", "01.1.1.1.in-addr.arpa.",
		"a.1.1.1.in-addr.arpa.", "..1.1.in-addr.arpa.", "1.2.3.4.in-addr.arpa", "ip6.arpa.",
		strings.Repeat("0.", 31) + "g.ip6.arpa.", strings.Repeat("0.", 33) + "ip6.arpa.", strings.Repeat("00", 31) + "0.ip6.arpa.",
		"example.com.",
	} {
		if got, ok := parseReverse(bad); ok {
			t.Errorf("parseReverse(%q) = %v", bad, got)
		}
	}
}

func BenchmarkHandleLocal(b *testing.B) {
	r := newTestResolver(b, Config{})
	q := query(b, "laptop.home.ray.", dns.TypeA, 1232)
	resp := make([]byte, 1232)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.Handle(q, resp); err != nil {
			b.Fatal(err)
		}
	}
}
