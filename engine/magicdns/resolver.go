// Package magicdns is rayfish's in-tunnel DNS resolver, reached at
// key.MagicDNSv4 and key.MagicDNSv6 port 53 and intercepted by the data
// path (no host port 53 is ever bound).
//
// It answers names under ".ray" (host.network.ray and host.ray; A, AAAA)
// and reverse names of overlay addresses (PTR) from a Table built from the
// rosters, and hands every other query to a Forwarder, which relays it to
// the system's upstream resolvers over UDP.
//
// Answers respect the client's size limit: 512 bytes without EDNS0, else
// the advertised size capped at MaxUDPSize, with TC set when records had
// to be left out.
package magicdns

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

// Response sizes.
const (
	// MinUDPSize is the limit of a client without EDNS0 (RFC 1035).
	MinUDPSize = 512
	// MaxUDPSize caps any client's advertised size: larger answers would
	// risk IP fragmentation (DNS flag day 2020).
	MaxUDPSize = 1232
	// headerLen is the length of a DNS message header.
	headerLen = 12
)

// TTLs of local answers, in seconds. Names change when rosters change,
// so they are short.
const (
	answerTTL   = 60
	negativeTTL = 10
)

// Errors from Handle and HandlePacket.
var (
	// ErrNotQuery means the message is too short to answer or is itself a
	// response; it is dropped without an answer.
	ErrNotQuery = errors.New("magicdns: not a DNS query")
	// ErrNotForUs means the packet is not UDP to the resolver's address
	// and port 53.
	ErrNotForUs = errors.New("magicdns: packet not for the resolver")
	// ErrShortBuffer means the response buffer is too small.
	ErrShortBuffer = errors.New("magicdns: response buffer too small")
	// ErrForwardDropped means too many forwarded queries are in flight,
	// or the forwarder is closed; the query is dropped (the client
	// retries).
	ErrForwardDropped = errors.New("magicdns: forward dropped")
)

// Stat names reported by Resolver.Stats.
const (
	StatLocal          = "dns_local"           // answered from the table
	StatForwarded      = "dns_forwarded"       // handed to the forwarder
	StatForwardDropped = "dns_forward_dropped" // dropped: too many in flight
	StatForwardFailed  = "dns_forward_failed"  // every upstream failed; SERVFAIL sent
	StatMalformed      = "dns_malformed"       // unparseable query
)

// Config configures a Resolver.
type Config struct {
	// Forwarder relays queries the resolver does not answer itself. If
	// nil, such queries get SERVFAIL.
	Forwarder *Forwarder
	// Deliver receives the reply packets of forwarded queries that came
	// through HandlePacket, to be written into the TUN. It is called
	// from the forwarder's goroutines and must not keep pkt.
	Deliver func(pkt []byte)
}

// Resolver answers magic DNS queries. It is safe for concurrent use.
type Resolver struct {
	fwd     *Forwarder
	deliver func([]byte)
	table   atomic.Pointer[Table]

	local, forwarded, fwdFailed, malformed atomic.Uint64
}

// NewResolver returns a resolver with an empty table.
func NewResolver(cfg Config) *Resolver {
	r := &Resolver{fwd: cfg.Forwarder, deliver: cfg.Deliver}
	r.table.Store(NewTable(nil))
	return r
}

// SetTable installs t; queries already being answered finish with the old
// table.
func (r *Resolver) SetTable(t *Table) { r.table.Store(t) }

// Table returns the installed table.
func (r *Resolver) Table() *Table { return r.table.Load() }

func (r *Resolver) fwdDropped() uint64 {
	if r.fwd == nil {
		return 0
	}
	return r.fwd.Dropped()
}

// Stats returns counters by name (the Stat constants). The forwarder's
// drops are included.
func (r *Resolver) Stats() map[string]uint64 {
	return map[string]uint64{
		StatLocal:          r.local.Load(),
		StatForwarded:      r.forwarded.Load(),
		StatForwardDropped: r.fwdDropped(),
		StatForwardFailed:  r.fwdFailed.Load(),
		StatMalformed:      r.malformed.Load(),
	}
}

// Handle answers the DNS query in query. For names the resolver answers
// itself (and for malformed queries, which get FORMERR), it writes the
// response into resp and returns its length. For any other name it
// returns forward = true and writes nothing: the caller passes the query
// to a Forwarder. It returns ErrNotQuery for messages that must not be
// answered at all.
func (r *Resolver) Handle(query []byte, resp []byte) (n int, forward bool, err error) {
	res := r.handle(query)
	if res.err != nil {
		return 0, false, res.err
	}
	if res.forward {
		return 0, true, nil
	}
	return res.pack(resp)
}

