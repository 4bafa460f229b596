package firewall

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/packet"
)

// Direction says which way a packet or rule goes, seen from this host. The
// zero value is invalid so that a forgotten field fails validation.
type Direction uint8

// Directions.
const (
	In  Direction = iota + 1 // from a peer into this host
	Out                      // from this host to a peer
)

// Action is what a matching rule (or a default) does. The zero value is
// invalid.
type Action uint8

// Actions.
const (
	Allow Action = iota + 1
	Deny
)

// Proto is a rule's protocol selector. The zero value, ProtoAny, matches
// every protocol.
type Proto uint8

// Protocols. ProtoICMP matches ICMPv4 and ICMPv6 of every type.
const (
	ProtoAny Proto = iota
	ProtoTCP
	ProtoUDP
	ProtoICMP
)

// MaxPortRanges bounds the entries of one rule's port list.
const MaxPortRanges = 64

func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// ParseDirection parses "in"/"inbound" or "out"/"outbound", in any case.
func ParseDirection(s string) (Direction, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "in", "inbound":
		return In, nil
	case "out", "outbound":
		return Out, nil
	}
	return 0, fmt.Errorf("invalid direction %q: want in or out", s)
}

// MarshalText implements encoding.TextMarshaler.
func (d Direction) MarshalText() ([]byte, error) {
	if d != In && d != Out {
		return nil, fmt.Errorf("invalid direction %d", uint8(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Direction) UnmarshalText(b []byte) error {
	v, err := ParseDirection(string(b))
	*d = v
	return err
}

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// ParseAction parses "allow"/"accept" or "deny"/"drop", in any case.
func ParseAction(s string) (Action, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "allow", "accept":
		return Allow, nil
	case "deny", "drop":
		return Deny, nil
	}
	return 0, fmt.Errorf("invalid action %q: want allow or deny", s)
}

// MarshalText implements encoding.TextMarshaler.
func (a Action) MarshalText() ([]byte, error) {
	if a != Allow && a != Deny {
		return nil, fmt.Errorf("invalid action %d", uint8(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	*a = v
	return err
}

func (p Proto) String() string {
	switch p {
	case ProtoAny:
		return "any"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	}
	return fmt.Sprintf("Proto(%d)", uint8(p))
}

// ParseProto parses "any" (or ""), "tcp", "udp" or "icmp", in any case.
func ParseProto(s string) (Proto, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "any", "*":
		return ProtoAny, nil
	case "tcp":
		return ProtoTCP, nil
	case "udp":
		return ProtoUDP, nil
	case "icmp", "icmp6", "icmpv6", "ping":
		return ProtoICMP, nil
	}
	return 0, fmt.Errorf("invalid protocol %q: want tcp, udp, icmp or any", s)
}

// MarshalText implements encoding.TextMarshaler.
func (p Proto) MarshalText() ([]byte, error) {
	if p > ProtoICMP {
		return nil, fmt.Errorf("invalid protocol %d", uint8(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Proto) UnmarshalText(b []byte) error {
	v, err := ParseProto(string(b))
	*p = v
	return err
}

// PortRange is an inclusive range of ports; a single port has First == Last.
type PortRange struct {
	First, Last uint16
}

// Contains reports whether port lies in r.
func (r PortRange) Contains(port uint16) bool { return r.First <= port && port <= r.Last }

func (r PortRange) String() string {
	if r.First == r.Last {
		return strconv.Itoa(int(r.First))
	}
	return strconv.Itoa(int(r.First)) + "-" + strconv.Itoa(int(r.Last))
}

func (r PortRange) valid() error {
	if r.First == 0 {
		return errors.New("port 0 is not allowed")
	}
	if r.First > r.Last {
		return fmt.Errorf("port range %s: start is greater than end", r)
	}
	return nil
}

// ParsePorts parses the CLI's port syntax: a single port ("80"), a range
// ("8000-8100"), or a comma-separated list of both ("22,80,8000-8100").
// Spaces around items are ignored. "", "any" and "*" mean any port and
// yield a nil slice. Ports run from 1 to 65535.
func ParsePorts(s string) ([]PortRange, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "any", "*":
		return nil, nil
	}
	items := strings.Split(s, ",")
	if len(items) > MaxPortRanges {
		return nil, fmt.Errorf("invalid ports %q: more than %d entries", s, MaxPortRanges)
	}
	out := make([]PortRange, 0, len(items))
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("invalid ports %q: empty entry in list", s)
		}
		var r PortRange
		lo, hi, isRange := strings.Cut(item, "-")
		first, err := parsePort(lo)
		if err != nil {
			return nil, fmt.Errorf("invalid ports %q: %w", s, err)
		}
		r.First, r.Last = first, first
		if isRange {
			if r.Last, err = parsePort(hi); err != nil {
				return nil, fmt.Errorf("invalid ports %q: %w", s, err)
			}
			if r.First > r.Last {
				return nil, fmt.Errorf("invalid ports %q: range %q starts after it ends", s, item)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func parsePort(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("missing port number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a port number", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %s is out of range 1-65535", s)
	}
	return uint16(n), nil
}

// FormatPorts is the inverse of ParsePorts; an empty list is "any".
func FormatPorts(ports []PortRange) string {
	if len(ports) == 0 {
		return "any"
	}
	var b strings.Builder
	for i, r := range ports {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.String())
	}
	return b.String()
}

// Rule is one firewall rule. Zero Peer and Network mean any; an empty
// Ports means any port. Ports apply to the destination port of the packet
// that opens a flow (the local port for In, the remote port for Out) and
// only to TCP and UDP: with ProtoAny and a port list, the rule matches
// only TCP and UDP packets to those ports.
type Rule struct {
	Direction Direction
	Action    Action
	Proto     Proto
	Ports     []PortRange
	Peer      key.NodePublic
	Network   key.NetworkPublic
	// Seeded marks the rule rayfish installs by default; it can be
	// removed like any other.
	Seeded bool
}

// ruleJSON is Rule's JSON form: ports in the CLI syntax, empty keys left out.
type ruleJSON struct {
	Direction Direction         `json:"direction"`
	Action    Action            `json:"action"`
	Proto     Proto             `json:"proto"`
	Ports     string            `json:"ports,omitempty"`
	Peer      key.NodePublic    `json:"peer,omitzero"`
	Network   key.NetworkPublic `json:"network,omitzero"`
	Seeded    bool              `json:"seeded,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (r Rule) MarshalJSON() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	j := ruleJSON{
		Direction: r.Direction,
		Action:    r.Action,
		Proto:     r.Proto,
		Peer:      r.Peer,
		Network:   r.Network,
		Seeded:    r.Seeded,
	}
	if len(r.Ports) > 0 {
		j.Ports = FormatPorts(r.Ports)
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler; the result is validated.
func (r *Rule) UnmarshalJSON(b []byte) error {
	var j ruleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("firewall rule: %w", err)
	}
	ports, err := ParsePorts(j.Ports)
	if err != nil {
		return fmt.Errorf("firewall rule: %w", err)
	}
	v := Rule{
		Direction: j.Direction,
		Action:    j.Action,
		Proto:     j.Proto,
		Ports:     ports,
		Peer:      j.Peer,
		Network:   j.Network,
		Seeded:    j.Seeded,
	}
	if err := v.Validate(); err != nil {
		return err
	}
	*r = v
	return nil
}

// Validate reports whether r is well formed.
func (r Rule) Validate() error {
	if r.Direction != In && r.Direction != Out {
		return errors.New("firewall rule: direction must be in or out")
	}
	if r.Action != Allow && r.Action != Deny {
		return errors.New("firewall rule: action must be allow or deny")
	}
	if r.Proto > ProtoICMP {
		return fmt.Errorf("firewall rule: unknown protocol %d", uint8(r.Proto))
	}
	if len(r.Ports) > 0 && r.Proto == ProtoICMP {
		return errors.New("firewall rule: icmp rules take no ports")
	}
	if len(r.Ports) > MaxPortRanges {
		return fmt.Errorf("firewall rule: more than %d port entries", MaxPortRanges)
	}
	for _, p := range r.Ports {
		if err := p.valid(); err != nil {
			return fmt.Errorf("firewall rule: %w", err)
		}
	}
	return nil
}

// Clone returns a copy of r that shares no memory with it.
func (r Rule) Clone() Rule {
	r.Ports = append([]PortRange(nil), r.Ports...)
	if len(r.Ports) == 0 {
		r.Ports = nil
	}
	return r
}

// Equal reports whether r and o are the same rule.
func (r Rule) Equal(o Rule) bool {
	if r.Direction != o.Direction || r.Action != o.Action || r.Proto != o.Proto ||
		r.Peer != o.Peer || r.Network != o.Network || r.Seeded != o.Seeded ||
		len(r.Ports) != len(o.Ports) {
		return false
	}
	for i := range r.Ports {
		if r.Ports[i] != o.Ports[i] {
			return false
		}
	}
	return true
}

// String describes r on one line, e.g. "in allow tcp 22,80 peer abcdefgh".
func (r Rule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", r.Direction, r.Action, r.Proto)
	if len(r.Ports) > 0 {
		b.WriteString(" ports ")
		b.WriteString(FormatPorts(r.Ports))
	}
	if !r.Peer.IsZero() {
		b.WriteString(" peer ")
		b.WriteString(r.Peer.ShortString())
	}
	if !r.Network.IsZero() {
		b.WriteString(" network ")
		b.WriteString(r.Network.ShortString())
	}
	if r.Seeded {
		b.WriteString(" (seeded)")
	}
	return b.String()
}

// query is what rule matching looks at: the packet that opens (or would
// open) a flow, seen in its own direction.
type query struct {
	dir   Direction
	proto uint8 // IP protocol number
	// port is the destination port; hasPort is false for protocols
	// without ports.
	port    uint16
	hasPort bool
	peer    *key.NodePublic
	nets    NetSet
}

// matches reports whether r applies to q. It does not allocate.
func (r *Rule) matches(q *query) bool {
	if r.Direction != q.dir {
		return false
	}
	switch r.Proto {
	case ProtoTCP:
		if q.proto != packet.ProtoTCP {
			return false
		}
	case ProtoUDP:
		if q.proto != packet.ProtoUDP {
			return false
		}
	case ProtoICMP:
		if q.proto != packet.ProtoICMPv4 && q.proto != packet.ProtoICMPv6 {
			return false
		}
	}
	if len(r.Ports) > 0 {
		if !q.hasPort || (q.proto != packet.ProtoTCP && q.proto != packet.ProtoUDP) {
			return false
		}
		in := false
		for _, pr := range r.Ports {
			if pr.Contains(q.port) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	if !r.Peer.IsZero() && r.Peer != *q.peer {
		return false
	}
	if !r.Network.IsZero() && !q.nets.Contains(r.Network) {
		return false
	}
	return true
}

// NetSet is the set of networks a peer shares with this host. The engine
// keeps one per peer and passes it on every call; the firewall only reads
// it, so passing it does not allocate. Networks are few per peer, so a
// linear scan beats any hashing.
type NetSet []key.NetworkPublic

// Contains reports whether n is in s.
func (s NetSet) Contains(n key.NetworkPublic) bool {
	for i := range s {
		if s[i] == n {
			return true
		}
	}
	return false
}
