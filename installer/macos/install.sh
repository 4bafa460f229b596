#!/bin/sh
# Install rayfish from this disk image: `sudo ./install.sh` (it asks for
# sudo itself when run as a user).
#
#   /usr/local/bin/ray                              daemon and command line (this Mac's architecture)
#   /Library/LaunchDaemons/dev.rayfish.daemon.plist the launchd job that runs `ray service-run`
#   /Applications/Rayfish.app                       the tray app (when this image has it; see README.txt)
#   ~/Library/LaunchAgents/dev.rayfish.app.plist    the console user's login item for the tray app,
#                                                   the one its "Start at login" setting turns on and off
#
# The daemon's state is kept in /Library/Application Support/rayfish and its
# log in /Library/Logs/rayfish/rayfish.log.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
label=dev.rayfish.daemon
plist=/Library/LaunchDaemons/$label.plist

if [ "$(id -u)" -ne 0 ]; then
	exec sudo /bin/sh "$0" "$@"
fi

case "$(uname -m)" in
arm64) arch=arm64 ;;
x86_64) arch=amd64 ;;
*) echo "rayfish: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac

# Stop a running daemon (an upgrade) before replacing its binary.
if launchctl print "system/$label" >/dev/null 2>&1; then
	launchctl bootout "system/$label" 2>/dev/null || launchctl unload "$plist" 2>/dev/null || true
fi

install -d -m 0755 /usr/local/bin /Library/Logs/rayfish
install -m 0755 "$here/bin/ray-$arch" /usr/local/bin/ray
install -m 0644 -o root -g wheel "$here/$label.plist" "$plist"
# Copies from a downloaded image carry the quarantine flag.
xattr -d com.apple.quarantine /usr/local/bin/ray 2>/dev/null || true

if [ -x "$here/Rayfish.app/Contents/MacOS/rayfish" ]; then
	rm -rf /Applications/Rayfish.app
	cp -R "$here/Rayfish.app" /Applications/
	xattr -dr com.apple.quarantine /Applications/Rayfish.app 2>/dev/null || true
	app="and /Applications/Rayfish.app"
else
	app="(this image has no tray app: see README.txt)"
fi

launchctl bootstrap system "$plist" 2>/dev/null || launchctl load -w "$plist"

# The person at this Mac (the owner of /dev/console) gets the tray app as a
# login item, the same LaunchAgent the app's "Start at login" setting
# manages (ui/autostart), and it starts now. Root owns the console at the
# login window: then there is nobody to set it up for.
login=""
console=$(stat -f %Su /dev/console 2>/dev/null || true)
if [ -x /Applications/Rayfish.app/Contents/MacOS/rayfish ] && [ -n "$console" ] &&
	[ "$console" != root ] && [ "$console" != _mbsetupuser ]; then
	uid=$(id -u "$console")
	home=$(dscl . -read "/Users/$console" NFSHomeDirectory | sed 's/^NFSHomeDirectory: //')
	agent="$home/Library/LaunchAgents/dev.rayfish.app.plist"
	sudo -u "$console" mkdir -p "$home/Library/LaunchAgents"
	sudo -u "$console" tee "$agent" >/dev/null <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>dev.rayfish.app</string>
	<key>ProgramArguments</key>
	<array>
		<string>/Applications/Rayfish.app/Contents/MacOS/rayfish</string>
		<string>--hidden</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
</dict>
</plist>
EOF
	launchctl bootout "gui/$uid/dev.rayfish.app" 2>/dev/null || true
	launchctl bootstrap "gui/$uid" "$agent" 2>/dev/null ||
		launchctl asuser "$uid" sudo -u "$console" open -a /Applications/Rayfish.app || true
	login=" The tray app starts at login for $console (turn it off in its settings)."
fi

echo "rayfish installed: /usr/local/bin/ray, the $label service $app.$login"
echo "Check it with: ray status"
