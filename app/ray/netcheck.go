package main

import (
	"context"
	"flag"
	"fmt"
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
	fmt.Fprintf(c.out, "port mapping:    %s\n", portMapLine(r.PortMapping))
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

// portMapLine says what the gateway maps for us, or why nothing.
func portMapLine(pm apitype.NetcheckPortMapping) string {
	if pm.Protocol == "" {
		return "none (" + pm.Error + ")"
	}
	return fmt.Sprintf("%s %s via %s, lease %d s", pm.Protocol, pm.External, pm.Gateway, pm.LeaseS)
}
