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
rm -rf /Applications/Rayfish.app
if [ "${1:-}" = "--purge" ]; then
	rm -rf "/Library/Application Support/rayfish" /Library/Logs/rayfish
fi
echo "rayfish removed."
