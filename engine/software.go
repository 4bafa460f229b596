package engine

import (
	"net/netip"

	"github.com/rayfish/rayfish/engine/magicdns"
	"github.com/rayfish/rayfish/engine/netmap"
)

// peerSoftware is what a peer's hello says it runs: its platform
// ("linux/amd64") and rayfish version. It is for people to read (status,
// the app's peer details); nothing in the engine decides on it.
type peerSoftware struct {
	os, version string
}

// maxSoftwareToken bounds a hello's platform and version strings.
const maxSoftwareToken = 40

// softwareToken returns s if it is a short plain token (letters, digits
// and . _ + - / ~), else "": a peer's odd or oversized value is dropped,
// never shown or stored.
func softwareToken(s string) string {
	if len(s) > maxSoftwareToken {
		return ""
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '+', c == '-', c == '/', c == '~':
		default:
			return ""
		}
	}
	return s
}

// candidates lists the endpoints a peer's signed record advertises: its
// direct addresses, then its home relay.
func candidates(r netmap.EndpointRecord) []string {
	var out []string
	for _, a := range r.Addrs {
		out = append(out, a.String())
	}
	if r.Relay != "" {
		out = append(out, r.Relay)
	}
	return out
}

// dnsName is the magic DNS name that resolves to a peer's overlay
// addresses ("" when none does).
func dnsName(r *magicdns.Resolver, v4, v6 netip.Addr) string {
	t := r.Table()
	if t == nil {
		return ""
	}
	for _, a := range []netip.Addr{v4, v6} {
		if a.IsValid() {
			if n := t.NameOf(a); n != "" {
				return n
			}
		}
	}
	return ""
}
