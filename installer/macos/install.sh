#!/bin/sh
# Install rayfish from this disk image: `sudo ./install.sh` (it asks for
# sudo itself when run as a user).
#
#   /usr/local/bin/ray                              daemon and command line (this Mac's architecture)
#   /Library/LaunchDaemons/dev.rayfish.daemon.plist the launchd job that runs `ray service-run`
#   /Applications/Rayfish.app                       the tray app (when this image has it; see README.txt)
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

echo "rayfish installed: /usr/local/bin/ray, the $label service $app."
echo "Check it with: ray status"
