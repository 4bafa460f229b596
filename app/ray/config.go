package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

func init() {
	commands["config"] = cmdConfig
	commands["mdns"] = cmdMDNS
}

const configUsage = `usage: ray config show [--json]
       ray config set relay URL[,URL...]     (empty to clear)
       ray config set mdns on|off
       ray config set dht on|off
       ray config set serve-relay on|off
       ray config set connect-on-start on|off
       ray config set portmap on|off`

// cmdConfig reads and changes the daemon's preferences.
func cmdConfig(ctx context.Context, c *cli, args []string) error {
	cl := c.client()
	if len(args) >= 1 && args[0] == "show" {
		asJSON := len(args) == 2 && args[1] == "--json"
		if len(args) > 1 && !asJSON {
			return exitCode{2, configUsage}
		}
		p, err := cl.Prefs(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(c.out, p)
		}
		printPrefs(c.out, p)
		return nil
	}
	if len(args) != 3 || args[0] != "set" {
		return exitCode{2, configUsage}
	}
	p, err := cl.Prefs(ctx)
	if err != nil {
		return err
	}
	switch args[1] {
	case "relay", "relays":
		p.Relays = nil
		for _, u := range strings.Split(args[2], ",") {
			if u = strings.TrimSpace(u); u != "" {
				p.Relays = append(p.Relays, u)
			}
		}
	case "mdns":
		on, err := onOff(args, 2, "ray config set mdns on|off")
		if err != nil {
			return err
		}
		p.MDNS = on
	case "dht":
		on, err := onOff(args, 2, "ray config set dht on|off")
		if err != nil {
			return err
		}
		p.DHT = &on
	case "serve-relay":
		on, err := onOff(args, 2, "ray config set serve-relay on|off")
		if err != nil {
			return err
		}
		p.ServeRelay = &on
	case "portmap":
		on, err := onOff(args, 2, "ray config set portmap on|off")
		if err != nil {
			return err
		}
		p.PortMap = &on
	case "connect-on-start":
		on, err := onOff(args, 2, "ray config set connect-on-start on|off")
		if err != nil {
			return err
		}
		p.ConnectOnStart = on
	default:
		return exitCode{2, fmt.Sprintf("unknown setting %q\n%s", args[1], configUsage)}
	}
	out, err := cl.SetPrefs(ctx, p)
	if err != nil {
		return err
	}
	printPrefs(c.out, out)
	return nil
}

// printPrefs shows the preferences as a person reads them.
func printPrefs(w io.Writer, p apitype.Prefs) {
	relays := strings.Join(p.Relays, ", ")
	if relays == "" {
		relays = "none (ray config set relay URL)"
	}
	operator := p.Operator
	if operator == "" {
		operator = "none (only root may change settings)"
	}
	fmt.Fprintf(w, "relays:            %s\n", relays)
	fmt.Fprintf(w, "mdns:              %s\n", onOffWord(p.MDNS))
	fmt.Fprintf(w, "connect-on-start:  %s\n", onOffWord(p.ConnectOnStart))
	fmt.Fprintf(w, "operator:          %s\n", operator)
	if p.DHT != nil {
		fmt.Fprintf(w, "dht:               %s\n", onOffWord(*p.DHT))
	}
	if p.ServeRelay != nil {
		fmt.Fprintf(w, "serve-relay:       %s (when this node is reachable: a public address or a port mapping; from the next daemon start)\n", onOffWord(*p.ServeRelay))
	}
	if p.PortMap != nil {
		fmt.Fprintf(w, "portmap:           %s\n", onOffWord(*p.PortMap))
	}
}

func onOffWord(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// cmdMDNS turns LAN discovery on or off.
func cmdMDNS(ctx context.Context, c *cli, args []string) error {
	on, err := onOff(args, 0, "ray mdns on|off")
	if err != nil {
		return err
	}
	cl := c.client()
	p, err := cl.Prefs(ctx)
	if err != nil {
		return err
	}
	p.MDNS = on
	if _, err := cl.SetPrefs(ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "LAN discovery (mDNS) %s\n", onOffWord(on))
	return nil
}
