package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Network administration commands: remove (kick), invites, invite revoke.

func init() {
	commands["remove"] = cmdRemove("remove")
	commands["kick"] = cmdRemove("kick")
	commands["invites"] = cmdInvites
	commands["hostname"] = cmdHostname
	commands["admin"] = cmdAdmin
	commands["delete"] = cmdDelete
	commands["rekey"] = cmdRekey
}

func cmdRemove(name string) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) error {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		pos, err := parseArgs(fs, args, 2, "NETWORK PEER")
		if err != nil {
			return err
		}
		r, err := c.client().Remove(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(c.out, "removed %s (%s) from network %q; invites issued before now cannot readmit it\n", r.Hostname, shortID(r.ID), pos[0])
		return nil
	}
}

func cmdInvites(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("invites", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args, 1, "NETWORK [--json]")
	if err != nil {
		return err
	}
	list, err := c.client().Invites(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.out, list)
	}
	if len(list) == 0 {
		fmt.Fprintf(c.out, "no outstanding invites for %q\n", pos[0])
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tEXPIRES\tUSES\tHOSTNAME")
	for _, r := range list {
		host := r.Hostname
		if host == "" {
			host = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.ID, r.Kind, r.Expires.Local().Format(timeFormat), r.Uses, host)
	}
	tw.Flush()
	fmt.Fprintf(c.out, "revoke one with: ray invite revoke %s ID\n", pos[0])
	return nil
}

// cmdInviteRevoke is `ray invite revoke NETWORK ID`.
func cmdInviteRevoke(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("invite", flag.ContinueOnError)
	pos, err := parseArgs(fs, args, 2, "revoke NETWORK ID")
	if err != nil {
		return err
	}
	if err := c.client().RevokeInvite(ctx, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "invite %s of %q revoked: every admin refuses it from now on\n", pos[1], pos[0])
	return nil
}

func cmdHostname(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("hostname", flag.ContinueOnError)
	pos, err := parseArgs(fs, args, 2, "NAME HOSTNAME")
	if err != nil {
		return err
	}
	if err := c.client().SetHostname(ctx, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "this node is now %s in network %q\n", strings.ToLower(pos[1]), pos[0])
	return nil
}

// cmdAdmin is `ray admin add|remove NAME PEER`.
func cmdAdmin(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	pos, err := parseArgs(fs, args, 3, "add|remove NAME PEER")
	if err != nil {
		return err
	}
	var add bool
	switch pos[0] {
	case "add":
		add = true
	case "remove":
	default:
		return exitCode{2, "usage: ray admin add|remove NAME PEER"}
	}
	r, err := c.client().SetAdmin(ctx, pos[1], pos[2], add)
	if err != nil {
		return err
	}
	if add {
		fmt.Fprintf(c.out, "%s is now an admin of %q: its node got the network secret and may invite, accept and remove\n", r.Hostname, pos[1])
	} else {
		fmt.Fprintf(c.out, "%s is no longer an admin of %q; its node drops the network secret, but a node that does not follow the protocol still holds it: run `ray rekey %s` so that its signatures are refused\n", r.Hostname, pos[1], pos[1])
	}
	return nil
}

// cmdRekey is `ray rekey NAME`.
func cmdRekey(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("rekey", flag.ContinueOnError)
	pos, err := parseArgs(fs, args, 1, "NAME")
	if err != nil {
		return err
	}
	r, err := c.client().Rekey(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "network %q has a new key (generation %d); members follow the signed hand-over, and rosters signed by the old key are refused\n", pos[0], r.Generation)
	if len(r.Admins) > 0 {
		fmt.Fprintf(c.out, "the new secret goes to the other admins (%s); one offline gets it when it connects\n", strings.Join(r.Admins, ", "))
	}
	return nil
}

// cmdDelete is `ray delete NAME [--yes]`: it asks first, on stdin.
func cmdDelete(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("delete", flag.ContinueOnError)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	pos, err := parseArgs(fs, args, 1, "NAME [--yes]")
	if err != nil {
		return err
	}
	if !*yes {
		fmt.Fprintf(c.out, "delete network %q for every member? this cannot be undone [y/N] ", pos[0])
		line, _ := bufio.NewReader(io.LimitReader(c.in, 256)).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return exitCode{1, "not deleted (answer y, or pass --yes)"}
		}
	}
	if err := c.client().DeleteNetwork(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "network %q deleted: its members were told and forget it\n", pos[0])
	return nil
}
