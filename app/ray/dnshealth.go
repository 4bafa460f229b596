package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/platform/dns"
)

// dnsHealthTTL bounds how often the health check reads resolv.conf
// (status is built every second for each watcher).
const dnsHealthTTL = 5 * time.Second

// dnsHealthCache remembers the last check and the last Apply's outcome.
type dnsHealthCache struct {
	mu       sync.Mutex
	up       bool   // rayfish's configuration is meant to be in place
	applyErr string // "" after a successful Apply
	at       time.Time
	last     apitype.DNSHealth
}

// noteApply records the outcome of a dns.Apply (up) or a Restore (not
// up) and forgets the cached check. Taken under dnsState.mu, never the
// reverse: the check does not wait for a slow Apply.
func (c *dnsHealthCache) noteApply(up bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.up, c.applyErr = up, ""
	if err != nil {
		c.applyErr = err.Error()
	}
	c.at = time.Time{}
}

// dnsHealth says whether the OS resolver points at magic DNS: from the
// outcome of the last Apply, and for the resolv.conf mode from the file
// itself (another program may have rewritten it).
func (t *tunConfig) dnsHealth() apitype.DNSHealth {
	if t.dns == nil {
		return judgeDNS("", false, "", nil)
	}
	c := &t.health
	c.mu.Lock()
	defer c.mu.Unlock()
	up := c.up
	if !c.at.IsZero() && time.Since(c.at) < dnsHealthTTL {
		return c.last
	}
	var conf []byte
	if t.dns.Mode() == dns.ModeResolvConf && up && c.applyErr == "" {
		b, err := os.ReadFile("/etc/resolv.conf")
		if err != nil {
			c.last = apitype.DNSHealth{State: apitype.DNSNotApplied, Mode: t.dns.Mode(), Detail: "cannot read /etc/resolv.conf: " + err.Error()}
			c.at = time.Now()
			return c.last
		}
		conf = b
	}
	c.last, c.at = judgeDNS(t.dns.Mode(), up, c.applyErr, conf), time.Now()
	return c.last
}

// judgeDNS decides the health: mode "" means DNS integration is off; conf
// is /etc/resolv.conf's content in the resolv.conf mode (nil otherwise).
func judgeDNS(mode string, up bool, applyErr string, conf []byte) apitype.DNSHealth {
	h := apitype.DNSHealth{Mode: mode}
	switch {
	case mode == "":
		h.State, h.Detail = apitype.DNSOff, "OS DNS integration is off (the daemon runs with --no-dns): .ray names resolve only through magic DNS directly"
	case !up:
		h.State, h.Detail = apitype.DNSDown, "disconnected: the OS uses its own resolvers"
	case applyErr != "":
		h.State, h.Detail = apitype.DNSNotApplied, "could not point the OS resolver at rayfish: "+applyErr
	case mode == dns.ModeResolvConf:
		first := firstNameserver(conf)
		if first == key.MagicDNSv4 || first == key.MagicDNSv6 {
			h.State, h.Detail = apitype.DNSOK, fmt.Sprintf("/etc/resolv.conf names %s first", first)
		} else {
			h.State = apitype.DNSNotApplied
			h.Detail = fmt.Sprintf("/etc/resolv.conf names %s first, not %s: another program rewrote it; reconnect to apply again", dashAddr(first), key.MagicDNSv4)
		}
	default:
		h.State, h.Detail = apitype.DNSOK, "the OS resolver sends .ray names to rayfish ("+mode+")"
	}
	return h
}

// firstNameserver returns the first nameserver line's address in a
// resolv.conf (the zero Addr if there is none).
func firstNameserver(conf []byte) netip.Addr {
	sc := bufio.NewScanner(bytes.NewReader(conf))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" {
			a, _ := netip.ParseAddr(f[1])
			return a
		}
	}
	return netip.Addr{}
}

func dashAddr(a netip.Addr) string {
	if !a.IsValid() {
		return "no server"
	}
	return a.String()
}
