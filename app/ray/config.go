package main

import (
	"context"
	"fmt"
	"strings"
)

func init() {
	commands["config"] = cmdConfig
	commands["mdns"] = cmdMDNS
}

const configUsage = `usage: ray config show
       ray config set relay URL[,URL...]     (empty to clear)
       ray config set connect-on-start on|off`

// cmdConfig reads and changes the daemon's preferences.
func cmdConfig(ctx context.Context, c *cli, args []string) error {
	cl := c.client()
	if len(args) == 1 && args[0] == "show" {
		p, err := cl.Prefs(ctx)
		if err != nil {
			return err
		}
		return printJSON(c.out, p)
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
	return printJSON(c.out, out)
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
	fmt.Fprintf(c.out, "LAN discovery (mDNS) %s\n", map[bool]string{true: "on", false: "off"}[on])
	return nil
}
