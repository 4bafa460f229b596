#!/bin/sh
# Remove rayfish: `sudo ./uninstall.sh` keeps the daemon's state (node key,
# networks); `sudo ./uninstall.sh --purge` deletes it too.
set -eu

label=dev.rayfish.daemon
plist=/Library/LaunchDaemons/$label.plist

if [ "$(id -u)" -ne 0 ]; then
	exec sudo /bin/sh "$0" "$@"
fi

# Stopping the daemon restores the utun device, routes and DNS.
launchctl bootout "system/$label" 2>/dev/null || launchctl unload "$plist" 2>/dev/null || true
rm -f "$plist" /usr/local/bin/ray
# The console user's login item for the tray app (install.sh made it).
console=$(stat -f %Su /dev/console 2>/dev/null || true)
if [ -n "$console" ] && [ "$console" != root ]; then
	uid=$(id -u "$console")
	home=$(dscl . -read "/Users/$console" NFSHomeDirectory | sed 's/^NFSHomeDirectory: //')
	launchctl bootout "gui/$uid/dev.rayfish.app" 2>/dev/null || true
	rm -f "$home/Library/LaunchAgents/dev.rayfish.app.plist"
fi
rm -rf /Applications/Rayfish.app
if [ "${1:-}" = "--purge" ]; then
	rm -rf "/Library/Application Support/rayfish" /Library/Logs/rayfish
fi
echo "rayfish removed."
