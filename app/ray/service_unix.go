//go:build !windows

package main

import "os"

// isAdmin reports whether ray runs as root.
func isAdmin() bool { return os.Geteuid() == 0 }

// elevate is nil on Linux and macOS: the caller elevates (sudo, pkexec, or
// the tray app's administrator prompt).
var elevate func(args []string) error
