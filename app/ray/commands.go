package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rayfish/rayfish/app/buildinfo"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/localapi/client"
	"github.com/rayfish/rayfish/engine/netmap"
)

// firewallHint follows create and join: inbound is denied by default,
// which otherwise looks like a network fault.
const firewallHint = "inbound connections to this device are blocked except ping; open a port with: ray firewall add in allow -p tcp -P 8080"

type cli struct {
	socket string
	in     io.Reader
	out    io.Writer
	errw   io.Writer
	// cl is the command's client, made by the first call of client; the
	// commands call it from their own goroutine only.
	cl *client.Client
}

func (c *cli) client() *client.Client {
	if c.cl == nil {
		c.cl = client.New(c.socket)
	}
	return c.cl
}

// warnUnsaved tells the user, after a command that may have changed the
// daemon, that the daemon cannot save its state (a full disk): the change
// is in effect but would be lost with a restart, and otherwise only
// `ray status` would say so.
func (c *cli) warnUnsaved(ctx context.Context) {
	if c.cl == nil || !c.cl.Posted() {
		return
	}
	st, err := c.cl.Status(ctx)
	if err != nil || st.SaveError == "" {
		return
	}
	fmt.Fprintf(c.errw, "ray: warning: rayfish cannot save its state, changes are kept in memory until it can (retrying): %s\n", st.SaveError)
}

var commands = map[string]func(context.Context, *cli, []string) error{
	"create":   cmdCreate,
	"invite":   cmdInvite,
	"join":     cmdJoin,
	"leave":    cmdLeave,
	"requests": cmdRequests,
	"accept":   cmdDecide(true),
	"deny":     cmdDecide(false),
	"up":       cmdUpDown(true),
	"down":     cmdUpDown(false),
	"ping":     cmdPing,
	"status":   cmdStatus,
	"version":  cmdVersion,

	"set-operator": cmdSetOperator,
}

func cmdSetOperator(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("set-operator", flag.ContinueOnError)
	pos, err := parseArgs(fs, args, 1, "USER (\"\" to clear)")
	if err != nil {
		return err
	}
	cl := c.client()
	p, err := cl.Prefs(ctx)
	if err != nil {
		return err
	}
	p.Operator = pos[0]
	if _, err := cl.SetPrefs(ctx, p); err != nil {
		return err
	}
	if pos[0] == "" {
		fmt.Fprintln(c.out, "operator cleared: only root may change settings")
	} else {
		fmt.Fprintf(c.out, "operator set: %s may now change settings\n", pos[0])
	}
	return nil
}

func cmdCreate(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	open := fs.Bool("open", false, "admit anyone with the network id")
	closed := fs.Bool("closed", false, "admit by invite or approval (the default)")
	hostname := fs.String("hostname", "", "this node's name in the new network (default: its hostname)")
	pos, err := parseArgs(fs, args, 1, "NAME [--open] [--hostname H]")
	if err != nil {
		return err
	}
	if *open && *closed {
		return exitCode{2, "create: --open and --closed exclude each other"}
	}
	n, err := c.client().Create(ctx, apitype.CreateRequest{Name: pos[0], Open: *open, Hostname: *hostname})
	if err != nil {
		return err
	}
	kind := "closed"
	if n.Open {
		kind = "open"
	}
	fmt.Fprintf(c.out, "created %s network %q (id %s); you are its admin\n", kind, n.Name, n.ID)
	if n.Open {
		fmt.Fprintf(c.out, "anyone may join with: ray join %s\n", n.ID)
	}
	fmt.Fprintln(c.out, firewallHint)
	return nil
}

