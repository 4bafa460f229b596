package mdns

import (
	"encoding/base32"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// fixedKey returns a node key derived from seed, so that fuzz corpora
// stay valid across runs.
func fixedKey(t testing.TB, seed byte) key.NodePrivate {
	t.Helper()
	var s [32]byte
	for i := range s {
		s[i] = seed + byte(i)
	}
	enc := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	var k key.NodePrivate
	if err := k.UnmarshalText([]byte("nodekey:" + enc.EncodeToString(s[:]))); err != nil {
		t.Fatal(err)
	}
	return k
}

func manyAddrs(n int) []netip.AddrPort {
	var out []netip.AddrPort
	for i := range n {
		if i%2 == 0 {
			out = append(out, netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 1, byte(i + 1)}), uint16(40000+i)))
		} else {
			out = append(out, netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}), uint16(40000+i)))
		}
	}
	return out
}

// testRecords returns records signed by fixedKey(t, 1), from the
// smallest to the largest possible.
func testRecords(t testing.TB) []netmap.EndpointRecord {
	k := fixedKey(t, 1)
	return []netmap.EndpointRecord{
		netmap.SignEndpoints(k, nil, "", 0),
		netmap.SignEndpoints(k, manyAddrs(2), "https://relay.example", 7),
		netmap.SignEndpoints(k, manyAddrs(netmap.MaxEndpointAddrs), "https://"+strings.Repeat("r", netmap.MaxRelayLen-8), 1<<63),
		netmap.SignRecord(k, manyAddrs(1), "", netmap.Offer{ExitNode: true}, 3),
		netmap.SignRecord(k, manyAddrs(netmap.MaxEndpointAddrs), "https://"+strings.Repeat("r", netmap.MaxRelayLen-8),
			netmap.Offer{ExitNode: true, Routes: manyRoutes(netmap.MaxOfferRoutes)}, 9),
	}
}

// manyRoutes returns n distinct valid routes, IPv4 and IPv6.
func manyRoutes(n int) []netip.Prefix {
	var out []netip.Prefix
	for i := range n {
		if i%2 == 0 {
			out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16))
		} else {
			out = append(out, netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i)}), 64))
		}
	}
	return out
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range testRecords(t) {
		txt, err := encodeTXT(r)
		if err != nil {
			t.Fatal(err)
		}
		if txt[0] != txtVersion || len(txt) > 1+maxChunks {
			t.Errorf("%d addrs: TXT has %d strings starting %q", len(r.Addrs), len(txt), txt[0])
		}
		for _, c := range txt {
			if len(c) > chunkLen {
				t.Errorf("%d addrs: TXT string of %d bytes", len(r.Addrs), len(c))
			}
		}
		back, err := decodeTXT(txt)
		if err != nil {
			t.Fatalf("%d addrs: %v", len(r.Addrs), err)
		}
		if !reflect.DeepEqual(back, r) {
			t.Errorf("%d addrs: round trip\n got %+v\nwant %+v", len(r.Addrs), back, r)
		}
		if err := back.Verify(); err != nil {
			t.Errorf("%d addrs: %v", len(r.Addrs), err)
		}
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, r := range testRecords(t) {
		b, err := buildResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1232 { // fits the IPv6 minimum MTU with headers
			t.Errorf("%d addrs: response of %d bytes", len(r.Addrs), len(b))
		}
		var m dns.Msg
		if err := m.Unpack(b); err != nil {
			t.Fatal(err)
		}
		if !m.Response || !m.Authoritative || m.Id != 0 || len(m.Question) != 0 {
			t.Errorf("header: %+v", m.MsgHdr)
		}
		msg, err := parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if msg.query != nil || len(msg.records) != 1 || !reflect.DeepEqual(msg.records[0], r) {
			t.Errorf("%d addrs: parsed %+v", len(r.Addrs), msg)
		}
	}
}

