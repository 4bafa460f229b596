package magicdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

// fakeUpstream is a DNS server on 127.0.0.1 whose behavior the test sets.
type fakeUpstream struct {
	pc      net.PacketConn
	handle  func(q *dns.Msg) []*dns.Msg // nil or empty: stay silent
	queries atomic.Int32
	lastUDP atomic.Int32 // EDNS size of the last query (0: none)
	done    chan struct{}
}

func newFakeUpstream(t *testing.T, handle func(q *dns.Msg) []*dns.Msg) *fakeUpstream {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &fakeUpstream{pc: pc, handle: handle, done: make(chan struct{})}
	go u.serve()
	t.Cleanup(func() {
		pc.Close()
		<-u.done
	})
	return u
}

func (u *fakeUpstream) addr() netip.AddrPort {
	return u.pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (u *fakeUpstream) serve() {
	defer close(u.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := u.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		q := new(dns.Msg)
		if q.Unpack(buf[:n]) != nil {
			continue
		}
		u.queries.Add(1)
		u.lastUDP.Store(0)
		if opt := q.IsEdns0(); opt != nil {
			u.lastUDP.Store(int32(opt.UDPSize()))
		}
		for _, m := range u.handle(q) {
			b, err := m.Pack()
			if err != nil {
				panic(err)
			}
			u.pc.WriteTo(b, from)
		}
	}
}

// answerA answers with n A records (and the query's OPT record, if any).
func answerA(n int) func(q *dns.Msg) []*dns.Msg {
	return func(q *dns.Msg) []*dns.Msg {
		m := new(dns.Msg)
		m.SetReply(q)
		for i := range n {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
				A:   net.IPv4(192, 0, 2, byte(i)),
			})
		}
		if opt := q.IsEdns0(); opt != nil {
			m.SetEdns0(opt.UDPSize(), false)
		}
		return []*dns.Msg{m}
	}
}

func rcodeAnswer(rcode int) func(q *dns.Msg) []*dns.Msg {
	return func(q *dns.Msg) []*dns.Msg {
		m := new(dns.Msg)
		m.SetRcode(q, rcode)
		return []*dns.Msg{m}
	}
}

func TestForwarderExchange(t *testing.T) {
	up := newFakeUpstream(t, answerA(1))
	f := NewForwarder(ForwarderConfig{Upstreams: []netip.AddrPort{up.addr()}, Timeout: 5 * time.Second})
	defer f.Close()
	resp, err := f.Exchange(context.Background(), query(t, "example.com.", dns.TypeA, 0))
	if err != nil {
		t.Fatal(err)
	}
	m := unpack(t, resp)
	if m.Id != 0x1234 || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.0" {
		t.Errorf("answer %v", m)
	}
}

func TestForwarderFailover(t *testing.T) {
	silent := newFakeUpstream(t, func(*dns.Msg) []*dns.Msg { return nil })
	failing := newFakeUpstream(t, rcodeAnswer(dns.RcodeServerFailure))
	good := newFakeUpstream(t, answerA(1))
	f := NewForwarder(ForwarderConfig{
		Upstreams: []netip.AddrPort{silent.addr(), failing.addr(), good.addr()},
		Timeout:   200 * time.Millisecond,
	})
	defer f.Close()
	resp, err := f.Exchange(context.Background(), query(t, "example.com.", dns.TypeA, 0))
	if err != nil {
		t.Fatal(err)
	}
	if m := unpack(t, resp); m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
		t.Errorf("answer %v", m)
	}
	if silent.queries.Load() != 1 || failing.queries.Load() != 1 || good.queries.Load() != 1 {
		t.Errorf("queries: %d %d %d", silent.queries.Load(), failing.queries.Load(), good.queries.Load())
	}

	// Only failures: the SERVFAIL is passed on.
	f.SetUpstreams([]netip.AddrPort{silent.addr(), failing.addr()})
	resp, err = f.Exchange(context.Background(), query(t, "example.com.", dns.TypeA, 0))
	if err != nil {
		t.Fatal(err)
	}
	if m := unpack(t, resp); m.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s", dns.RcodeToString[m.Rcode])
	}
	// Only silence: an error.
	f.SetUpstreams([]netip.AddrPort{silent.addr()})
	if _, err := f.Exchange(context.Background(), query(t, "example.com.", dns.TypeA, 0)); err == nil {
		t.Error("silent upstream: no error")
	}
	f.SetUpstreams(nil)
	if _, err := f.Exchange(context.Background(), query(t, "example.com.", dns.TypeA, 0)); !errors.Is(err, ErrNoUpstreams) {
		t.Errorf("no upstreams: %v", err)
	}
}

