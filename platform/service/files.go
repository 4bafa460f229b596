package service

import (
	"fmt"
	"strings"
)

// SystemdUnit returns the systemd unit for the spec (GOOS "linux"). Both
// `ray install` (through kardianos) and the .deb install this unit.
func SystemdUnit(s Spec) (string, error) {
	if s.GOOS != "linux" {
		return "", fmt.Errorf("service: systemd unit for %q", s.GOOS)
	}
	if err := s.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	args := append([]string{s.Executable}, s.Args()...)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = systemdQuote(a)
	}
	fmt.Fprintf(&b, `[Unit]
Description=%s
Wants=network-pre.target
After=network-pre.target NetworkManager.service systemd-resolved.service
# Never give up restarting: a VPN daemon that stays down is worse than one
# that restarts every %d seconds.
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=%s
Restart=always
RestartSec=%d
# service-run stops the node on SIGTERM and restores the TUN, routes and DNS.
KillSignal=SIGTERM
TimeoutStopSec=20

[Install]
WantedBy=multi-user.target
`, DisplayName+" daemon", RestartDelaySeconds, strings.Join(quoted, " "), RestartDelaySeconds)
	return b.String(), nil
}

// systemdQuote quotes one ExecStart word: specifiers (%) and variable
// expansion ($) are escaped, and words with spaces, quotes or backslashes are
// double-quoted with C-style escapes.
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	s = strings.ReplaceAll(s, "$", "$$")
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// LaunchdPlist returns the launchd property list for the spec (GOOS
// "darwin"). Both `ray install` (through kardianos) and the disk image's
// install script put it at /Library/LaunchDaemons/dev.rayfish.daemon.plist.
func LaunchdPlist(s Spec) (string, error) {
	if s.GOOS != "darwin" {
		return "", fmt.Errorf("service: launchd plist for %q", s.GOOS)
	}
	if err := s.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + LaunchdLabel + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range append([]string{s.Executable}, s.Args()...) {
		b.WriteString("\t\t<string>" + xmlEscape(a) + "</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<true/>
	<key>ThrottleInterval</key>
	<integer>` + fmt.Sprint(RestartDelaySeconds) + `</integer>
	<key>StandardOutPath</key>
	<string>` + xmlEscape(s.LogFile()) + `</string>
	<key>StandardErrorPath</key>
	<string>` + xmlEscape(s.LogFile()) + `</string>
</dict>
</plist>
`)
	return b.String(), nil
}

var xmlEscaper = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&quot;", `'`, "&apos;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }
