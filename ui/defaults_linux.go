package ui

// DefaultSocket is where the daemon listens on this OS.
const DefaultSocket = "/run/rayfish/rayfish.sock"

func startDaemonCommand() (string, []string) { return "pkexec", []string{"ray", "start"} }