func TestForwarderIgnoresStrayAnswers(t *testing.T) {
	up := newFakeUpstream(t, func(q *dns.Msg) []*dns.Msg {
		good := answerA(1)(q)[0]
		wrongID := good.Copy()
		wrongID.Id++
		wrongName := good.Copy()
		wrongName.Question[0].Name = "evil.example."
		wrongType := good.Copy()
		wrongType.Question[0].Qtype = dns.TypeAAAA
		notResponse := good.Copy()
		notResponse.Response = false
		return []*dns.Msg{wrongID, wrongName, wrongType, notResponse, good}
	})
	f := NewForwarder(ForwarderConfig{Upstreams: []netip.AddrPort{up.addr()}, Timeout: 5 * time.Second})
	defer f.Close()
	resp, err := f.Exchange(context.Background(), query(t, "Example.COM.", dns.TypeA, 0))
	if err != nil {
		t.Fatal(err)
	}
	if m := unpack(t, resp); m.Id != 0x1234 || m.Question[0].Name != "Example.COM." || len(m.Answer) != 1 {
		t.Errorf("took a stray answer: %v", m)
	}
}

func TestForwarderSizeLimits(t *testing.T) {
	up := newFakeUpstream(t, answerA(100)) // about 1.6 KB
	f := NewForwarder(ForwarderConfig{Upstreams: []netip.AddrPort{up.addr()}, Timeout: 5 * time.Second})
	defer f.Close()
	for _, tt := range []struct {
		edns     uint16
		wantMax  int
		wantEDNS int32 // what the upstream saw
	}{
		{0, 512, 0},
		{1000, 1000, 1000},
		{4096, 1232, 1232},
	} {
		resp, err := f.Exchange(context.Background(), query(t, "big.example.", dns.TypeA, tt.edns))
		if err != nil {
			t.Fatal(err)
		}
		m := unpack(t, resp)
		if len(resp) > tt.wantMax || !m.Truncated || len(m.Answer) == 0 {
			t.Errorf("edns %d: %d bytes, TC %v, %d answers; want at most %d bytes, TC", tt.edns, len(resp), m.Truncated, len(m.Answer), tt.wantMax)
		}
		if got := up.lastUDP.Load(); got != tt.wantEDNS {
			t.Errorf("edns %d: upstream saw size %d, want %d", tt.edns, got, tt.wantEDNS)
		}
	}
	// A small answer passes untouched.
	f.SetUpstreams([]netip.AddrPort{newFakeUpstream(t, answerA(2)).addr()})
	resp, err := f.Exchange(context.Background(), query(t, "small.example.", dns.TypeA, 0))
	if err != nil {
		t.Fatal(err)
	}
	if m := unpack(t, resp); m.Truncated || len(m.Answer) != 2 {
		t.Errorf("small answer %v", m)
	}
}

// blockingDialer hands out connections whose reads block until the
// context ends, and counts dials.
type blockingDialer struct {
	dials atomic.Int32
}

func (d *blockingDialer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	d.dials.Add(1)
	c1, c2 := net.Pipe()
	go func() { // swallow the query; never answer
		buf := make([]byte, 2048)
		for {
			if _, err := c2.Read(buf); err != nil {
				return
			}
		}
	}()
	context.AfterFunc(ctx, func() { c2.Close() })
	return c1, nil
}

