package ui

import "strings"

// macRayPath is where installer/macos/install.sh puts ray. The GUI names it
// in full: AppleScript's `do shell script` runs with
// PATH=/usr/bin:/bin:/usr/sbin:/sbin, which lacks /usr/local/bin.
const macRayPath = "/usr/local/bin/ray"

// macStartDaemonCommand is the command the GUI runs on macOS to start the
// daemon: `ray start` behind the administrator password prompt.
func macStartDaemonCommand() (string, []string) {
	return "osascript", []string{"-e", adminShellScript(macRayPath, "start")}
}

// adminShellScript returns the AppleScript that runs argv through /bin/sh
// with administrator privileges: each word single-quoted for the shell,
// the whole command escaped as an AppleScript string literal.
func adminShellScript(argv ...string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	cmd := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(strings.Join(words, " "))
	return `do shell script "` + cmd + `" with administrator privileges`
}
