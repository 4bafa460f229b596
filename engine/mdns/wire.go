package mdns

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// Wire format.
//
// An announcement is an unsolicited mDNS response (QR=1, AA=1, ID 0) with
// two answers:
//
//	_rayfish._udp.local.                 PTR  <inst>._rayfish._udp.local.
//	<inst>._rayfish._udp.local.  (flush) TXT  "v=1" <chunk> <chunk> ...
//
// where <inst> is the first instanceLen characters of the node id and the
// chunks, concatenated, are the unpadded URL-safe base64 of the node's
// signed endpoint record in the binary form below, cut into DNS character
// strings of at most 255 bytes:
//
//	node   [32]byte
//	seq    uint64
//	naddrs uint8
//	addrs  naddrs × (family uint8 (4|6), address [4|16]byte, port uint16)
//	relay  uint16 length, then bytes
//	offer  optional: netmap.AppendOffer's form (exit node, routes)
//	sig    [64]byte
//
// Integers are big-endian. A query is a plain mDNS question for PTR
// _rayfish._udp.local.; the answer is an announcement.
const (
	// serviceName is the DNS-SD service type rayfish announces.
	serviceName = "_rayfish._udp.local."
	// instanceLen is how many characters of the node id name an instance.
	instanceLen = 16
	// txtVersion is the first TXT string of every announcement.
	txtVersion = "v=1"
	// ttl is the record TTL we announce, in seconds (RFC 6762 §10
	// recommends 120 for records naming hosts).
	ttl = 120

	// maxPacket is the largest datagram we parse; larger ones are dropped.
	maxPacket = 9000
	// maxRecordsPerPacket bounds the TXT records looked at in one packet.
	maxRecordsPerPacket = 4

	sigLen      = 64
	maxPayload  = 32 + 8 + 1 + netmap.MaxEndpointAddrs*(1+16+2) + 2 + netmap.MaxRelayLen + netmap.MaxOfferBytes + sigLen
	maxEncoded  = (maxPayload*8 + 5) / 6 // unpadded base64
	chunkLen    = 255
	maxChunks   = (maxEncoded + chunkLen - 1) / chunkLen
	minPayload  = 32 + 8 + 1 + 2 + sigLen
	familyV4    = 4
	familyV6    = 6
	addrV4Bytes = 1 + 4 + 2
	addrV6Bytes = 1 + 16 + 2
)

var b64 = base64.RawURLEncoding.Strict()

// instanceName returns the DNS name under which node announces itself.
func instanceName(node key.NodePublic) string {
	return node.String()[:instanceLen] + "." + serviceName
}

// encodeRecord returns r in the binary form described above. It fails
// only for records that could never verify (too many addresses, relay
// too long, wrong signature length).
func encodeRecord(r netmap.EndpointRecord) ([]byte, error) {
	if len(r.Addrs) > netmap.MaxEndpointAddrs || len(r.Relay) > netmap.MaxRelayLen || len(r.Routes) > netmap.MaxOfferRoutes || len(r.Sig) != sigLen {
		return nil, errors.New("endpoint record out of bounds")
	}
	b := make([]byte, 0, minPayload+len(r.Addrs)*addrV6Bytes+len(r.Relay))
	b = append(b, r.Node[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = append(b, byte(len(r.Addrs)))
	for _, a := range r.Addrs {
		ip := a.Addr()
		if ip.Is4() {
			v := ip.As4()
			b = append(b, familyV4)
			b = append(b, v[:]...)
		} else {
			v := ip.As16()
			b = append(b, familyV6)
			b = append(b, v[:]...)
		}
		b = binary.BigEndian.AppendUint16(b, a.Port())
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Relay)))
	b = append(b, r.Relay...)
	b = netmap.AppendOffer(b, r.Offer())
	return append(b, r.Sig...), nil
}

// decodeRecord parses what encodeRecord wrote. It checks the form only;
// the caller verifies the signature.
func decodeRecord(b []byte) (netmap.EndpointRecord, error) {
	var r netmap.EndpointRecord
	if len(b) < minPayload || len(b) > maxPayload {
		return r, fmt.Errorf("record of %d bytes", len(b))
	}
	copy(r.Node[:], b)
	r.Seq = binary.BigEndian.Uint64(b[32:])
	n := int(b[40])
	b = b[41:]
	if n > netmap.MaxEndpointAddrs {
		return r, fmt.Errorf("record has %d addresses", n)
	}
	for range n {
		if len(b) < addrV4Bytes {
			return r, errors.New("record truncated")
		}
		var ip netip.Addr
		switch b[0] {
		case familyV4:
			ip = netip.AddrFrom4([4]byte(b[1:5]))
			b = b[5:]
		case familyV6:
			if len(b) < addrV6Bytes {
				return r, errors.New("record truncated")
			}
			ip = netip.AddrFrom16([16]byte(b[1:17]))
			b = b[17:]
		default:
			return r, fmt.Errorf("record has address family %d", b[0])
		}
		r.Addrs = append(r.Addrs, netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b)))
		b = b[2:]
	}
	if len(b) < 2 {
		return r, errors.New("record truncated")
	}
	rl := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if rl > netmap.MaxRelayLen || len(b) < rl+sigLen {
		return r, errors.New("record has a bad relay or signature length")
	}
	r.Relay = string(b[:rl])
	o, err := netmap.ParseOffer(b[rl : len(b)-sigLen])
	if err != nil {
		return r, err
	}
	r.ExitNode, r.Routes = o.ExitNode, o.Routes
	r.Sig = append([]byte(nil), b[len(b)-sigLen:]...)
	return r, nil
}

