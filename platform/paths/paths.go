// Package paths gives the per-OS default locations of rayfish's daemon
// state, local API endpoint and logs.
//
//	            Linux                       darwin                                 Windows
//	state       /var/lib/rayfish            /Library/Application Support/rayfish   %ProgramData%\rayfish
//	socket      /run/rayfish/rayfish.sock   /var/run/rayfish.sock                  \\.\pipe\rayfish
//	logs        /var/log/rayfish            /Library/Logs/rayfish                  %ProgramData%\rayfish\logs
//
// On Linux the socket falls back to /var/run/rayfish/rayfish.sock on systems
// without /run.
package paths

import (
	"os"
	"runtime"
	"strings"
)

// Defaults are the default locations for one OS.
type Defaults struct {
	State  string // daemon state directory (keys, rosters)
	Socket string // local API unix socket or named pipe
	Log    string // log directory
}

// StateDir returns the default daemon state directory.
func StateDir() string { return current().State }

// SocketPath returns the default local API endpoint: a unix socket path, or
// a named pipe path on Windows.
func SocketPath() string { return current().Socket }

// LogDir returns the default log directory.
func LogDir() string { return current().Log }

func current() Defaults {
	return For(runtime.GOOS, os.Getenv, dirExists)
}

func dirExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// For returns the defaults for goos, reading environment variables with
// getenv and probing directories with isDir. It is exported for tests and
// for tools that need another OS's layout.
func For(goos string, getenv func(string) string, isDir func(string) bool) Defaults {
	switch goos {
	case "windows":
		base := getenv("ProgramData")
		if base == "" || !isAbsWindows(base) {
			base = `C:\ProgramData`
		}
		state := strings.TrimRight(base, `\`) + `\rayfish`
		return Defaults{
			State:  state,
			Socket: `\\.\pipe\rayfish`,
			Log:    state + `\logs`,
		}
	case "darwin":
		return Defaults{
			State:  "/Library/Application Support/rayfish",
			Socket: "/var/run/rayfish.sock",
			Log:    "/Library/Logs/rayfish",
		}
	default:
		run := "/run"
		if !isDir(run) {
			run = "/var/run"
		}
		return Defaults{
			State:  "/var/lib/rayfish",
			Socket: run + "/rayfish/rayfish.sock",
			Log:    "/var/log/rayfish",
		}
	}
}

// isAbsWindows reports whether p looks like an absolute Windows path with a
// drive letter (C:\...).
func isAbsWindows(p string) bool {
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		(('a' <= p[0] && p[0] <= 'z') || ('A' <= p[0] && p[0] <= 'Z'))
}