func TestQueryAndLegacyAnswer(t *testing.T) {
	msg, err := parse(buildQuery())
	if err != nil || msg.query == nil {
		t.Fatalf("own query: %+v, %v", msg, err)
	}
	msg.query.Id = 0x1234
	r := testRecords(t)[1]
	b, err := buildResponse(r, msg.query)
	if err != nil {
		t.Fatal(err)
	}
	var m dns.Msg
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	if m.Id != 0x1234 || len(m.Question) != 1 || m.Question[0].Name != serviceName {
		t.Errorf("legacy answer: id %#x, question %v", m.Id, m.Question)
	}
	for _, rr := range m.Answer {
		if rr.Header().Class != dns.ClassINET {
			t.Errorf("legacy answer has class %#x", rr.Header().Class)
		}
	}

	queries := []struct {
		name  string
		q     dns.Question
		wants bool
	}{
		{"ptr", dns.Question{Name: serviceName, Qtype: dns.TypePTR, Qclass: dns.ClassINET}, true},
		{"any, unicast response bit", dns.Question{Name: "_RAYFISH._udp.local.", Qtype: dns.TypeANY, Qclass: dns.ClassINET | 0x8000}, true},
		{"other service", dns.Question{Name: "_http._tcp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET}, false},
		{"a record", dns.Question{Name: serviceName, Qtype: dns.TypeA, Qclass: dns.ClassINET}, false},
		{"chaos class", dns.Question{Name: serviceName, Qtype: dns.TypePTR, Qclass: dns.ClassCHAOS}, false},
	}
	for _, tt := range queries {
		m := new(dns.Msg)
		m.Question = []dns.Question{tt.q}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		msg, err := parse(b)
		if err != nil || (msg.query != nil) != tt.wants {
			t.Errorf("%s: query %v, err %v, want query %v", tt.name, msg.query != nil, err, tt.wants)
		}
	}
}

// packTXT returns a response with one TXT record per entry of txts under
// name.
func packTXT(t *testing.T, name string, ttl uint32, txts ...[]string) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.Response = true
	for _, txt := range txts {
		m.Answer = append(m.Answer, &dns.TXT{
			Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl},
			Txt: txt,
		})
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseIgnores(t *testing.T) {
	r := testRecords(t)[1]
	txt, err := encodeTXT(r)
	if err != nil {
		t.Fatal(err)
	}
	inst := instanceName(r.Node)
	other := instanceName(fixedKey(t, 2).Public())
	raw, _ := encodeRecord(r)
	withChunks := func(s string) []string {
		out := []string{txtVersion}
		for len(s) > 0 {
			n := min(len(s), 10)
			out = append(out, s[:n])
			s = s[n:]
		}
		return out
	}
	big := make([]byte, maxPacket+1)
	copy(big, packTXT(t, inst, ttl, txt))

	tests := []struct {
		name string
		b    []byte
	}{
		{"garbage", []byte("not dns at all")},
		{"oversized packet", big},
		{"other service", packTXT(t, r.Node.String()[:instanceLen]+"._http._tcp.local.", ttl, txt)},
		{"instance of another node", packTXT(t, other, ttl, txt)},
		{"long instance label", packTXT(t, r.Node.String()[:instanceLen+1]+"."+serviceName, ttl, txt)},
		{"goodbye", packTXT(t, inst, 0, txt)},
		{"other version", packTXT(t, inst, ttl, append([]string{"v=2"}, txt[1:]...))},
		{"no payload", packTXT(t, inst, ttl, []string{txtVersion})},
		{"too many chunks", packTXT(t, inst, ttl, withChunks(b64.EncodeToString(raw)))},
		{"padded base64", packTXT(t, inst, ttl, []string{txtVersion, b64.EncodeToString(raw) + "=="})},
		{"bad base64", packTXT(t, inst, ttl, []string{txtVersion, "!!!!"})},
		{"truncated record", packTXT(t, inst, ttl, []string{txtVersion, b64.EncodeToString(raw[:len(raw)-1])})},
		{"trailing byte", packTXT(t, inst, ttl, []string{txtVersion, b64.EncodeToString(append(raw, 0))})},
	}
	for _, tt := range tests {
		msg, _ := parse(tt.b)
		if len(msg.records) != 0 || msg.query != nil {
			t.Errorf("%s: parsed %+v", tt.name, msg)
		}
	}

	// Only the first maxRecordsPerPacket TXT records are looked at.
	var txts [][]string
	for range maxRecordsPerPacket + 2 {
		txts = append(txts, txt)
	}
	msg, err := parse(packTXT(t, inst, ttl, txts...))
	if err != nil || len(msg.records) != maxRecordsPerPacket {
		t.Errorf("%d records in a packet: parsed %d, %v", len(txts), len(msg.records), err)
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	r := testRecords(t)[1] // one IPv4 and one IPv6 address
	raw, err := encodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), raw...)) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", raw[:minPayload-1]},
		{"too long", make([]byte, maxPayload+1)},
		{"family 5", mutate(func(b []byte) []byte { b[41] = 5; return b })},
		{"too many addrs", mutate(func(b []byte) []byte { b[40] = netmap.MaxEndpointAddrs + 1; return b })},
		{"addr count beyond data", mutate(func(b []byte) []byte { b[40] = 9; return b })},
		{"relay length beyond data", mutate(func(b []byte) []byte { b[len(b)-sigLen-len(r.Relay)-2] = 0xff; return b })},
		{"short sig", raw[:len(raw)-1]},
	}
	for _, tt := range tests {
		if got, err := decodeRecord(tt.b); err == nil {
			t.Errorf("%s: decoded %+v", tt.name, got)
		}
	}
	if _, err := encodeRecord(netmap.EndpointRecord{}); err == nil {
		t.Error("encoded a record without signature")
	}
}

