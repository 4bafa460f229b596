package main

import (
	"fmt"
	"slices"
	"strings"
)

// cliDoc is one entry of the command table that `ray --help`, every
// `ray COMMAND --help` and the README's CLI section are printed from.
type cliDoc struct {
	// cmds are the command names the entry covers.
	cmds []string
	// local marks commands that do not talk to the daemon (no --socket).
	local bool
	// syn is the synopsis, one string per printed line.
	syn []string
	// what says what the command does (may be empty).
	what string
}

// cliTable is the one description of the command line.
var cliTable = []cliDoc{
	{cmds: []string{"daemon"}, local: true, syn: []string{
		"daemon --state-dir DIR --socket PATH [--listen-port N]",
		"[--relay URL]... [--serve-relay ADDR] [--metrics 127.0.0.1:PORT] [--no-dns] [--no-bulk]",
		"[--serve-relay-url URL] [--hostname NAME] [--tun NAME] [--log-dir DIR] [--pprof ADDR] [--verbose]",
		"[--dht-bootstrap HOST:PORT]... [--no-dht] [--no-portmap]",
	}, what: "run the node (root)"},
	{cmds: []string{"create"}, syn: []string{"create NAME [--open|--closed] [--hostname H]"},
		what: "create a network; you are its admin"},
	{cmds: []string{"invite"}, syn: []string{"invite NAME [--reusable|--approval] [--expires DURATION] [--hostname H]"},
		what: "invite code on the last stdout line"},
	{cmds: []string{"join"}, syn: []string{"join CODE|NETWORK_ID|- [--hostname NAME] [--wait DURATION]"},
		what: "join with a code (- reads it from stdin) or an open network's id"},
	{cmds: []string{"invites"}, syn: []string{"invites NAME [--json] | invite revoke NAME ID"},
		what: "admin: outstanding invites; revoke one everywhere"},
	{cmds: []string{"remove", "kick"}, syn: []string{"remove NAME PEER"},
		what: "admin: remove a member (alias kick)"},
	{cmds: []string{"delete"}, syn: []string{"delete NAME [--yes]"},
		what: "admin: dissolve a network for every member"},
	{cmds: []string{"admin"}, syn: []string{"admin add|remove NAME PEER"},
		what: "admin: share or withdraw admin rights"},
	{cmds: []string{"rekey"}, syn: []string{"rekey NAME"},
		what: "admin: a new network key; withdrawn admins' signatures are refused"},
	{cmds: []string{"hostname"}, syn: []string{"hostname NAME HOSTNAME"},
		what: "rename this node in a network (unique in it)"},
	{cmds: []string{"leave"}, syn: []string{"leave NAME [--force]"},
		what: "leave a network (last admin: --force keeps a secret backup)"},
	{cmds: []string{"requests", "accept", "deny"}, syn: []string{"requests NAME [--json] | accept NAME ID | deny NAME ID"},
		what: "join requests (ID: any unique prefix)"},
	{cmds: []string{"advertise"}, syn: []string{"advertise exit-node on|off | advertise routes PREFIX[,PREFIX...]"},
		what: "offer this node as exit node / its LAN routes (empty clears)"},
	{cmds: []string{"routes"}, syn: []string{"routes NETWORK [--json] | routes approve|unapprove NETWORK PEER PREFIX|exit-node",
		"| routes accept on|off"},
		what: "offers and approvals (approve: admin); use approved routes"},
	{cmds: []string{"exit-node"}, syn: []string{"exit-node list | exit-node use PEER [--allow-lan] | exit-node off"},
		what: "send all traffic through an approved exit node"},
	{cmds: []string{"up", "down"}, syn: []string{"up | down"},
		what: "data plane on / standby (peers stay connected)"},
	{cmds: []string{"ping"}, syn: []string{"ping PEER [-c N] [-i INTERVAL]"},
		what: "PEER: hostname, overlay IP or id prefix"},
	{cmds: []string{"status"}, syn: []string{"status [--json]"}, what: "this node, its networks and peers"},
	{cmds: []string{"netcheck"}, syn: []string{"netcheck [--json]"},
		what: "UDP port, public addresses, NAT type, port mapping, relays, DHT"},
	{cmds: []string{"firewall"}, syn: []string{
		"firewall show [--json] | add in|out allow|deny [-p PROTO] [-P PORTS]",
		"[--peer P] [--network N] | remove INDEX | move INDEX up|down|top|bottom|POSITION",
		"| default [in|out] allow|deny",
		"| reject on|off | pending|accept|deny NETWORK | auto-accept NETWORK on|off",
		"| suggest NETWORK in|out allow|deny [-p PROTO] [-P PORTS] | suggest NETWORK --clear",
	}, what: "the per-host firewall (suggest: admin)"},
	{cmds: []string{"config"}, syn: []string{
		"config show [--json] | config set relay URL[,URL] | config set mdns on|off",
		"| config set connect-on-start on|off | config set portmap on|off",
		"| config set dht on|off | config set serve-relay on|off",
	}, what: "preferences"},
	{cmds: []string{"mdns"}, syn: []string{"mdns on|off"}, what: "LAN discovery (as config set mdns)"},
	{cmds: []string{"set-operator"}, syn: []string{"set-operator USER"},
		what: "let a non-root user change settings"},
	{cmds: []string{"report"}, syn: []string{"report [-o FILE]"}, what: "sanitized support bundle (.tar.gz)"},
	{cmds: []string{"version"}, syn: []string{"version"}, what: "client and daemon versions"},
	{cmds: []string{"relay"}, local: true, syn: []string{"relay --listen ADDR [--stun-port N] [--cert F --key F] [--rate BYTES]",
		"[--max-conns N] [--max-conns-per-ip N]"},
		what: "run a relay server (capped by default; see --help)"},
	{cmds: []string{"dht"}, local: true, syn: []string{"dht serve --listen ADDR [--bootstrap HOST:PORT]..."},
		what: "run a plain Mainline DHT node (private sites, labs)"},
	{cmds: []string{"install", "start"}, local: true, syn: []string{"install | start [--state-dir DIR] [--socket PATH]"},
		what: "install (and start) the system service (root)"},
	{cmds: []string{"uninstall", "stop", "restart"}, local: true, syn: []string{"uninstall | stop | restart"},
		what: "remove / stop / restart the system service (root)"},
	{cmds: []string{"system-path"}, local: true, syn: []string{"system-path add|remove"},
		what: "add ray's folder to the system PATH (installers)"},
	{cmds: []string{"service-kick"}, local: true, syn: []string{"service-kick"},
		what: "start the service without waiting (Windows installer)"},
	{cmds: []string{"system-firewall"}, local: true, syn: []string{"system-firewall add|remove"},
		what: "the Windows Firewall rule for the overlay (installer)"},
	{cmds: []string{"help"}, local: true, syn: []string{"help | COMMAND --help"}, what: "this list; one command's usage"},
}

