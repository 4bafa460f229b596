package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func init() { commands["netcheck"] = cmdNetcheck }

// dhtLine describes the DHT node in one line.
func dhtLine(d apitype.NetcheckDHT) string {
	if !d.On {
		return "off (ray config set dht on; the daemon's --no-dht keeps it off)"
	}
	last := "never published"
	if !d.LastPublish.IsZero() {
		last = "published " + d.LastPublish.Format(time.RFC3339)
	}
	s := fmt.Sprintf("%d nodes, %s, %d lookups, %d B in, %d B out", d.Nodes, last, d.Lookups, d.BytesIn, d.BytesOut)
	if d.Error != "" {
		s += "; last publish failed: " + d.Error
	}
	return s
}

// cmdNetcheck reports UDP port, reflexive addresses, NAT mapping and
// relay latency.
func cmdNetcheck(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("netcheck", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseArgs(fs, args, 0, "[--json]"); err != nil {
		return err
	}
	r, err := c.client().Netcheck(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.out, r)
	}
	fmt.Fprintf(c.out, "UDP port:        %d\n", r.UDPPort)
	fmt.Fprintf(c.out, "IPv4 (public):   %s  NAT mapping: %s\n", dash(r.ReflexiveV4), r.MappingV4)
	fmt.Fprintf(c.out, "IPv6 (public):   %s  NAT mapping: %s\n", dash(r.ReflexiveV6), r.MappingV6)
	fmt.Fprintf(c.out, "home relay:      %s\n", dash(r.HomeRelay))
	printPortMap(c.out, 17, &r.PortMapping, r.MemberRelay, time.Now())
	fmt.Fprintf(c.out, "DHT:             %s\n", dhtLine(r.DHT))
	if r.DNS != nil {
		fmt.Fprintf(c.out, "OS DNS:          %s: %s\n", r.DNS.State, r.DNS.Detail)
	}
	if len(r.STUN) == 0 && len(r.Relays) == 0 {
		fmt.Fprintln(c.out, "no relays configured: the public address, NAT type and relay latency are measured")
		fmt.Fprintln(c.out, "against a relay (and its STUN port); add one with: ray config set relay URL")
		fmt.Fprintln(c.out, "(or start the daemon with --relay URL). Peers on the same network still connect directly.")
	}
	for _, s := range r.STUN {
		if s.Error != "" {
			fmt.Fprintf(c.out, "STUN %s: %s\n", s.Server, s.Error)
		} else {
			fmt.Fprintf(c.out, "STUN %s: saw us as %s in %.1f ms\n", s.Server, s.Reflexive, s.RTTMs)
		}
	}
	for _, rr := range r.Relays {
		if rr.Error != "" {
			fmt.Fprintf(c.out, "relay %s: %s\n", rr.URL, rr.Error)
		} else {
			fmt.Fprintf(c.out, "relay %s: %.1f ms\n", rr.URL, rr.LatencyMs)
		}
	}
	return nil
}

// printPortMap prints what the gateway maps for us and whether we serve
// a member relay (nil: the daemon does not say), one line each, labels
// padded to width.
func printPortMap(w io.Writer, width int, pm *apitype.NetcheckPortMapping, mr *apitype.MemberRelay, now time.Time) {
	for _, l := range portMapLines(pm, mr, now) {
		fmt.Fprintf(w, "%-*s%s\n", width, l[0]+":", l[1])
	}
}

// portMapLines are the port mapping, the member relay's TCP mapping and
// the member relay, as label and text.
func portMapLines(pm *apitype.NetcheckPortMapping, mr *apitype.MemberRelay, now time.Time) [][2]string {
	var out [][2]string
	if pm != nil {
		line := "none (" + pm.Error + ")"
		if pm.Protocol != "" {
			line = fmt.Sprintf("UDP %s by %s via %s%s", pm.External, pm.Protocol, pm.Gateway, leaseText(pm.LeaseS, pm.RenewAt, now))
		}
		out = append(out, [2]string{"port mapping", line})
		if t := pm.RelayTCP; t != nil {
			line := fmt.Sprintf("TCP port %d not mapped (%s)", t.Port, t.Error)
			if t.Protocol != "" {
				line = fmt.Sprintf("TCP %s -> port %d by %s%s", t.External, t.Port, t.Protocol, leaseText(t.LeaseS, t.RenewAt, now))
			}
			out = append(out, [2]string{"relay mapping", line})
		}
	}
	if mr != nil {
		out = append(out, [2]string{"member relay", memberRelayLine(*mr)})
	}
	return out
}

// leaseText is ", lease 2h0m0s, renews in 59m" (nothing for no lease).
func leaseText(leaseS int, renew, now time.Time) string {
	if leaseS <= 0 {
		return ""
	}
	s := fmt.Sprintf(", lease %s", time.Duration(leaseS)*time.Second)
	switch d := renew.Sub(now); {
	case renew.IsZero():
	case d <= 0:
		s += ", renewing"
	case d < time.Minute:
		s += ", renews in " + d.Round(time.Second).String()
	default:
		s += ", renews in " + strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	return s
}

// memberRelayLine says whether we serve a member relay and where, or why
// not.
func memberRelayLine(mr apitype.MemberRelay) string {
	switch {
	case !mr.Serving:
		return "not serving: " + mr.Why
	case mr.Via == apitype.MemberRelayMapped:
		return "serving " + mr.URL + " (through the port mapping)"
	case mr.Via == apitype.MemberRelayConfigured:
		return "serving " + mr.URL + " (--serve-relay, or this host's public address)"
	}
	return "serving " + mr.URL
}
