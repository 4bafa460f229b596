package ui

// DefaultSocket is where the daemon listens on this OS.
const DefaultSocket = `\\.\pipe\rayfish`

func startDaemonCommand() (string, []string) { return "ray", []string{"start"} }
