package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/localapi/client"
)

func init() { commands["firewall"] = cmdFirewall }

const firewallUsage = `usage: ray firewall show [--json]
       ray firewall add in|out allow|deny [-p PROTO] [-P PORTS] [--peer P] [--network N]
       ray firewall remove INDEX
       ray firewall move INDEX up|down|top|bottom|POSITION
       ray firewall default [in|out] allow|deny
       ray firewall reject on|off
       ray firewall pending|accept|deny NETWORK
       ray firewall auto-accept NETWORK on|off
       ray firewall suggest NETWORK [in|out allow|deny [-p PROTO] [-P PORTS]] | --clear   (admin)`

func cmdFirewall(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return exitCode{2, firewallUsage}
	}
	sub, rest := args[0], args[1:]
	cl := c.client()
	change := func(ch apitype.FirewallChange) error {
		st, err := cl.FirewallChange(ctx, ch)
		if err != nil {
			return err
		}
		printFirewall(c.out, st)
		return nil
	}
	switch sub {
	case "show":
		fs := flag.NewFlagSet("firewall show", flag.ContinueOnError)
		asJSON := fs.Bool("json", false, "print JSON")
		if _, err := parseArgs(fs, rest, 0, "[--json]"); err != nil {
			return err
		}
		st, err := cl.Firewall(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(c.out, st)
		}
		printFirewall(c.out, st)
		return nil
	case "add":
		r, err := parseRuleArgs("firewall add", rest, true)
		if err != nil {
			return err
		}
		return change(apitype.FirewallChange{Op: apitype.FirewallAdd, Rule: &r})
	case "remove":
		fs := flag.NewFlagSet("firewall remove", flag.ContinueOnError)
		pos, err := parseArgs(fs, rest, 1, "INDEX")
		if err != nil {
			return err
		}
		var idx int
		if _, err := fmt.Sscanf(pos[0], "%d", &idx); err != nil || idx < 1 {
			return exitCode{2, fmt.Sprintf("firewall remove: %q is not a rule number (see ray firewall show)", pos[0])}
		}
		return change(apitype.FirewallChange{Op: apitype.FirewallRemove, Index: idx})
	case "move":
		ch, err := moveArgs(ctx, cl, rest)
		if err != nil {
			return err
		}
		return change(ch)
	case "default":
		ch := apitype.FirewallChange{Op: apitype.FirewallDefault}
		switch len(rest) {
		case 1:
			ch.Action = rest[0]
		case 2:
			ch.Direction, ch.Action = rest[0], rest[1]
		default:
			return exitCode{2, "usage: ray firewall default [in|out] allow|deny"}
		}
		if ch.Direction == "" {
			ch.Direction = "in" // what the daemon changes when none is named
		}
		before, err := cl.Firewall(ctx)
		if err != nil {
			return err
		}
		st, err := cl.FirewallChange(ctx, ch)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.out, defaultChange(ch.Direction, before, st))
		printFirewall(c.out, st)
		return nil
	case "reject":
		on, err := onOff(rest, 0, "ray firewall reject on|off")
		if err != nil {
			return err
		}
		return change(apitype.FirewallChange{Op: apitype.FirewallReject, On: on})
	case "pending":
		if len(rest) != 1 {
			return exitCode{2, "usage: ray firewall pending NETWORK"}
		}
		st, err := cl.Firewall(ctx)
		if err != nil {
			return err
		}
		for _, s := range st.Suggested {
			if s.Network == rest[0] {
				fmt.Fprintf(c.out, "network %s: suggested rules %s (auto-accept %v)\n", s.Network, s.State, s.AutoAccept)
				printRules(c.out, s.Offered)
				return nil
			}
		}
		fmt.Fprintf(c.out, "network %s suggests no rules\n", rest[0])
		return nil
	case "accept", "deny":
		if len(rest) != 1 {
			return exitCode{2, "usage: ray firewall " + sub + " NETWORK"}
		}
		return change(apitype.FirewallChange{Op: sub, Network: rest[0]})
	case "auto-accept":
		on, err := onOff(rest, 1, "ray firewall auto-accept NETWORK on|off")
		if err != nil {
			return err
		}
		return change(apitype.FirewallChange{Op: apitype.FirewallAutoAccept, Network: rest[0], On: on})
	case "suggest":
		if len(rest) < 1 {
			return exitCode{2, firewallUsage}
		}
		ch := apitype.FirewallChange{Op: apitype.FirewallSuggest, Network: rest[0]}
		if len(rest) == 2 && rest[1] == "--clear" {
			return change(ch)
		}
		st, err := cl.Firewall(ctx)
		if err != nil {
			return err
		}
		// The new rule joins the rules this node already suggests.
		for _, s := range st.Suggested {
			if s.Network == rest[0] {
				ch.Rules = append(ch.Rules, s.Offered...)
			}
		}
		r, err := parseRuleArgs("firewall suggest", rest[1:], false)
		if err != nil {
			return err
		}
		ch.Rules = append([]apitype.FirewallRule{r}, ch.Rules...)
		return change(ch)
	default:
		return exitCode{2, fmt.Sprintf("unknown firewall command %q\n%s", sub, firewallUsage)}
	}
}