// encodeTXT returns the TXT strings that carry r.
func encodeTXT(r netmap.EndpointRecord) ([]string, error) {
	raw, err := encodeRecord(r)
	if err != nil {
		return nil, err
	}
	s := b64.EncodeToString(raw)
	txt := make([]string, 0, 1+maxChunks)
	txt = append(txt, txtVersion)
	for len(s) > 0 {
		n := min(len(s), chunkLen)
		txt = append(txt, s[:n])
		s = s[n:]
	}
	return txt, nil
}

// decodeTXT parses the TXT strings of an announcement.
func decodeTXT(txt []string) (netmap.EndpointRecord, error) {
	if len(txt) < 2 || len(txt) > 1+maxChunks || txt[0] != txtVersion {
		return netmap.EndpointRecord{}, errors.New("not a rayfish v1 TXT record")
	}
	var sb strings.Builder
	for _, c := range txt[1:] {
		if len(c) > chunkLen || sb.Len()+len(c) > maxEncoded {
			return netmap.EndpointRecord{}, errors.New("TXT record too long")
		}
		sb.WriteString(c)
	}
	raw, err := b64.DecodeString(sb.String())
	if err != nil {
		return netmap.EndpointRecord{}, fmt.Errorf("TXT record: %w", err)
	}
	return decodeRecord(raw)
}

// buildResponse returns an mDNS response announcing r. For a legacy
// unicast reply (RFC 6762 §6.7) pass the query; it sets the ID and echoes
// the question, and the cache-flush bit is left off.
func buildResponse(r netmap.EndpointRecord, query *dns.Msg) ([]byte, error) {
	txt, err := encodeTXT(r)
	if err != nil {
		return nil, err
	}
	inst := instanceName(r.Node)
	flush := uint16(0x8000)
	m := new(dns.Msg)
	m.Response = true
	m.Authoritative = true
	if query != nil {
		m.Id = query.Id
		m.Question = query.Question
		flush = 0
	}
	m.Answer = []dns.RR{
		&dns.PTR{
			Hdr: dns.RR_Header{Name: serviceName, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl},
			Ptr: inst,
		},
		&dns.TXT{
			Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeTXT, Class: dns.ClassINET | flush, Ttl: ttl},
			Txt: txt,
		},
	}
	m.Compress = true
	b, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("pack mdns response: %w", err)
	}
	return b, nil
}

// buildQuery returns an mDNS query for rayfish instances.
func buildQuery() []byte {
	m := new(dns.Msg)
	m.Question = []dns.Question{{Name: serviceName, Qtype: dns.TypePTR, Qclass: dns.ClassINET}}
	b, err := m.Pack()
	if err != nil {
		panic(err) // a constant message always packs
	}
	return b
}

// message is what a received packet means to us.
type message struct {
	// query is set if the packet asks for rayfish instances.
	query *dns.Msg
	// records are the endpoint records the packet carries, decoded but
	// not verified.
	records []netmap.EndpointRecord
}

// parse decodes a received packet. It never verifies signatures: that
// costs CPU, which the caller spends only after rate limiting.
func parse(b []byte) (message, error) {
	var msg message
	if len(b) > maxPacket {
		return msg, fmt.Errorf("packet of %d bytes", len(b))
	}
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return msg, fmt.Errorf("unpack: %w", err)
	}
	if m.Opcode != dns.OpcodeQuery || m.Rcode != dns.RcodeSuccess {
		return msg, errors.New("not a standard query or response")
	}
	if !m.Response {
		if asksForUs(m) {
			msg.query = m
		}
		return msg, nil
	}
	seen := 0
	for _, sec := range [][]dns.RR{m.Answer, m.Extra} {
		for _, rr := range sec {
			t, ok := rr.(*dns.TXT)
			if !ok || t.Hdr.Ttl == 0 { // TTL 0 is a goodbye
				continue
			}
			label, ok := instanceLabel(t.Hdr.Name)
			if !ok {
				continue
			}
			if seen++; seen > maxRecordsPerPacket {
				return msg, nil
			}
			r, err := decodeTXT(t.Txt)
			if err != nil || !strings.EqualFold(label, r.Node.String()[:instanceLen]) {
				continue
			}
			msg.records = append(msg.records, r)
		}
	}
	return msg, nil
}

// instanceLabel returns the instance label of a rayfish service instance
// name, "<label>._rayfish._udp.local.".
func instanceLabel(name string) (string, bool) {
	if len(name) != instanceLen+1+len(serviceName) || !strings.EqualFold(name[instanceLen+1:], serviceName) || name[instanceLen] != '.' {
		return "", false
	}
	return name[:instanceLen], true
}

// asksForUs reports whether a query asks for PTR or ANY records of the
// rayfish service, which an announcement answers.
func asksForUs(m *dns.Msg) bool {
	for _, q := range m.Question {
		if q.Qclass&0x7fff != dns.ClassINET && q.Qclass&0x7fff != dns.ClassANY {
			continue
		}
		if strings.EqualFold(q.Name, serviceName) && (q.Qtype == dns.TypePTR || q.Qtype == dns.TypeANY) {
			return true
		}
	}
	return false
}