// result is what handle decided about a query.
type result struct {
	err     error
	forward bool
	// maxSize is the client's size limit.
	maxSize int
	// reply is the local answer; raw is a prepacked one (FORMERR for a
	// query that did not parse).
	reply *dns.Msg
	raw   []byte
	// query is the parsed query, for forwarding.
	query *dns.Msg
}

func (res *result) pack(resp []byte) (int, bool, error) {
	if len(resp) < headerLen {
		return 0, false, ErrShortBuffer
	}
	if res.raw != nil {
		if len(resp) < len(res.raw) {
			return 0, false, ErrShortBuffer
		}
		return copy(resp, res.raw), false, nil
	}
	res.reply.Truncate(res.maxSize)
	b, err := res.reply.PackBuffer(resp)
	if err != nil {
		return 0, false, fmt.Errorf("magicdns: pack response: %w", err)
	}
	if len(b) > len(resp) {
		return 0, false, ErrShortBuffer
	}
	if &b[0] != &resp[0] {
		copy(resp, b)
	}
	return len(b), false, nil
}

func (r *Resolver) handle(query []byte) result {
	if len(query) < headerLen || query[2]&0x80 != 0 { // too short, or QR set
		r.malformed.Add(1)
		return result{err: ErrNotQuery}
	}
	q := new(dns.Msg)
	if err := q.Unpack(query); err != nil {
		r.malformed.Add(1)
		return result{raw: formErr(query)}
	}
	res := result{maxSize: MinUDPSize, query: q}
	reply := new(dns.Msg)
	reply.SetReply(q)
	reply.RecursionAvailable = true
	res.reply = reply
	opt := q.IsEdns0()
	if opt != nil {
		res.maxSize = clientSize(opt.UDPSize())
		reply.SetEdns0(MaxUDPSize, false)
		if opt.Version() != 0 {
			reply.Rcode = dns.RcodeBadVers
			return res
		}
	}
	switch {
	case q.Opcode != dns.OpcodeQuery:
		reply.Rcode = dns.RcodeNotImplemented
		return res
	case len(q.Question) != 1:
		reply.Rcode = dns.RcodeFormatError
		return res
	}
	question := q.Question[0]
	name := strings.ToLower(question.Name)
	local, zone := r.isLocal(name)
	if !local {
		res.forward = true
		res.reply = nil
		return res
	}
	r.local.Add(1)
	if question.Qclass != dns.ClassINET && question.Qclass != dns.ClassANY {
		reply.Rcode = dns.RcodeRefused
		return res
	}
	reply.Authoritative = true
	r.answer(reply, question, name, zone)
	return res
}

// clientSize is the response size limit for an advertised EDNS0 size.
func clientSize(advertised uint16) int {
	return min(max(int(advertised), MinUDPSize), MaxUDPSize)
}

// isLocal reports whether the resolver answers name itself, and the zone
// it belongs to (for the SOA of negative answers).
func (r *Resolver) isLocal(name string) (bool, string) {
	if name == Domain || strings.HasSuffix(name, "."+Domain) {
		return true, Domain
	}
	if ip, ok := parseReverse(name); ok {
		if ip.Is4() && key.CGNATPrefix.Contains(ip) {
			// The /16 reverse zone holding the address.
			return true, strconv.Itoa(int(ip.As4()[1])) + ".100.in-addr.arpa."
		}
		if ip.Is6() && key.ULAPrefix.Contains(ip) {
			return true, ula48Zone
		}
	}
	return false, ""
}

// ula48Zone is the reverse zone of key.ULAPrefix.
var ula48Zone = func() string {
	s, _ := dns.ReverseAddr(key.ULAPrefix.Addr().String())
	// Keep the last 12 nibbles (48 bits) and the suffix.
	return s[len(s)-len("x.")*12-len("ip6.arpa."):]
}()

