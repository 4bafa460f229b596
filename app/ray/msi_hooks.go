package main

// Hidden commands the MSI runs as LocalSystem (installer/windows/rayfish.wxs):
//
//   ray service-kick            start the rayfish service without waiting for
//                               it; a failed start is reported, not fatal, so
//                               that it never rolls the installation back
//   ray system-firewall add|remove
//                               the Windows Firewall rule admitting overlay
//                               traffic inbound (the tunnel's network would
//                               otherwise get the Public profile's blocks)
//
// wixl has neither a firewall element nor a way to make StartServices
// non-fatal, so ray does both.

import (
	"context"
	"fmt"
	"strings"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/platform/service"
)

func init() {
	commands["service-kick"] = cmdServiceKick
	commands["system-firewall"] = cmdSystemFirewall
}

// firewallRuleName names rayfish's Windows Firewall rule.
const firewallRuleName = "rayfish overlay (inbound)"

func cmdServiceKick(ctx context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return exitCode{2, "usage: ray service-kick"}
	}
	if err := kickService(service.Name); err != nil {
		return fmt.Errorf("service-kick: start %s: %w", service.Name, err)
	}
	fmt.Fprintf(c.out, "service-kick: service %s: start requested\n", service.Name)
	return nil
}

func cmdSystemFirewall(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 || (args[0] != "add" && args[0] != "remove") {
		return exitCode{2, "usage: ray system-firewall add|remove"}
	}
	for i, argv := range firewallCommands(args[0] == "add") {
		out, err := runNetsh(ctx, argv)
		if err != nil && args[0] == "add" && i == 0 {
			continue // no old rule to delete
		}
		if err != nil {
			return fmt.Errorf("system-firewall %s: netsh %s: %w: %s", args[0], strings.Join(argv, " "), err, strings.TrimSpace(out))
		}
	}
	fmt.Fprintf(c.out, "firewall rule %q: %sed\n", firewallRuleName, map[bool]string{true: "add", false: "remov"}[args[0] == "add"])
	return nil
}

// firewallCommands returns the netsh argument lists that add (after
// removing any old copy) or remove the rule. It admits inbound traffic
// only between overlay addresses, on every profile: such packets arrive
// only through the tunnel, whose own firewall (engine/firewall) decides
// per peer.
func firewallCommands(add bool) [][]string {
	del := []string{"advfirewall", "firewall", "delete", "rule", "name=" + firewallRuleName}
	if !add {
		return [][]string{del}
	}
	ranges := key.CGNATPrefix.String() + "," + key.ULAPrefix.String()
	return [][]string{
		del,
		{"advfirewall", "firewall", "add", "rule", "name=" + firewallRuleName, "dir=in", "action=allow",
			"protocol=any", "profile=any", "localip=" + ranges, "remoteip=" + ranges,
			"description=Admits traffic from rayfish peers over the tunnel; rayfish's own firewall filters it per peer."},
	}
}
