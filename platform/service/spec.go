// Package service runs the rayfish daemon under the operating system's
// service manager — systemd on Linux, launchd on macOS, the service control
// manager on Windows — through github.com/kardianos/service.
//
// It holds two things: the definition of the installed service for each OS
// ([Spec], its kardianos [Spec.Config], the systemd unit and the launchd
// plist that `ray install` and the .deb / .dmg installers write), and
// [Program], the adapter between the service manager's Start/Stop callbacks
// and a daemon's start and stop functions.
//
// The installed service runs `ray service-run --state-dir DIR --socket PATH`
// (the daemon's own flags) so that on Windows the process answers the service
// control manager; on Linux and macOS service-run behaves like `ray daemon`.
//
//	         service name         definition file                                  restart on failure
//	Linux    rayfish              /etc/systemd/system/rayfish.service              Restart=always, RestartSec=2
//	                              (/lib/systemd/system/rayfish.service from .deb)
//	macOS    dev.rayfish.daemon   /Library/LaunchDaemons/dev.rayfish.daemon.plist  KeepAlive, RunAtLoad
//	Windows  rayfish              service control manager                          recovery action: restart after 2s
package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	kservice "github.com/kardianos/service"

	"github.com/rayfish/rayfish/platform/paths"
)

const (
	// Name is the service name on Linux and Windows.
	Name = "rayfish"
	// LaunchdLabel is the service name (launchd label) on macOS.
	LaunchdLabel = "dev.rayfish.daemon"
	// DisplayName is the human-readable service name.
	DisplayName = "rayfish mesh VPN"
	// Description describes the service in the service manager.
	Description = "rayfish peer-to-peer mesh VPN daemon: owns the TUN device, routes and DNS for the rayfish tray app and the ray command."
	// RunCommand is the ray subcommand the service manager executes.
	RunCommand = "service-run"

	// RestartDelaySeconds is how long the service manager waits before
	// restarting a daemon that exited or crashed.
	RestartDelaySeconds = 2
	// WindowsFailureResetSeconds is the Windows recovery reset period: after
	// this long without a failure the failure count starts over.
	WindowsFailureResetSeconds = 86400
)

// Spec describes the installed service on one OS.
type Spec struct {
	GOOS       string // "linux", "darwin" or "windows"
	Executable string // absolute path of the ray binary
	StateDir   string // the daemon's --state-dir
	Socket     string // the daemon's --socket (unix socket or named pipe)
	LogDir     string // where the daemon's output goes when the OS does not keep it (macOS, Windows)
}

// SpecFor is the Spec for goos with the given locations.
func SpecFor(goos, exe string, d paths.Defaults) Spec {
	return Spec{GOOS: goos, Executable: exe, StateDir: d.State, Socket: d.Socket, LogDir: d.Log}
}

// ServiceName is the name the service manager knows the service by.
func (s Spec) ServiceName() string {
	if s.GOOS == "darwin" {
		return LaunchdLabel
	}
	return Name
}

// Args are the arguments the service manager passes to the executable.
func (s Spec) Args() []string {
	return []string{RunCommand, "--state-dir", s.StateDir, "--socket", s.Socket}
}

// LogFile is the file the daemon's log goes to on macOS and Windows (""
// on Linux, where the journal keeps the service's output).
func (s Spec) LogFile() string {
	switch s.GOOS {
	case "darwin":
		return s.LogDir + "/rayfish.log"
	case "windows":
		return strings.TrimRight(s.LogDir, `\`) + `\rayfish.log`
	}
	return ""
}

// Validate checks that the spec can be written into a service definition.
func (s Spec) Validate() error {
	switch s.GOOS {
	case "linux", "darwin", "windows":
	default:
		return fmt.Errorf("service: unsupported OS %q", s.GOOS)
	}
	fields := []struct{ name, v string }{
		{"executable", s.Executable}, {"state dir", s.StateDir}, {"socket", s.Socket}, {"log dir", s.LogDir},
	}
	for _, f := range fields {
		if f.v == "" {
			return fmt.Errorf("service: empty %s", f.name)
		}
		if !isAbs(s.GOOS, f.v) {
			return fmt.Errorf("service: %s %q is not an absolute path", f.name, f.v)
		}
		// kardianos renders definitions through a template engine whose
		// actions are {{...}}; control characters break every format.
		if strings.Contains(f.v, "{{") || strings.Contains(f.v, "}}") {
			return fmt.Errorf("service: %s %q contains braces", f.name, f.v)
		}
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("service: %s %q contains a control character", f.name, f.v)
		}
	}
	return nil
}

func isAbs(goos, p string) bool {
	if goos != "windows" {
		return strings.HasPrefix(p, "/")
	}
	if strings.HasPrefix(p, `\\`) { // \\.\pipe\rayfish, UNC paths
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		(('a' <= p[0] && p[0] <= 'z') || ('A' <= p[0] && p[0] <= 'Z'))
}

// Config is the kardianos service configuration for the spec's OS.
func (s Spec) Config() (*kservice.Config, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &kservice.Config{
		Name:        s.ServiceName(),
		DisplayName: DisplayName,
		Description: Description,
		Executable:  s.Executable,
		Arguments:   s.Args(),
	}
	switch s.GOOS {
	case "linux":
		unit, err := SystemdUnit(s)
		if err != nil {
			return nil, err
		}
		c.Option = kservice.KeyValue{
			// systemd: our own unit (the built-in one waits 120s to restart).
			"SystemdScript": unit,
			// The other Linux init systems kardianos supports (SysV, OpenRC,
			// upstart) use their built-in templates with these.
			"Restart": "always",
		}
	case "darwin":
		plist, err := LaunchdPlist(s)
		if err != nil {
			return nil, err
		}
		c.Option = kservice.KeyValue{
			"LaunchdConfig": plist,
			"KeepAlive":     true,
			"RunAtLoad":     true,
			"LogDirectory":  s.LogDir,
		}
	case "windows":
		c.Option = kservice.KeyValue{
			"StartType":              "automatic",
			"OnFailure":              "restart",
			"OnFailureDelayDuration": fmt.Sprintf("%ds", RestartDelaySeconds),
			"OnFailureResetPeriod":   WindowsFailureResetSeconds,
		}
	}
	return c, nil
}

// ExecutablePath returns the absolute, symlink-free path of the running
// program, for Spec.Executable.
func ExecutablePath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("service: find own executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	abs, err := filepath.Abs(exe)
	if err != nil {
		return "", fmt.Errorf("service: %w", err)
	}
	return abs, nil
}

// ErrNotInstalled is kardianos's error for a service that is not installed.
var ErrNotInstalled = kservice.ErrNotInstalled

// IsNotInstalled reports whether err means that the service is not installed.
func IsNotInstalled(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, kservice.ErrNotInstalled) {
		return true
	}
	// Windows: mgr.OpenService fails with "The specified service does not
	// exist as an installed service."; kardianos wraps it as text.
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "not installed") || strings.Contains(msg, "does not exist")
}