// answer fills reply for a local name (lowercase in name, as asked in q).
func (r *Resolver) answer(reply *dns.Msg, q dns.Question, name, zone string) {
	t := r.table.Load()
	hdr := func(rrtype uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: answerTTL}
	}
	if ip, ok := parseReverse(name); ok {
		target, found := t.reverse(ip)
		switch {
		case !found:
			reply.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypePTR || q.Qtype == dns.TypeANY:
			reply.Answer = append(reply.Answer, &dns.PTR{Hdr: hdr(dns.TypePTR), Ptr: target})
		}
	} else {
		a, found, exists := t.lookup(name)
		switch {
		case !exists:
			reply.Rcode = dns.RcodeNameError
		case found:
			if a.v4.IsValid() && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY) {
				reply.Answer = append(reply.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: net.IP(a.v4.AsSlice())})
			}
			if a.v6.IsValid() && (q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY) {
				reply.Answer = append(reply.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.IP(a.v6.AsSlice())})
			}
		}
	}
	soa := &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: negativeTTL},
		Ns:      ResolverName,
		Mbox:    "hostmaster." + Domain,
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  negativeTTL,
	}
	if name == zone && (q.Qtype == dns.TypeSOA || q.Qtype == dns.TypeANY) {
		soa.Hdr.Name = q.Name
		reply.Rcode = dns.RcodeSuccess
		reply.Answer = append(reply.Answer, soa)
		return
	}
	if len(reply.Answer) == 0 {
		// NXDOMAIN or NODATA: the zone's SOA lets resolvers cache it
		// briefly (RFC 2308).
		reply.Ns = append(reply.Ns, soa)
	}
}

// formErr returns a FORMERR response to a query whose header is intact
// but whose body did not parse: the header echoed with QR set, no
// records.
func formErr(query []byte) []byte {
	b := make([]byte, headerLen)
	copy(b, query[:4])
	b[2] = 0x80 | query[2]&0x79 // QR, keep opcode and RD
	b[3] = dns.RcodeFormatError
	return b
}

// servFail returns a SERVFAIL response to q.
func servFail(q *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(q, dns.RcodeServerFailure)
	m.RecursionAvailable = true
	if q.IsEdns0() != nil {
		m.SetEdns0(MaxUDPSize, false)
	}
	return m
}

// HandlePacket answers pkt, an IP packet carrying a UDP datagram to port
// 53 of key.MagicDNSv4 or key.MagicDNSv6 that info describes. A local
// answer is written into out as a whole reply packet (from the resolver's
// address to the client) and its length returned; out should hold 1280
// bytes. A forwarded query returns 0 and nil: its reply packet goes to
// Config.Deliver when it arrives (SERVFAIL if every upstream fails). A
// query that is dropped returns 0 and an error.
func (r *Resolver) HandlePacket(pkt []byte, out []byte, info *packet.Info) (int, error) {
	if info.Dst != key.MagicDNSv4 && info.Dst != key.MagicDNSv6 {
		return 0, ErrNotForUs
	}
	return r.HandleAnyPacket(pkt, out, info)
}

// HandleAnyPacket is HandlePacket for a query to any address: an exit
// node answers its members' queries to its own overlay address (the
// reply comes from that address).
func (r *Resolver) HandleAnyPacket(pkt []byte, out []byte, info *packet.Info) (int, error) {
	if info.Proto != packet.ProtoUDP || info.DstPort != 53 {
		return 0, ErrNotForUs
	}
	payload, err := packet.UDPPayload(pkt, info)
	if err != nil {
		r.malformed.Add(1)
		return 0, fmt.Errorf("magicdns: %w", err)
	}
	res := r.handle(payload)
	if res.err != nil {
		return 0, res.err
	}
	if res.forward {
		if r.fwd == nil {
			res.reply = servFail(res.query)
		} else {
			return 0, r.forwardPacket(pkt[:info.Len], res)
		}
	}
	// The answer goes where BuildUDPReply puts the payload: after a plain
	// IP header (replies carry no options or extension headers) and the
	// UDP header.
	off := 20 + 8
	if info.Version == 6 {
		off = 40 + 8
	}
	if len(out) < off+headerLen {
		return 0, ErrShortBuffer
	}
	n, _, err := res.pack(out[off:])
	if err != nil {
		return 0, err
	}
	m, err := packet.BuildUDPReply(out, pkt[:info.Len], out[off:off+n])
	if err != nil {
		return 0, fmt.Errorf("magicdns: build reply: %w", err)
	}
	return m, nil
}

// forwardPacket hands a query to the forwarder and arranges for the reply
// packet to be delivered.
func (r *Resolver) forwardPacket(pkt []byte, res result) error {
	orig := append([]byte(nil), pkt...)
	q := res.query
	ok := r.fwd.forward(q, res.maxSize, func(resp []byte, err error) {
		if err != nil {
			r.fwdFailed.Add(1)
			resp, err = servFail(q).Pack()
			if err != nil {
				return
			}
		}
		out := make([]byte, 40+8+len(resp))
		n, err := packet.BuildUDPReply(out, orig, resp)
		if err != nil || r.deliver == nil {
			return
		}
		r.deliver(out[:n])
	})
	if !ok {
		return ErrForwardDropped
	}
	r.forwarded.Add(1)
	return nil
}