func TestForwarderInFlightBound(t *testing.T) {
	var d blockingDialer
	f := NewForwarder(ForwarderConfig{
		Upstreams:   []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:53")}, // never dialed for real
		Dial:        d.dial,
		Timeout:     time.Hour,
		MaxInFlight: 2,
	})
	var called atomic.Int32
	done := func([]byte, error) { called.Add(1) }
	q := query(t, "example.com.", dns.TypeA, 0)
	for i := range 2 {
		if !f.Forward(q, done) {
			t.Fatalf("Forward refused query %d within the bound", i+1)
		}
	}
	if f.Forward(q, done) {
		t.Error("Forward accepted a third query over the bound")
	}
	if f.Dropped() != 1 {
		t.Errorf("Dropped = %d, want 1", f.Dropped())
	}
	if f.Forward([]byte("garbage"), done) {
		t.Error("Forward accepted garbage")
	}
	// Both queries reach the (blocking) upstream.
	enginetest.WaitFor(t, 10*time.Second, "both queries to dial", func() bool { return d.dials.Load() >= 2 })
	// Close stops the blocked queries without calling done.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if called.Load() != 0 {
		t.Errorf("done called %d times after Close", called.Load())
	}
	if f.Forward(q, done) {
		t.Error("Forward accepted a query after Close")
	}
	if d.dials.Load() != 2 {
		t.Errorf("dialed %d times, want 2", d.dials.Load())
	}
}

func TestForwarderDialError(t *testing.T) {
	f := NewForwarder(ForwarderConfig{
		Upstreams: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:53")},
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, fmt.Errorf("no route")
		},
	})
	defer f.Close()
	errc := make(chan error, 1)
	if !f.Forward(query(t, "example.com.", dns.TypeA, 0), func(_ []byte, err error) { errc <- err }) {
		t.Fatal("Forward refused")
	}
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "no route") {
		t.Errorf("error %v", err)
	}
}

func TestHandlePacketForwarded(t *testing.T) {
	up := newFakeUpstream(t, answerA(1))
	f := NewForwarder(ForwarderConfig{Upstreams: []netip.AddrPort{up.addr()}, Timeout: 5 * time.Second})
	defer f.Close()
	delivered := make(chan []byte, 4)
	r := newTestResolver(t, Config{Forwarder: f, Deliver: func(pkt []byte) {
		delivered <- append([]byte(nil), pkt...)
	}})
	client := netip.MustParseAddrPort("[fd72:6179:6669:0:1::2]:41000")
	pkt := udpPacket(client, netip.AddrPortFrom(key.MagicDNSv6, 53), query(t, "example.com.", dns.TypeA, 0))
	var info packet.Info
	if err := packet.Parse(pkt, &info); err != nil {
		t.Fatal(err)
	}
	n, err := r.HandlePacket(pkt, make([]byte, 1280), &info)
	if n != 0 || err != nil {
		t.Fatalf("HandlePacket = %d, %v", n, err)
	}
	clear(pkt) // the resolver must have copied what it needs
	reply := <-delivered
	ri, m := replyPayload(t, reply)
	if ri.Src != key.MagicDNSv6 || ri.Dst != client.Addr() || ri.DstPort != client.Port() || ri.SrcPort != 53 {
		t.Errorf("reply %+v", ri)
	}
	if m.Id != 0x1234 || len(m.Answer) != 1 {
		t.Errorf("answer %v", m)
	}

	// Every upstream failing: SERVFAIL.
	f.SetUpstreams([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1")}) // closed port: refused at once
	pkt = udpPacket(client, netip.AddrPortFrom(key.MagicDNSv6, 53), query(t, "example.com.", dns.TypeA, 0))
	if err := packet.Parse(pkt, &info); err != nil {
		t.Fatal(err)
	}
	if _, err := r.HandlePacket(pkt, make([]byte, 1280), &info); err != nil {
		t.Fatal(err)
	}
	if _, m := replyPayload(t, <-delivered); m.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s", dns.RcodeToString[m.Rcode])
	}
	if st := r.Stats(); st[StatForwarded] != 2 || st[StatForwardFailed] != 1 {
		t.Errorf("Stats = %v", st)
	}
}