// helpColumn is where descriptions start.
const helpColumn = 61

// render prints d as it appears in the README and in `ray --help`.
func (d cliDoc) render() string {
	prefix := "ray [--socket PATH] "
	if d.local {
		prefix = "ray "
	}
	var b strings.Builder
	pad := strings.Repeat(" ", len(prefix))
	if d.local { // continue under the first argument: "ray daemon "
		pad = strings.Repeat(" ", len(prefix)+len(d.cmds[0])+1)
	}
	for i, s := range d.syn {
		line := pad + s
		if i == 0 {
			line = prefix + s
		}
		b.WriteString(line)
		if i == 0 && d.what != "" && len(line) < helpColumn-1 {
			b.WriteString(strings.Repeat(" ", helpColumn-len(line)) + d.what)
		}
		b.WriteString("\n")
	}
	if first := prefix + d.syn[0]; d.what != "" && len(first) >= helpColumn-1 {
		b.WriteString(strings.Repeat(" ", helpColumn) + d.what + "\n")
	}
	return b.String()
}

// cliReference is the README's CLI block: every entry of cliTable.
func cliReference() string {
	var b strings.Builder
	for _, d := range cliTable {
		b.WriteString(d.render())
	}
	return b.String()
}

// mainUsage is `ray --help`.
func mainUsage(socket string) string {
	return "usage: ray [--socket PATH] COMMAND [ARGS]\n\n" + cliReference() +
		"\nThe socket defaults to $RAY_SOCKET, else " + socket + ".\n"
}

// docFor returns the table entry of command cmd.
func docFor(cmd string) (cliDoc, bool) {
	for _, d := range cliTable {
		if slices.Contains(d.cmds, cmd) {
			return d, true
		}
	}
	return cliDoc{}, false
}

// synopsis is "usage: " and cmd's synopsis lines from the table.
func synopsis(cmd string) (string, bool) {
	d, ok := docFor(cmd)
	if !ok {
		return "", false
	}
	var b strings.Builder
	const prefix = "usage: ray "
	for i, s := range d.syn {
		if i == 0 {
			b.WriteString(prefix + s + "\n")
		} else {
			b.WriteString(strings.Repeat(" ", len(prefix)) + s + "\n")
		}
	}
	return b.String(), true
}

// commandHelp is cmd's entry of the table: the synopsis after "usage:",
// then what it does.
func commandHelp(cmd string) string {
	syn, ok := synopsis(cmd)
	if !ok {
		return fmt.Sprintf("usage: ray %s\n", cmd)
	}
	if d, _ := docFor(cmd); d.what != "" {
		syn += "\n" + d.what + "\n"
	}
	return syn
}

// flaglessCommands parse their own arguments; any -h or --help among them
// prints the command's table entry.
var flaglessCommands = map[string]bool{
	"firewall": true, "config": true, "mdns": true, "up": true, "down": true, "version": true,
	"stop": true, "restart": true, "uninstall": true, "system-path": true,
	"service-kick": true, "system-firewall": true, "advertise": true, "routes": true, "exit-node": true,
}

func isHelpFlag(s string) bool { return s == "-h" || s == "--help" || s == "-help" }
