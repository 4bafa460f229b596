package ui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// SocketEnv names the environment variable that overrides the daemon's
// socket path.
const SocketEnv = "RAY_SOCKET"

// SocketPath picks the daemon address: flag if set, else $RAY_SOCKET, else
// DefaultSocket.
func SocketPath(flag string) string {
	if flag != "" {
		return flag
	}
	if s := os.Getenv(SocketEnv); s != "" {
		return s
	}
	return DefaultSocket
}

// DefaultStartDaemon asks the OS to start the installed daemon service,
// authenticating the user as needed (`pkexec ray start` on Linux, an
// administrator prompt on macOS, `ray start` on Windows).
func DefaultStartDaemon(ctx context.Context) error {
	name, args := startDaemonCommand()
	return runCommand(ctx, name, args...)
}

func runCommand(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			return fmt.Errorf("%s: %w", name, err)
		}
		return fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return nil
}