// defaultChange says which default a "firewall default" changed.
func defaultChange(dir string, before, after apitype.FirewallState) string {
	was, now, name := before.DefaultIn, after.DefaultIn, "inbound"
	if dir == "out" {
		was, now, name = before.DefaultOut, after.DefaultOut, "outbound"
	}
	if was == now {
		return fmt.Sprintf("%s default unchanged: %s", name, now)
	}
	return fmt.Sprintf("%s default changed: %s (was %s)", name, now, was)
}

func onOff(args []string, at int, usage string) (bool, error) {
	if len(args) != at+1 || (args[at] != "on" && args[at] != "off") {
		return false, exitCode{2, "usage: " + usage}
	}
	return args[at] == "on", nil
}

// parseRuleArgs parses "in|out allow|deny [-p PROTO] [-P PORTS] [--peer P] [--network N]".
func parseRuleArgs(name string, args []string, scoped bool) (apitype.FirewallRule, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	proto := fs.String("p", "any", "protocol: tcp, udp, icmp or any")
	ports := fs.String("P", "", "ports: 80, 8000-8100 or 22,80,443")
	var peer, network *string
	if scoped {
		peer = fs.String("peer", "", "only this peer (hostname, IP or node id)")
		network = fs.String("network", "", "only peers of this network")
	}
	pos, err := parseArgs(fs, args, 2, "in|out allow|deny [-p PROTO] [-P PORTS] [--peer P] [--network N]")
	if err != nil {
		return apitype.FirewallRule{}, err
	}
	r := apitype.FirewallRule{Direction: pos[0], Action: pos[1], Proto: *proto, Ports: *ports}
	if scoped {
		r.Peer, r.Network = *peer, *network
	}
	return r, nil
}

func printFirewall(w io.Writer, st apitype.FirewallState) {
	reject := "drop"
	if st.Reject {
		reject = "reject"
	}
	fmt.Fprintf(w, "default: in %s, out %s; denied packets: %s; tracked flows: %d\n", st.DefaultIn, st.DefaultOut, reject, st.Flows)
	printRules(w, st.Rules)
	for _, s := range st.Suggested {
		fmt.Fprintf(w, "\nsuggested by network %s (%s, auto-accept %v):\n", s.Network, s.State, s.AutoAccept)
		printRules(w, s.Offered)
	}
}

func printRules(w io.Writer, rules []apitype.FirewallRule) {
	if len(rules) == 0 {
		fmt.Fprintln(w, "  (no rules)")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tDIR\tACTION\tPROTO\tPORTS\tPEER\tNETWORK")
	for i, r := range rules {
		idx := r.Index
		if idx == 0 {
			idx = i + 1
		}
		note := ""
		if r.Seeded {
			note = " (seeded)"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s%s\n", idx, r.Direction, r.Action, r.Proto,
			dash(r.Ports), dash(peerLabel(r.PeerHostname, r.Peer)), dash(r.Network), note)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// peerLabel shows a peer as "hostname (id prefix)".
func peerLabel(hostname, id string) string {
	if hostname == "" || id == "" {
		return shortID(id)
	}
	return hostname + " (" + shortID(id) + ")"
}

func shortID(s string) string {
	if len(s) == 52 && !strings.Contains(s, ".") {
		return s[:8]
	}
	return s
}

// moveArgs parses `ray firewall move INDEX up|down|top|bottom|POSITION`.
func moveArgs(ctx context.Context, cl *client.Client, args []string) (apitype.FirewallChange, error) {
	const usage = "usage: ray firewall move INDEX up|down|top|bottom|POSITION"
	if len(args) != 2 {
		return apitype.FirewallChange{}, exitCode{2, usage}
	}
	ch := apitype.FirewallChange{Op: apitype.FirewallMove}
	if _, err := fmt.Sscanf(args[0], "%d", &ch.Index); err != nil || ch.Index < 1 || fmt.Sprint(ch.Index) != args[0] {
		return ch, exitCode{2, fmt.Sprintf("firewall move: %q is not a rule number (see ray firewall show)", args[0])}
	}
	switch args[1] {
	case "up":
		if ch.Index == 1 {
			return ch, exitCode{2, "firewall move: rule #1 is already first"}
		}
		ch.To = ch.Index - 1
	case "down":
		ch.To = ch.Index + 1
	case "top":
		ch.To = 1
	case "bottom":
		st, err := cl.Firewall(ctx)
		if err != nil {
			return ch, err
		}
		ch.To = len(st.Rules)
	default:
		if _, err := fmt.Sscanf(args[1], "%d", &ch.To); err != nil || ch.To < 1 || fmt.Sprint(ch.To) != args[1] {
			return ch, exitCode{2, fmt.Sprintf("firewall move: %q is not up, down, top, bottom or a position (1, 2, …)", args[1])}
		}
	}
	return ch, nil
}