// TestTamperedRejected flips every bit of an encoded record: each result
// is dropped by the parser or fails verification.
func TestTamperedRejected(t *testing.T) {
	r := testRecords(t)[1]
	raw, err := encodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	inst := instanceName(r.Node)
	for i := range raw {
		for bit := range 8 {
			b := append([]byte(nil), raw...)
			b[i] ^= 1 << bit
			name := inst
			if i < 32 { // keep the name matching the claimed node
				var n key.NodePublic
				copy(n[:], b)
				name = instanceName(n)
			}
			txt := []string{txtVersion, b64.EncodeToString(b)}
			msg, _ := parse(packTXT(t, name, ttl, txt))
			for _, got := range msg.records {
				if got.Verify() == nil {
					t.Fatalf("byte %d bit %d: tampered record verifies: %+v", i, bit, got)
				}
			}
		}
	}
}

func TestInstanceLabel(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"abcdefghijklmnop._rayfish._udp.local.", true},
		{"ABCDEFGHIJKLMNOP._RAYFISH._UDP.LOCAL.", true},
		{"abcdefghijklmno._rayfish._udp.local.", false},
		{"abcdefghijklmnopq._rayfish._udp.local.", false},
		{"abcdefghijklmnop._rayfish._tcp.local.", false},
		{"abcdefghijklmnopx_rayfish._udp.local.", false},
		{"_rayfish._udp.local.", false},
	}
	for _, tt := range tests {
		if _, ok := instanceLabel(tt.name); ok != tt.ok {
			t.Errorf("instanceLabel(%q) = %v, want %v", tt.name, ok, tt.ok)
		}
	}
}

// FuzzParse feeds random packets to the receive path. It never panics;
// whatever it decodes re-encodes to the same bytes; and the only records
// that verify are ones the seeds carried, since the fuzzer cannot sign.
func FuzzParse(f *testing.F) {
	legit := map[string]bool{}
	for _, r := range testRecords(f) {
		raw, err := encodeRecord(r)
		if err != nil {
			f.Fatal(err)
		}
		legit[string(raw)] = true
		b, err := buildResponse(r, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		q, _ := parse(buildQuery())
		b, err = buildResponse(r, q.query)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(buildQuery())
	f.Add([]byte{})
	f.Add([]byte("\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := parse(b)
		if err != nil && (msg.query != nil || len(msg.records) != 0) {
			t.Fatalf("error %v with results %+v", err, msg)
		}
		if len(msg.records) > maxRecordsPerPacket {
			t.Fatalf("%d records", len(msg.records))
		}
		for _, r := range msg.records {
			raw, err := encodeRecord(r)
			if err != nil {
				t.Fatalf("decoded record does not encode: %v", err)
			}
			back, err := decodeRecord(raw)
			if err != nil || !reflect.DeepEqual(back, r) {
				t.Fatalf("re-decode: %+v, %v; want %+v", back, err, r)
			}
			if r.Verify() == nil && !legit[string(raw)] {
				t.Fatalf("forged record verifies: %+v", r)
			}
		}
	})
}
