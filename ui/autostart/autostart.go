// Package autostart turns "start rayfish at login" on and off. On Linux
// it writes an XDG autostart entry ($XDG_CONFIG_HOME/autostart/<id>.desktop);
// on macOS a LaunchAgent plist; on Windows, where the MSI's machine-wide
// Run key starts the app for every user, a per-user opt-out (OptOut);
// elsewhere it reports ErrUnsupported.
package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnsupported is returned where the OS has no implementation yet.
var ErrUnsupported = errors.New("start at login is not supported on this system")

// Manager reads and changes whether the app starts at login.
type Manager interface {
	Enabled() (bool, error)
	SetEnabled(on bool) error
}

// AppID names the autostart entry.
const AppID = "dev.rayfish.app"

// XDG is the freedesktop.org autostart entry of the app.
type XDG struct {
	// ConfigHome is $XDG_CONFIG_HOME (usually ~/.config).
	ConfigHome string
	// Exec is the absolute path of the app binary.
	Exec string
	// Args are passed to it (plain flags; not quoted).
	Args []string
}

// Path returns the .desktop file's path.
func (x XDG) Path() string { return filepath.Join(x.ConfigHome, "autostart", AppID+".desktop") }

// Enabled reports whether the entry exists and is not disabled with
// Hidden=true or X-GNOME-Autostart-enabled=false.
func (x XDG) Enabled() (bool, error) {
	b, err := os.ReadFile(x.Path())
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read autostart entry: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.ToLower(strings.TrimSpace(v))
		switch strings.TrimSpace(k) {
		case "Hidden":
			if v == "true" {
				return false, nil
			}
		case "X-GNOME-Autostart-enabled":
			if v == "false" {
				return false, nil
			}
		}
	}
	return true, nil
}

// SetEnabled writes or removes the entry.
func (x XDG) SetEnabled(on bool) error {
	if !on {
		if err := os.Remove(x.Path()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove autostart entry: %w", err)
		}
		return nil
	}
	if x.Exec == "" {
		return errors.New("autostart: no command to run")
	}
	if err := os.MkdirAll(filepath.Dir(x.Path()), 0o755); err != nil {
		return fmt.Errorf("create autostart dir: %w", err)
	}
	if err := writeFileAtomic(x.Path(), []byte(x.desktopEntry())); err != nil {
		return fmt.Errorf("write autostart entry: %w", err)
	}
	return nil
}

func (x XDG) desktopEntry() string {
	return "[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=rayfish\n" +
		"Comment=rayfish mesh VPN tray\n" +
		"Exec=" + strings.Join(append([]string{quoteExec(x.Exec)}, x.Args...), " ") + "\n" +
		"Icon=" + AppID + "\n" +
		"Terminal=false\n" +
		"X-GNOME-Autostart-enabled=true\n"
}

// quoteExec quotes a path for a desktop entry's Exec key when needed.
func quoteExec(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\$`") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\\\`, `"`, `\\"`, "`", "\\\\`", "$", `\\$`)
	return `"` + r.Replace(s) + `"`
}

// LaunchAgent is the macOS per-user launchd agent of the app.
type LaunchAgent struct {
	// Home is the user's home directory.
	Home string
	// Exec is the absolute path of the app binary.
	Exec string
	// Args are passed to it.
	Args []string
}

// Path returns the plist's path.
func (l LaunchAgent) Path() string {
	return filepath.Join(l.Home, "Library", "LaunchAgents", AppID+".plist")
}

// Enabled reports whether the plist exists.
func (l LaunchAgent) Enabled() (bool, error) { return exists(l.Path(), "stat launch agent") }

// exists reports whether path exists; what names it in an error.
func exists(path, what string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return true, nil
}

// SetEnabled writes or removes the plist.
func (l LaunchAgent) SetEnabled(on bool) error {
	if !on {
		if err := os.Remove(l.Path()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove launch agent: %w", err)
		}
		return nil
	}
	if l.Exec == "" {
		return errors.New("autostart: no command to run")
	}
	if err := os.MkdirAll(filepath.Dir(l.Path()), 0o755); err != nil {
		return fmt.Errorf("create LaunchAgents dir: %w", err)
	}
	var args strings.Builder
	for _, a := range append([]string{l.Exec}, l.Args...) {
		args.WriteString("\t\t<string>")
		xmlEscape(&args, a)
		args.WriteString("</string>\n")
	}
	plist := `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + AppID + `</string>
	<key>ProgramArguments</key>
	<array>
` + args.String() + `	</array>
	<key>RunAtLoad</key>
	<true/>
</dict>
</plist>
`
	if err := writeFileAtomic(l.Path(), []byte(plist)); err != nil {
		return fmt.Errorf("write launch agent: %w", err)
	}
	return nil
}

func xmlEscape(b *strings.Builder, s string) {
	strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").WriteString(b, s)
}

func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".autostart-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// OptOut is start at login where a machine-wide entry starts the app for
// every user with the flag AutostartFlag (the MSI's HKLM Run key on
// Windows: a user cannot change it without Administrator rights). Each
// user turns it off with a marker file; the app, started with the flag,
// exits at once when the user turned it off (see Suppressed).
type OptOut struct {
	// Marker is the per-user file whose presence means "off".
	Marker string
}

// AutostartFlag is the command-line flag the machine-wide entry passes.
const AutostartFlag = "autostart"

// Enabled reports whether the marker is absent.
func (o OptOut) Enabled() (bool, error) {
	off, err := exists(o.Marker, "read start-at-login setting")
	return !off && err == nil, err
}

// SetEnabled removes or writes the marker.
func (o OptOut) SetEnabled(on bool) error {
	if on {
		if err := os.Remove(o.Marker); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("turn start at login on: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.Marker), 0o700); err != nil {
		return fmt.Errorf("turn start at login off: %w", err)
	}
	if err := writeFileAtomic(o.Marker, []byte("rayfish does not start at login for this user; the app's setting removes this file\n")); err != nil {
		return fmt.Errorf("turn start at login off: %w", err)
	}
	return nil
}

// Suppressed reports whether an app started at login (with
// AutostartFlag) should exit at once because the user turned start at
// login off. An unreadable setting does not suppress.
func Suppressed(m Manager, startedAtLogin bool) bool {
	if !startedAtLogin {
		return false
	}
	on, err := m.Enabled()
	return err == nil && !on
}

type unsupported struct{}

func (unsupported) Enabled() (bool, error)   { return false, nil }
func (unsupported) SetEnabled(on bool) error { return ErrUnsupported }

// Default returns the Manager for this OS and user, running exe (the
// app's absolute path) with args.
func Default(exe string, args ...string) Manager { return defaultManager(exe, args) }
