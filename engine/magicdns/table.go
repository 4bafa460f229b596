package magicdns

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/rayfish/rayfish/engine/key"
)

// Domain is the suffix of every magic DNS name, as a fully qualified name.
const Domain = "ray."

// ResolverName is the name the resolver's own addresses map back to.
const ResolverName = "magicdns.ray."

// Entry is one host as the table learns it: its name inside one network
// and its overlay addresses. Either address may be invalid (absent).
type Entry struct {
	Network  string // the network's name
	Hostname string // the host's name inside that network
	IPv4     netip.Addr
	IPv6     netip.Addr
	// NoBare keeps the entry from the bare "host.ray." name: the engine
	// sets it when another node holds that name first.
	NoBare bool
}

type addrs struct {
	v4, v6 netip.Addr
}

// Table maps magic DNS names to overlay addresses and back. It is
// immutable once built and safe for concurrent use.
//
// Names are "host.network.ray." and "host.ray.", lowercase (lookups fold
// case). A bare "host.ray." exists when at least one network has that
// host; when hosts in several networks share the name, the first entry
// given to NewTable without NoBare wins. The engine lists networks in the order this
// node joined them, so a network joined later can never take over a bare
// name that already resolves (use host.network.ray to be explicit).
//
// Reverse lookups answer for overlay addresses with the first name given
// for the address: the bare name if it resolves to that address, else the
// qualified one. The resolver's own addresses map to ResolverName and back
// (so no host can take the bare name "magicdns").
type Table struct {
	names map[string]addrs
	// nodes are names that exist without addresses of their own
	// ("network.ray."), for NODATA rather than NXDOMAIN answers.
	nodes map[string]bool
	ptr   map[netip.Addr]string
}

// NewTable builds a table from entries. Network and host names are
// reduced to DNS labels with Label; entries whose names reduce to nothing
// are skipped.
func NewTable(entries []Entry) *Table {
	t := &Table{
		names: make(map[string]addrs),
		nodes: make(map[string]bool),
		ptr:   make(map[netip.Addr]string),
	}
	t.ptr[key.MagicDNSv4] = ResolverName
	t.ptr[key.MagicDNSv6] = ResolverName
	t.names[ResolverName] = addrs{v4: key.MagicDNSv4, v6: key.MagicDNSv6}
	for _, e := range entries {
		host, network := Label(e.Hostname), Label(e.Network)
		if host == "" || network == "" {
			continue
		}
		a := addrs{v4: overlay4(e.IPv4), v6: overlay6(e.IPv6)}
		full := host + "." + network + "." + Domain
		bare := host + "." + Domain
		t.nodes[network+"."+Domain] = true
		if _, ok := t.names[full]; !ok {
			t.names[full] = a
		}
		if _, ok := t.names[bare]; !ok && !e.NoBare {
			t.names[bare] = a
		}
		for _, ip := range []netip.Addr{a.v4, a.v6} {
			if !ip.IsValid() {
				continue
			}
			if _, ok := t.ptr[ip]; ok {
				continue
			}
			name := full
			if b := t.names[bare]; b.v4 == ip || b.v6 == ip {
				name = bare
			}
			t.ptr[ip] = name
		}
	}
	return t
}

// overlay4 and overlay6 keep only addresses in the overlay ranges, so a
// roster can never make a magic name point outside the tunnel.
func overlay4(a netip.Addr) netip.Addr {
	if a.Is4() && key.CGNATPrefix.Contains(a) {
		return a
	}
	return netip.Addr{}
}

func overlay6(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() && key.ULAPrefix.Contains(a.WithZone("")) {
		return a.WithZone("")
	}
	return netip.Addr{}
}

// Len returns the number of names in t, ResolverName included.
func (t *Table) Len() int { return len(t.names) }

// lookup returns the addresses of a lowercase, fully qualified name and
// whether the name exists at all (it may exist without addresses).
func (t *Table) lookup(name string) (a addrs, found, exists bool) {
	if a, ok := t.names[name]; ok {
		return a, true, true
	}
	return addrs{}, false, name == Domain || t.nodes[name]
}

// reverse returns the PTR target of an overlay address.
func (t *Table) reverse(ip netip.Addr) (string, bool) {
	name, ok := t.ptr[ip]
	return name, ok
}

// NameOf returns the name an overlay address maps back to (as a reverse
// lookup answers), without the final dot; "" when it maps to none.
func (t *Table) NameOf(ip netip.Addr) string {
	name, ok := t.reverse(ip)
	if !ok {
		return ""
	}
	return strings.TrimSuffix(name, ".")
}

// Label reduces s to a DNS label: lowercase letters, digits and inner
// hyphens, at most 63 bytes. Spaces, underscores and dots become hyphens;
// other characters are dropped. It returns "" if nothing is left.
func Label(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '-', c == ' ', c == '_', c == '.':
			b.WriteByte('-')
		}
	}
	l := strings.Trim(b.String(), "-")
	for strings.Contains(l, "--") {
		l = strings.ReplaceAll(l, "--", "-")
	}
	if len(l) > 63 {
		l = strings.TrimRight(l[:63], "-")
	}
	return l
}

// parseReverse parses a lowercase, fully qualified reverse name
// ("4.3.2.1.in-addr.arpa." or 32 nibbles then "ip6.arpa.") into the
// address it names.
func parseReverse(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa."); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, p := range parts {
			if len(p) == 0 || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
				return netip.Addr{}, false
			}
			n, err := strconv.ParseUint(p, 10, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa."); ok {
		if len(rest) != 63 { // 32 nibbles and 31 dots
			return netip.Addr{}, false
		}
		var b [16]byte
		for i := range 32 {
			c := rest[2*i]
			if i < 31 && rest[2*i+1] != '.' {
				return netip.Addr{}, false
			}
			var v byte
			switch {
			case c >= '0' && c <= '9':
				v = c - '0'
			case c >= 'a' && c <= 'f':
				v = c - 'a' + 10
			default:
				return netip.Addr{}, false
			}
			// The first nibble in the name is the last of the address.
			pos := 31 - i
			if pos%2 == 0 {
				b[pos/2] |= v << 4
			} else {
				b[pos/2] |= v
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// Addrs returns the addresses a magic name ("host.ray", "host.net.ray",
// with or without the final dot, any case) resolves to.
func (t *Table) Addrs(name string) (v4, v6 netip.Addr, ok bool) {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	a, ok := t.names[name]
	return a.v4, a.v6, ok
}
