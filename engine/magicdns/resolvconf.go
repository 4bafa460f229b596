package magicdns

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/rayfish/rayfish/engine/key"
)

// maxUpstreams bounds the nameservers ParseResolvConf returns.
const maxUpstreams = 8

// ParseResolvConf reads a resolv.conf(5) file, as the engine captures it
// before taking over the system's DNS, and returns its nameservers (port
// 53, in file order, duplicates and the magic DNS addresses left out) and
// its search domains (lowercase, without the trailing dot; the last
// "search" or "domain" line wins). Lines it does not understand, and
// nameservers that are not IP addresses, are skipped: a stray line must
// not cost the machine its DNS. It fails only if r does.
func ParseResolvConf(r io.Reader) ([]netip.AddrPort, []string, error) {
	var servers []netip.AddrPort
	var search []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			ip, err := netip.ParseAddr(fields[1])
			if err != nil || ip.IsUnspecified() || ip.IsMulticast() {
				continue
			}
			ip = ip.Unmap()
			if ip.WithZone("") == key.MagicDNSv4 || ip.WithZone("") == key.MagicDNSv6 {
				continue // ourselves: forwarding there would loop
			}
			ap := netip.AddrPortFrom(ip, 53)
			if !slices.Contains(servers, ap) && len(servers) < maxUpstreams {
				servers = append(servers, ap)
			}
		case "search", "domain":
			search = search[:0]
			for _, d := range fields[1:] {
				d = strings.TrimSuffix(strings.ToLower(d), ".")
				if d != "" && !slices.Contains(search, d) {
					search = append(search, d)
				}
			}
			if fields[0] == "domain" {
				search = search[:min(len(search), 1)]
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("magicdns: read resolv.conf: %w", err)
	}
	return servers, search, nil
}
