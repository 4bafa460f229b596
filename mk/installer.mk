# installer: cross-builds of `ray` and the MSI / DMG / .deb installers
# (files in installer/; see installer/README.md).
#
#   make cross            ray for windows/{amd64,arm64} and darwin/{amd64,arm64} (CGO_ENABLED=0)
#   make msi              Windows x64 MSI (wixl): ray.exe, rayfish.exe, wintun.dll, service, shortcut
#   make dmg              macOS disk image: Rayfish.app, ray, launchd plist, install script
#   make deb              Debian package: ray, rayfish, systemd unit, .desktop entry and icon
#   make installers       all of the above
#   make test-installers  build all with placeholder GUI binaries and inspect them (part of `make test`)
#
# Inputs that can be overridden:
#   WINTUN_DLL   wintun.dll for amd64 (default installer/windows/wintun/amd64/wintun.dll)
#   RAYFISH_EXE  a prebuilt rayfish.exe; empty = build it with mingw-w64 (slow: ~5+ min cold)
#   RAYFISH_BIN  a prebuilt Linux rayfish; empty = `make gui`
#   WINE_RAYFISH_EXE  test-installers: a prebuilt rayfish.exe to run under Wine; empty = build it
#   INSTALLER_OUT  output directory (default build/installer)

INSTALLER_OUT ?= build/installer
INSTALLER_TOOLS := build/installer-tools
INSTALLER_GEN := $(INSTALLER_TOOLS)/gen
CROSS_TARGETS := windows/amd64 windows/arm64 darwin/amd64 darwin/arm64
CROSS_DIR = $(INSTALLER_OUT)/cross

PKG_VERSION ?= $(shell sed -n 's/^[[:space:]]*Version[[:space:]]*=[[:space:]]*"\([0-9][0-9.]*\)".*/\1/p' FyneApp.toml)
MSI_VERSION ?= $(PKG_VERSION)
DEB_VERSION ?= $(PKG_VERSION)
DEB_ARCH ?= $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_GOARCH = $(patsubst armhf,arm,$(patsubst i386,386,$(DEB_ARCH)))

WINTUN_DLL ?= installer/windows/wintun/amd64/wintun.dll
RAYFISH_EXE ?=
RAYFISH_BIN ?=

MSI_FILE = $(INSTALLER_OUT)/rayfish-$(MSI_VERSION)-x64.msi
DMG_FILE = $(INSTALLER_OUT)/rayfish-$(PKG_VERSION)-macos.dmg
DEB_FILE = $(INSTALLER_OUT)/rayfish_$(DEB_VERSION)_$(DEB_ARCH).deb

# Debian packages that build the installers, and those the tests inspect with.
INSTALLER_PKGS := wixl msitools genisoimage dpkg-dev
INSTALLER_TEST_PKGS := icnsutils icoutils desktop-file-utils
MINGW_PKGS := gcc-mingw-w64-x86-64
# What the Wine checks of test-installers run with (test/installers/wine_test.go).
WINE_PKGS := wine wine64 $(MINGW_PKGS) xvfb xdotool imagemagick x11-utils libgl1-mesa-dri

.PHONY: cross msi dmg deb installers test-installers installer-deps installer-test-deps installer-gen rayfish-exe

installer-deps:
	$(call apt_install,$(INSTALLER_PKGS))

installer-test-deps:
	$(call apt_install,$(INSTALLER_PKGS) $(INSTALLER_TEST_PKGS))

installer-gen:
	@mkdir -p $(INSTALLER_TOOLS)
	$(GO) build -o $(INSTALLER_GEN) ./installer/gen

