package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Exit nodes and subnet routes: advertise, routes, exit-node.

func init() {
	commands["advertise"] = cmdAdvertise
	commands["routes"] = cmdRoutes
	commands["exit-node"] = cmdExitNode
}

// usageOf is the usage error of cmd from the command table.
func usageOf(cmd string) error {
	syn, _ := synopsis(cmd)
	return exitCode{2, strings.TrimSuffix(syn, "\n")}
}

// cmdAdvertise is `ray advertise exit-node on|off` and
// `ray advertise routes PREFIX[,PREFIX...]` (an empty list clears).
func cmdAdvertise(ctx context.Context, c *cli, args []string) error {
	var req apitype.AdvertiseRequest
	switch {
	case len(args) == 2 && args[0] == "exit-node":
		on, err := onOff(args, 1, "ray advertise exit-node on|off")
		if err != nil {
			return err
		}
		req.ExitNode = &on
	case (len(args) == 1 || len(args) == 2) && args[0] == "routes":
		routes := []string{}
		if len(args) == 2 {
			for _, r := range strings.Split(args[1], ",") {
				if r = strings.TrimSpace(r); r != "" {
					routes = append(routes, r)
				}
			}
		}
		req.Routes = &routes
	default:
		return usageOf("advertise")
	}
	o, err := c.client().Advertise(ctx, req)
	if err != nil {
		return err
	}
	if (o.ExitNode || len(o.Routes) > 0) && (req.ExitNode == nil || *req.ExitNode) {
		defer firewallHintForRouting(ctx, c)
	}
	self := "THIS-NODE"
	if st, err := c.client().Status(ctx); err == nil && st.Self.Hostname != "" {
		self = st.Self.Hostname
	}
	if req.ExitNode != nil {
		if o.ExitNode {
			fmt.Fprintf(c.out, "this node offers to be an exit node; an admin approves it with: ray routes approve NETWORK %s exit-node\n", self)
		} else {
			fmt.Fprintln(c.out, "this node no longer offers to be an exit node")
		}
		return nil
	}
	if len(o.Routes) == 0 {
		fmt.Fprintln(c.out, "this node offers no subnet routes")
		return nil
	}
	fmt.Fprintf(c.out, "this node offers %s; an admin approves each with: ray routes approve NETWORK %s PREFIX\n", strings.Join(o.Routes, ", "), self)
	return nil
}

// firewallHintForRouting says that members' traffic through this node
// passes its firewall, which denies inbound traffic by default.
func firewallHintForRouting(ctx context.Context, c *cli) {
	fw, err := c.client().Firewall(ctx)
	if err != nil || fw.DefaultIn != "deny" {
		return
	}
	fmt.Fprintln(c.out, "members' traffic through this node passes its firewall, which denies inbound by default; allow it with e.g.: ray firewall add in allow --network NETWORK")
}

// cmdRoutes is `ray routes NETWORK [--json]`,
// `ray routes approve|unapprove NETWORK PEER PREFIX|exit-node` and
// `ray routes accept on|off`.
func cmdRoutes(ctx context.Context, c *cli, args []string) error {
	cl := c.client()
	switch {
	case len(args) == 4 && (args[0] == "approve" || args[0] == "unapprove"):
		approve := args[0] == "approve"
		r, err := cl.ApproveRoute(ctx, apitype.ApproveRequest{Network: args[1], Peer: args[2], Route: args[3], Approve: approve})
		if err != nil {
			return err
		}
		what := args[3]
		if what == apitype.ExitNodeRoute {
			what = "as an exit node"
		}
		if approve {
			fmt.Fprintf(c.out, "approved %s %s in %q\n", r.Hostname, what, args[1])
		} else {
			fmt.Fprintf(c.out, "withdrew the approval of %s %s in %q\n", r.Hostname, what, args[1])
		}
		return nil
	case len(args) == 2 && args[0] == "accept":
		on, err := onOff(args, 1, "ray routes accept on|off")
		if err != nil {
			return err
		}
		if err := cl.AcceptRoutes(ctx, on); err != nil {
			return err
		}
		if on {
			fmt.Fprintln(c.out, "this node uses the subnet routes admins approved")
		} else {
			fmt.Fprintln(c.out, "this node ignores members' subnet routes")
		}
		return nil
	case len(args) == 1 && args[0] != "approve" && args[0] != "unapprove" && args[0] != "accept",
		len(args) == 2 && args[1] == "--json":
		r, err := cl.Routes(ctx, args[0])
		if err != nil {
			return err
		}
		if len(args) == 2 {
			return printJSON(c.out, r)
		}
		printRoutes(c.out, r)
		return nil
	}
	return usageOf("routes")
}

