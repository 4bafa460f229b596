//go:build !linux && !darwin && !windows

package ui

// DefaultSocket is where the daemon listens on this OS.
const DefaultSocket = "/var/run/rayfish.sock"

func startDaemonCommand() (string, []string) { return "ray", []string{"start"} }
