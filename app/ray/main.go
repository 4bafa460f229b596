// Command ray is rayfish's command line: the daemon (`ray daemon`), the
// relay server (`ray relay`), and a client of the daemon's local API for
// everything else.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/rayfish/rayfish/engine/localapi/client"
	"github.com/rayfish/rayfish/platform/paths"
)

func main() {
	os.Exit(runIO(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// runIO executes one command line and returns the exit code.
func runIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runCtx(ctx, args, stdin, stdout, stderr)
}

// runCtx executes one command line until ctx ends (Ctrl-C) and returns
// the exit code.
func runCtx(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	socket := os.Getenv("RAY_SOCKET")
	if socket == "" {
		socket = paths.SocketPath()
	}
	// Global flags come before the command.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		switch {
		case a == "--socket" || a == "-socket":
			if len(args) < 2 {
				fmt.Fprintln(stderr, "ray: --socket needs a path")
				return 2
			}
			socket, args = args[1], args[2:]
		case strings.HasPrefix(a, "--socket="):
			socket, args = strings.TrimPrefix(a, "--socket="), args[1:]
		case a == "-h" || a == "--help" || a == "-help":
			fmt.Fprint(stdout, mainUsage(socket))
			return 0
		default:
			fmt.Fprintf(stderr, "ray: unknown flag %s\n", a)
			return 2
		}
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage(socket))
		return 2
	}
	cmd, rest := args[0], args[1:]
	if flaglessCommands[cmd] && slices.ContainsFunc(rest, isHelpFlag) {
		fmt.Fprint(stdout, commandHelp(cmd))
		return 0
	}
	c := &cli{socket: socket, in: stdin, out: stdout, errw: stderr}
	var err error
	switch cmd {
	case "daemon":
		err = runDaemon(ctx, rest, socket, stderr)
	case "relay":
		err = runRelay(ctx, rest, stderr)
	case "dht":
		err = runDHT(ctx, rest, stderr)
	case "help":
		fmt.Fprint(stdout, mainUsage(socket))
		return 0
	default:
		f, ok := commands[cmd]
		if !ok {
			fmt.Fprintf(stderr, "ray: unknown command %q (see ray help)\n", cmd)
			return 2
		}
		err = f(ctx, c, rest)
		if err == nil {
			c.warnUnsaved(ctx)
		}
	}
	if err == nil {
		return 0
	}
	var uh usageHelp
	if errors.As(err, &uh) {
		fmt.Fprint(stdout, uh.text)
		return 0
	}
	var ec exitCode
	if errors.As(err, &ec) {
		if ec.msg != "" {
			fmt.Fprintln(stderr, "ray: "+ec.msg)
		}
		return ec.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.Is(err, client.ErrNoDaemon) {
		fmt.Fprintf(stderr, "ray: the rayfish daemon is not running (no answer on %s); start it with `ray daemon` or `ray start`\n", socket)
		return 1
	}
	fmt.Fprintln(stderr, "ray: "+err.Error())
	return 1
}

// exitCode carries a specific exit status.
type exitCode struct {
	code int
	msg  string
}

func (e exitCode) Error() string { return e.msg }

// usageHelp is a command's usage, asked for with -h or --help: printed on
// stdout with exit status 0.
type usageHelp struct{ text string }

func (u usageHelp) Error() string { return u.text }

// commandUsage describes fs's command: its synopsis and flags.
func commandUsage(fs *flag.FlagSet, what string) string {
	var b strings.Builder
	if _, ok := docFor(fs.Name()); ok {
		b.WriteString(commandHelp(fs.Name()))
	} else {
		fmt.Fprintf(&b, "usage: ray %s %s\n", fs.Name(), what)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nflags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return b.String()
}

// parseArgs parses flags that may appear before, between or after
// positional arguments, and checks the positional count.
func parseArgs(fs *flag.FlagSet, args []string, npos int, what string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usageHelp{commandUsage(fs, what)}
			}
			return nil, exitCode{2, fmt.Sprintf("%s: %v\n%s", fs.Name(), err, strings.TrimSuffix(commandUsage(fs, what), "\n"))}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != npos {
		if syn, ok := synopsis(fs.Name()); ok {
			return nil, exitCode{2, strings.TrimSuffix(syn, "\n")}
		}
		return nil, exitCode{2, fmt.Sprintf("usage: ray %s %s", fs.Name(), what)}
	}
	return pos, nil
}