func printRoutes(w io.Writer, r apitype.NetworkRoutes) {
	if len(r.Members) == 0 {
		fmt.Fprintf(w, "no member of %q offers an exit node or routes (ray advertise on the member)\n", r.Network)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tROUTE\tOFFERED\tAPPROVED")
	for _, m := range r.Members {
		if m.ExitNodeOffered || m.ExitNodeApproved {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Hostname, apitype.ExitNodeRoute, yesNo(m.ExitNodeOffered), yesNo(m.ExitNodeApproved))
		}
		for _, rt := range m.Routes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Hostname, rt.Prefix, yesNo(rt.Offered), yesNo(rt.Approved))
		}
	}
	tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// cmdExitNode is `ray exit-node list`, `ray exit-node use PEER
// [--allow-lan]` and `ray exit-node off`.
func cmdExitNode(ctx context.Context, c *cli, args []string) error {
	cl := c.client()
	switch {
	case len(args) == 1 && args[0] == "list":
		list, err := cl.ExitNodes(ctx)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(c.out, "no peer offers to be an exit node")
			return nil
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PEER\tID\tSTATE\tAPPROVED\tIN USE")
		for _, n := range list {
			state := "offline"
			if n.Online {
				state = "online"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Hostname, shortID(n.ID), state, yesNo(n.Approved), yesNo(n.Selected))
		}
		tw.Flush()
		return nil
	case len(args) == 1 && args[0] == "off":
		if _, err := cl.UseExitNode(ctx, apitype.ExitNodeRequest{}); err != nil {
			return err
		}
		fmt.Fprintln(c.out, "exit node off: only mesh traffic goes through rayfish")
		return nil
	case (len(args) == 2 || len(args) == 3) && args[0] == "use":
		req := apitype.ExitNodeRequest{Peer: args[1]}
		if len(args) == 3 {
			if args[2] != "--allow-lan" {
				return usageOf("exit-node")
			}
			req.AllowLAN = true
		}
		st, err := cl.UseExitNode(ctx, req)
		if err != nil {
			return err
		}
		lan := ""
		if st.AllowLAN {
			lan = "; the local LAN stays reachable directly"
		}
		fmt.Fprintf(c.out, "all traffic now goes through %s (%s)%s; if it goes away traffic stops until you run: ray exit-node off\n", st.Hostname, st.State, lan)
		return nil
	}
	return usageOf("exit-node")
}

// printRouting is status's exit node and offers lines.
func printRouting(w io.Writer, st *apitype.Status) {
	if x := st.ExitNode; x != nil {
		switch x.State {
		case apitype.ExitStateOnline:
			fmt.Fprintf(w, "exit node: %s (online): all traffic goes through it\n", x.Hostname)
		default:
			fmt.Fprintf(w, "exit node: %s (%s): traffic outside the mesh is BLOCKED until it returns or you run: ray exit-node off\n", x.Hostname, x.State)
		}
	}
	var offers []string
	if st.Advertised.ExitNode {
		offers = append(offers, apitype.ExitNodeRoute)
	}
	offers = append(offers, st.Advertised.Routes...)
	if len(offers) > 0 {
		fmt.Fprintf(w, "offering: %s (used once an admin approves: ray routes NETWORK)\n", strings.Join(offers, ", "))
	}
	if !st.AcceptRoutes {
		fmt.Fprintln(w, "subnet routes: not accepted (ray routes accept on)")
	}
}

// printPeerRoutes is status's line about what a peer routes for us.
func printPeerRoutes(w io.Writer, p apitype.Peer) {
	var parts []string
	switch {
	case p.ExitNodeApproved:
		parts = append(parts, "exit node")
	case p.ExitNodeOffer:
		parts = append(parts, "exit node (not approved)")
	}
	if len(p.Routes) > 0 {
		parts = append(parts, "routes "+strings.Join(p.Routes, ", "))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "%s offers: %s\n", p.Hostname, strings.Join(parts, "; "))
	}
}
