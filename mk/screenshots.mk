# screenshots: issue 4's evidence for the desktop app. A real daemon pair in
# network namespaces (rfss-a, rfss-b) running as root, the real rayfish
# binary under Xvfb run as the unprivileged user alice (created for the run,
# in the group rayfish) with her own session D-Bus and a stand-in tray
# watcher; saves PNGs to build/screenshots/, checks the tray item over D-Bus
# and clicks Disconnect, Connect and "Join a network…" in its menu. Root only.
#
#   make screenshots   everything (installs missing Debian packages first)

SCREENSHOT_PKGS := xvfb xdotool imagemagick dbus jq iproute2 iputils-ping libgl1-mesa-dri nftables

.PHONY: screenshots screenshots-deps

screenshots-deps:
	$(call apt_install,$(SCREENSHOT_PKGS),--no-install-recommends)

screenshots: screenshots-deps ray gui
	@mkdir -p $(BIN) build/screenshots
	CGO_ENABLED=0 $(GO) build -o $(BIN)/sscheck ./test/screenshots/sscheck
	RAY=$(CURDIR)/$(BIN)/ray RAYFISH=$(CURDIR)/$(BIN)/rayfish SSCHECK=$(CURDIR)/$(BIN)/sscheck \
	  OUT=$(CURDIR)/build/screenshots timeout -s TERM 300 bash test/screenshots/run.sh