func cmdInvite(ctx context.Context, c *cli, args []string) error {
	if len(args) == 3 && args[0] == "revoke" {
		return cmdInviteRevoke(ctx, c, args[1:])
	}
	fs := flag.NewFlagSet("invite", flag.ContinueOnError)
	reusable := fs.Bool("reusable", false, "a code that admits many nodes until it expires")
	approval := fs.Bool("approval", false, "a code without a secret: joiners wait for an admin to run ray accept")
	expires := fs.String("expires", "", "lifetime, e.g. 24h or 7d (default 7d, reusable 30d)")
	hostname := fs.String("hostname", "", "the name the joiner gets (single-use codes)")
	pos, err := parseArgs(fs, args, 1, "NAME [--reusable] [--expires DURATION]")
	if err != nil {
		return err
	}
	r, err := c.client().Invite(ctx, apitype.InviteRequest{Network: pos[0], Reusable: *reusable, Approval: *approval, Expires: *expires, Hostname: *hostname})
	if err != nil {
		return err
	}
	kind := "single-use"
	switch {
	case r.Reusable:
		kind = "reusable"
	case r.Approval:
		kind = "approval"
	}
	exp := "never expires"
	if !r.Expires.IsZero() {
		exp = "expires " + r.Expires.Local().Format(timeFormat)
	}
	fmt.Fprintf(c.out, "%s invite for network %q, %s:\n%s\n", kind, r.Network, exp, r.Code)
	return nil
}

func cmdJoin(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("join", flag.ContinueOnError)
	hostname := fs.String("hostname", "", "this node's name in the network")
	wait := fs.Duration("wait", 5*time.Minute, "how long to wait for an admin's approval")
	pos, err := parseArgs(fs, args, 1, "CODE|NETWORK_ID|- [--hostname NAME] [--wait DURATION]")
	if err != nil {
		return err
	}
	code := pos[0]
	if code == "-" { // from stdin, so the code is not in ps or /proc
		if code, err = readCode(c.in); err != nil {
			return err
		}
	}
	network := "the network"
	if inv, err := netmap.ParseInvite(code); err == nil {
		network = inv.NetworkName
		if inv.Kind == netmap.InviteApproval {
			fmt.Fprintf(c.out, "waiting for an admin of %s to approve this device (Ctrl-C keeps the request)\n", network)
		}
	}
	r, err := c.client().Join(ctx, apitype.JoinRequestBody{Code: code, Hostname: *hostname, Wait: wait.String()})
	if ctx.Err() != nil || (err == nil && r.Pending) {
		return exitCode{3, fmt.Sprintf("still waiting for an admin of %s; the daemon keeps the request (ray status shows it)", network)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "joined network %q as %s (%d members)\n", r.Network.Name, r.Network.Hostname, r.Network.Members)
	if want := strings.ToLower(*hostname); want != "" && r.Network.Hostname != want {
		fmt.Fprintf(c.out, "the name %s was taken in %q, so this device is %s there\n", want, r.Network.Name, r.Network.Hostname)
	}
	fmt.Fprintln(c.out, firewallHint)
	return nil
}

// readCode reads an invite code from the first line of r.
func readCode(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 8<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("join: reading the code from stdin: %w", err)
	}
	if line = strings.TrimSpace(line); line == "" {
		return "", exitCode{2, "join: no code on stdin (usage: echo CODE | ray join -)"}
	}
	return line, nil
}

func cmdLeave(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("leave", flag.ContinueOnError)
	force := fs.Bool("force", false, "leave even as the network's last admin (the secret is kept in a backup file)")
	pos, err := parseArgs(fs, args, 1, "NAME [--force]")
	if err != nil {
		return err
	}
	r, err := c.client().LeaveNetwork(ctx, pos[0], *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "left network %q\n", pos[0])
	if r.Backup != "" {
		fmt.Fprintf(c.out, "the network secret is kept in %s (mode 0600): whoever holds it can admin %q\n", r.Backup, pos[0])
	}
	return nil
}

func cmdRequests(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("requests", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args, 1, "NAME")
	if err != nil {
		return err
	}
	rs, err := c.client().Requests(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.out, rs)
	}
	if len(rs) == 0 {
		fmt.Fprintf(c.out, "no pending join requests for %q\n", pos[0])
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tHOSTNAME\tRECEIVED")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Hostname, r.Received.Local().Format(timeFormat))
	}
	return tw.Flush()
}