cross:
	@mkdir -p $(CROSS_DIR)
	@set -e; for t in $(CROSS_TARGETS); do \
	  os=$${t%/*}; arch=$${t#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  echo "== ray $$os/$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
	    -o $(CROSS_DIR)/ray-$$os-$$arch$$ext ./app/ray; \
	done

# rayfish-exe: the Windows tray app, cross-compiled with mingw-w64 (cgo).
rayfish-exe:
	$(call apt_install,$(MINGW_PKGS))
	@mkdir -p $(INSTALLER_OUT)/windows
	rm -f $(INSTALLER_OUT)/windows/rayfish.exe
	CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc GOOS=windows GOARCH=amd64 $(GO) build -tags gui -trimpath \
	  -ldflags '$(LDFLAGS) -H windowsgui' -o $(INSTALLER_OUT)/windows/rayfish.exe ./app/rayfish

msi: installer-deps installer-gen
	@if [ ! -f "$(WINTUN_DLL)" ]; then \
	  echo "msi: wintun.dll not found at $(WINTUN_DLL)." >&2; \
	  echo "     It cannot be downloaded by the build. Get the official Wintun release zip (wintun-0.14.1.zip" >&2; \
	  echo "     from wintun.net), and copy wintun/bin/amd64/wintun.dll to installer/windows/wintun/amd64/wintun.dll," >&2; \
	  echo "     or run: make msi WINTUN_DLL=/path/to/amd64/wintun.dll" >&2; \
	  exit 1; fi
	@mkdir -p $(INSTALLER_OUT)/windows
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(INSTALLER_OUT)/windows/ray.exe ./app/ray
	@if [ -n "$(RAYFISH_EXE)" ]; then cp "$(RAYFISH_EXE)" $(INSTALLER_OUT)/windows/rayfish.exe; \
	  else $(MAKE) --no-print-directory rayfish-exe INSTALLER_OUT=$(INSTALLER_OUT); fi
	cp "$(WINTUN_DLL)" $(INSTALLER_OUT)/windows/wintun.dll
	@for f in rayfish.exe wintun.dll; do [ "$$(head -c 2 $(INSTALLER_OUT)/windows/$$f)" = MZ ] || \
	  echo "msi: WARNING: $$f is not a Windows executable (no MZ header): this MSI is for tests only"; done
	$(INSTALLER_GEN) ico -in assets/icon.png -out $(INSTALLER_OUT)/windows/rayfish.ico
	@# wixl finds sources relative to the current directory only.
	cd $(INSTALLER_OUT)/windows && wixl -a x64 -D Version=$(MSI_VERSION) -D RayExe=ray.exe -D RayfishExe=rayfish.exe \
	  -D WintunDll=wintun.dll -D IconFile=rayfish.ico -o rayfish.msi $(CURDIR)/installer/windows/rayfish.wxs
	mv $(INSTALLER_OUT)/windows/rayfish.msi $(MSI_FILE)
	@echo "msi: $(MSI_FILE) ($$(du -h $(MSI_FILE) | cut -f1))"

dmg: installer-deps installer-gen cross
	@set -e; stage=$(INSTALLER_OUT)/dmg/Rayfish; app=$$stage/Rayfish.app/Contents; \
	rm -rf $(INSTALLER_OUT)/dmg; mkdir -p $$app/MacOS $$app/Resources $$stage/bin; \
	$(INSTALLER_GEN) info-plist -app FyneApp.toml > $$app/Info.plist; \
	printf 'APPL????' > $$app/PkgInfo; \
	$(INSTALLER_GEN) icns -in assets/icon.png -out $$app/Resources/rayfish.icns; \
	install -m 0755 $(CROSS_DIR)/ray-darwin-arm64 $$stage/bin/ray-arm64; \
	install -m 0755 $(CROSS_DIR)/ray-darwin-amd64 $$stage/bin/ray-amd64; \
	$(INSTALLER_GEN) launchd-plist -exe /usr/local/bin/ray > $$stage/dev.rayfish.daemon.plist; \
	install -m 0755 installer/macos/install.sh installer/macos/uninstall.sh $$stage/; \
	if [ "$$(uname -s)" = Darwin ]; then \
	  for a in arm64 amd64; do \
	    CGO_ENABLED=1 GOOS=darwin GOARCH=$$a $(GO) build -tags gui -trimpath -ldflags '$(LDFLAGS)' \
	      -o $(INSTALLER_OUT)/dmg/rayfish-$$a ./app/rayfish; done; \
	  lipo -create -output $$app/MacOS/rayfish $(INSTALLER_OUT)/dmg/rayfish-arm64 $(INSTALLER_OUT)/dmg/rayfish-amd64; \
	  sed -e 's/@VERSION@/$(PKG_VERSION)/' -e '/@LINUX@/,/@END@/d' installer/macos/README.txt > $$stage/README.txt; \
	  rm -f $(DMG_FILE); hdiutil create -volname Rayfish -srcfolder $$stage -ov -format UDZO $(DMG_FILE); \
	else \
	  sed -e 's/@VERSION@/$(PKG_VERSION)/' -e '/@LINUX@/d' -e '/@END@/d' installer/macos/README.txt > $$stage/README.txt; \
	  echo "dmg: LEFT OUT Rayfish.app/Contents/MacOS/rayfish (the tray app needs a Mac to build: cgo + the macOS SDK);"; \
	  echo "dmg: the image installs the daemon and the ray command; README.txt inside says so"; \
	  genisoimage -quiet -V Rayfish -D -R -apple -no-pad -o $(DMG_FILE) $$stage; \
	fi
	@echo "dmg: $(DMG_FILE) ($$(du -h $(DMG_FILE) | cut -f1))"

deb: installer-deps installer-gen
	@mkdir -p $(BIN)
	CGO_ENABLED=0 GOARCH=$(DEB_GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(INSTALLER_OUT)/deb/ray ./app/ray
	@if [ -z "$(RAYFISH_BIN)" ]; then $(MAKE) --no-print-directory gui; fi
	@set -e; root=$(INSTALLER_OUT)/deb/root; gui="$(RAYFISH_BIN)"; [ -n "$$gui" ] || gui=$(BIN)/rayfish; \
	rm -rf $$root; \
	install -d $$root/DEBIAN $$root/usr/bin $$root/lib/systemd/system $$root/usr/share/applications \
	  $$root/usr/share/icons/hicolor/256x256/apps $$root/usr/share/doc/rayfish; \
	install -m 0755 $(INSTALLER_OUT)/deb/ray $$root/usr/bin/ray; \
	install -m 0755 "$$gui" $$root/usr/bin/rayfish; \
	$(INSTALLER_GEN) systemd-unit -exe /usr/bin/ray > $$root/lib/systemd/system/rayfish.service; \
	$(INSTALLER_GEN) desktop -app FyneApp.toml > $$root/usr/share/applications/dev.rayfish.app.desktop; \
	install -m 0644 assets/icon.png $$root/usr/share/icons/hicolor/256x256/apps/rayfish.png; \
	install -m 0644 installer/linux/copyright $$root/usr/share/doc/rayfish/copyright; \
	chmod 0644 $$root/lib/systemd/system/rayfish.service $$root/usr/share/applications/dev.rayfish.app.desktop; \
	install -m 0755 installer/linux/postinst installer/linux/prerm installer/linux/postrm $$root/DEBIAN/; \
	depends="iproute2, passwd"; \
	if [ "$$(head -c 4 "$$gui" | tail -c 3)" = ELF ]; then \
	  shl=$$(installer/linux/shlibdeps.sh "$$gui") && [ -n "$$shl" ] && depends="$$depends, $$shl" || \
	    echo "deb: WARNING: could not compute the tray app's library dependencies"; \
	else echo "deb: WARNING: $$gui is not an ELF binary: this package is for tests only"; fi; \
	size=$$(du -sk --exclude=DEBIAN $$root | cut -f1); \
	sed -e 's/@VERSION@/$(DEB_VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' -e "s/@DEPENDS@/$$depends/" \
	  -e "s/@SIZE@/$$size/" installer/linux/control > $$root/DEBIAN/control; \
	dpkg-deb --root-owner-group -Zxz --build $$root $(DEB_FILE) >/dev/null
	@echo "deb: $(DEB_FILE) ($$(du -h $(DEB_FILE) | cut -f1))"

installers: cross msi dmg deb
	@ls -l $(CROSS_DIR) $(MSI_FILE) $(DMG_FILE) $(DEB_FILE)

# test-installers builds every installer with clearly marked placeholder GUI
# binaries and wintun.dll (the real ones are slow to build or cannot be
# downloaded here), then inspects them (test/installers, tag installers):
# cross-build headers, MSI tables, DMG file list, .deb contents, and a real
# `dpkg -i` / `ray version` / `dpkg -r` on this machine (root only).
# Under Wine, in a fresh prefix: the MSI installs, upgrades and uninstalls,
# ray.exe runs, ui/single's tests pass on a named pipe, and the real
# mingw-built rayfish.exe opens its window on Xvfb (screenshot in
# build/screenshots/windows-*.png). The first mingw build of the tray app
# takes minutes; later ones come from the Go build cache.
TEST_INSTALLER_OUT := build/installer-test
PLACEHOLDERS := $(TEST_INSTALLER_OUT)/placeholders
# A later version of the MSI, to check that both share the UpgradeCode.
UPGRADE_VERSION = $(shell echo $(PKG_VERSION) | awk -F. '{ print $$1 "." $$2 "." $$3 + 1 }')

test-installers: installer-test-deps
	$(call apt_install,$(WINE_PKGS))
	rm -rf $(TEST_INSTALLER_OUT)
	@mkdir -p $(PLACEHOLDERS)
	printf 'PLACEHOLDER rayfish.exe: not the tray app, made by make test-installers\r\n' > $(PLACEHOLDERS)/rayfish.exe
	printf 'PLACEHOLDER wintun.dll: not the Wintun library, made by make test-installers\r\n' > $(PLACEHOLDERS)/wintun.dll
	printf '#!/bin/sh\necho "PLACEHOLDER rayfish: not the tray app, made by make test-installers"\n' > $(PLACEHOLDERS)/rayfish
	chmod 0755 $(PLACEHOLDERS)/rayfish
	$(MAKE) --no-print-directory cross msi dmg deb INSTALLER_OUT=$(TEST_INSTALLER_OUT) \
	  RAYFISH_EXE=$(PLACEHOLDERS)/rayfish.exe WINTUN_DLL=$(PLACEHOLDERS)/wintun.dll RAYFISH_BIN=$(PLACEHOLDERS)/rayfish
	@# The newer MSI's ray.exe says its version, so that the Wine check sees the upgrade.
	$(MAKE) --no-print-directory msi INSTALLER_OUT=$(TEST_INSTALLER_OUT)/upgrade MSI_VERSION=$(UPGRADE_VERSION) \
	  LDFLAGS='-s -w -X github.com/rayfish/rayfish/app/buildinfo.Version=$(UPGRADE_VERSION)+$(VERSION)' \
	  RAYFISH_EXE=$(PLACEHOLDERS)/rayfish.exe WINTUN_DLL=$(PLACEHOLDERS)/wintun.dll
	mv $(TEST_INSTALLER_OUT)/upgrade/rayfish-$(UPGRADE_VERSION)-x64.msi $(TEST_INSTALLER_OUT)/
	@if [ -z "$(WINE_RAYFISH_EXE)" ]; then $(MAKE) --no-print-directory rayfish-exe INSTALLER_OUT=$(TEST_INSTALLER_OUT)/gui; fi
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) test -c -o $(TEST_INSTALLER_OUT)/gui/single.test.exe ./ui/single
	INSTALLER_OUT=$(CURDIR)/$(TEST_INSTALLER_OUT) PKG_VERSION=$(PKG_VERSION) UPGRADE_VERSION=$(UPGRADE_VERSION) \
	  WINE_RAYFISH_EXE=$(or $(WINE_RAYFISH_EXE),$(CURDIR)/$(TEST_INSTALLER_OUT)/gui/windows/rayfish.exe) \
	  WINE_SINGLE_TEST=$(CURDIR)/$(TEST_INSTALLER_OUT)/gui/single.test.exe SCREENSHOT_DIR=$(CURDIR)/build/screenshots \
	  $(GO) test -tags installers -count=1 -v -timeout 10m ./test/installers/ 2>&1 | tee $(TEST_INSTALLER_OUT)/test.log \
	  | grep -E '^(=== RUN|\s*--- |PASS|FAIL|ok|\s+\S+\.go:[0-9]+: |\s{8})'; test $${PIPESTATUS[0]} -eq 0
