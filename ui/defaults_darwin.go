package ui

// DefaultSocket is where the daemon listens on this OS.
const DefaultSocket = "/var/run/rayfish.sock"

func startDaemonCommand() (string, []string) { return macStartDaemonCommand() }