func cmdDecide(accept bool) func(context.Context, *cli, []string) error {
	name := "deny"
	if accept {
		name = "accept"
	}
	return func(ctx context.Context, c *cli, args []string) error {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		pos, err := parseArgs(fs, args, 2, "NAME ID")
		if err != nil {
			return err
		}
		cl := c.client()
		if accept {
			err = cl.Accept(ctx, pos[0], pos[1])
		} else {
			err = cl.Deny(ctx, pos[0], pos[1])
		}
		if err != nil {
			return err
		}
		verb := "denied"
		if accept {
			verb = "accepted"
		}
		fmt.Fprintf(c.out, "%s %s\n", verb, pos[1])
		return nil
	}
}

func cmdUpDown(up bool) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) != 0 {
			return exitCode{2, "up/down take no arguments"}
		}
		var err error
		if up {
			err = c.client().Up(ctx)
		} else {
			err = c.client().Down(ctx)
		}
		if err != nil {
			return err
		}
		if up {
			fmt.Fprintln(c.out, "rayfish is up")
		} else {
			fmt.Fprintln(c.out, "rayfish is down (standby: peers stay connected, no traffic flows)")
		}
		return nil
	}
}

func cmdPing(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("ping", flag.ContinueOnError)
	count := fs.Int("c", 4, "number of pings")
	interval := fs.Duration("i", time.Second, "interval between pings")
	pos, err := parseArgs(fs, splitShortFlags(args, "-c", "-i"), 1, "PEER [-c N] [-i INTERVAL]")
	if err != nil {
		return err
	}
	if *count < 1 {
		return exitCode{2, fmt.Sprintf("ping: -c %d: the count must be 1 or more", *count)}
	}
	sent, got := 0, 0
	var sum time.Duration
	err = c.client().Ping(ctx, apitype.PingRequest{Peer: pos[0], Count: *count, Interval: interval.String()}, func(r apitype.PingReply) {
		sent++
		name := r.Hostname
		if r.IP != "" {
			name += " (" + r.IP + ")"
		}
		if r.Error != "" {
			fmt.Fprintf(c.out, "no reply from %s seq=%d: %s\n", name, r.Seq, r.Error)
			return
		}
		got++
		sum += time.Duration(r.RTTMs * float64(time.Millisecond))
		fmt.Fprintf(c.out, "reply from %s seq=%d time=%.2f ms via %s %s\n", name, r.Seq, r.RTTMs, r.Path, r.Endpoint)
	})
	if err != nil && err != io.EOF {
		return err
	}
	loss := 100.0
	if sent > 0 {
		loss = 100 * float64(sent-got) / float64(sent)
	}
	fmt.Fprintf(c.out, "%d sent, %d received, %.0f%% loss", sent, got, loss)
	if got > 0 {
		fmt.Fprintf(c.out, ", avg %.2f ms", float64(sum.Microseconds())/1000/float64(got))
	}
	fmt.Fprintln(c.out)
	if got == 0 {
		return exitCode{1, ""}
	}
	return nil
}

// splitShortFlags turns "-c1" into "-c", "1" for the named one-letter
// flags, as ping(8) accepts them.
func splitShortFlags(args []string, names ...string) []string {
	out := make([]string, 0, len(args)+1)
	for _, a := range args {
		split := false
		for _, n := range names {
			if v, ok := strings.CutPrefix(a, n); ok && v != "" && v[0] != '=' {
				out = append(out, n, v)
				split = true
				break
			}
		}
		if !split {
			out = append(out, a)
		}
	}
	return out
}

func cmdStatus(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if _, err := parseArgs(fs, args, 0, "[--json]"); err != nil {
		return err
	}
	st, err := c.client().Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.out, st)
	}
	printStatus(c.out, st)
	return nil
}

func printStatus(w io.Writer, st *apitype.Status) {
	fmt.Fprintf(w, "this node: %s  %s  %s  (%s)\n", st.Self.Hostname, st.Self.IPv4, st.Self.IPv6, st.State)
	if st.TUNError != "" {
		fmt.Fprintf(w, "no tunnel device (retrying): %s\n", st.TUNError)
	}
	if st.SaveError != "" {
		fmt.Fprintf(w, "cannot save state (running on memory, retrying): %s\n", st.SaveError)
	}
	fmt.Fprintf(w, "node id:   %s\n", st.Self.ID)
	printPortMap(w, 15, st.Self.PortMapping, st.Self.MemberRelay, time.Now())
	printRouting(w, st)
	if len(st.Networks) == 0 {
		fmt.Fprintln(w, "networks:  none (ray create NAME, or ray join CODE)")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(st.Networks) > 0 {
		fmt.Fprintln(tw, "\nNETWORK\tROLE\tTYPE\tMEMBERS\tVERSION\tID")
		for _, n := range st.Networks {
			role, typ := "member", "closed"
			if n.Admin {
				role = "admin"
			}
			if n.Open {
				typ = "open"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", n.Name, role, typ, n.Members, n.Version, n.ID)
		}
	}
	if len(st.Peers) > 0 {
		fmt.Fprintln(tw, "\nPEER\tID\tIPV4\tIPV6\tPATH\tRTT\tTX\tRX\tNETWORKS\tFOUND VIA")
		for _, p := range st.Peers {
			path := p.Path
			switch {
			case !p.Online:
				path = "offline"
			case p.State == apitype.PeerStandby:
				path = "standby (down)"
			case p.Endpoint != "":
				path += " " + p.Endpoint
			}
			rtt := "-"
			if p.Online {
				rtt = fmt.Sprintf("%.1fms", p.RTTMs)
			}
			ipv4 := p.IPv4.String()
			if !p.IPv4.IsValid() {
				ipv4 = "-"
			}
			if len(p.Refused) > 0 {
				ipv4 += " (refused " + p.Refused[0].String() + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Hostname, shortID(p.ID), ipv4, p.IPv6, path, rtt,
				humanBytes(p.TxBytes), humanBytes(p.RxBytes), strings.Join(p.Networks, ","), dash(p.DiscoveredVia))
		}
	}
	tw.Flush()
	for _, p := range st.Peers {
		if p.Online && p.RelayReason != "" {
			fmt.Fprintf(w, "%s is relayed: %s\n", p.Hostname, p.RelayReason)
		}
		for _, warn := range p.Warnings {
			fmt.Fprintf(w, "warning: %s: %s\n", p.Hostname, warn)
		}
		printPeerRoutes(w, p)
	}
	if len(st.Requests) > 0 {
		fmt.Fprintf(w, "\n%d pending join request(s): see ray requests NAME\n", len(st.Requests))
	}
	for _, r := range st.Removed {
		what := "You were removed from " + r.Name
		if r.Deleted {
			what = "Network " + r.Name + " was deleted"
		}
		fmt.Fprintf(w, "\n%s by an admin (%s); ray leave %s dismisses this\n", what, r.Time.Local().Format(timeFormat), r.Name)
	}
	for _, j := range st.Joining {
		if j.State == apitype.JoinDenied {
			fmt.Fprintf(w, "\nan admin of %s denied this device's join request (%s)\n", j.Network, j.Since.Local().Format(timeFormat))
		} else {
			fmt.Fprintf(w, "\nwaiting for an admin of %s to approve this device (requested %s)\n", j.Network, j.Since.Local().Format(timeFormat))
		}
	}
	if st.State == apitype.StateDown {
		fmt.Fprintln(w, "\nrayfish is down (standby): peers stay connected, no traffic flows; ray up turns it on")
	}
	if n := st.FirewallInLastMinute; n > 0 {
		fmt.Fprintf(w, "\nthe firewall blocked %d inbound packet(s) in the last minute: %s\n", n, firewallHint)
	}
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func cmdVersion(ctx context.Context, c *cli, args []string) error {
	fmt.Fprintf(c.out, "ray %s\n", buildinfo.Version)
	v, err := c.client().Version(ctx)
	if err != nil {
		fmt.Fprintf(c.out, "daemon: not reachable (%v)\n", err)
		return nil
	}
	fmt.Fprintf(c.out, "daemon %s (API %d)\n", v.Version, v.APIVersion)
	if v.APIVersion != apitype.APIVersion {
		fmt.Fprintf(c.out, "warning: daemon speaks API %d, this client %d\n", v.APIVersion, apitype.APIVersion)
	}
	return nil
}

// timeFormat shows a time with its zone, so a time read on another
// machine (or in a report) is not ambiguous.
const timeFormat = "2006-01-02 15:04:05 MST"

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
