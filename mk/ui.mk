# ui: the desktop tray app `rayfish` (Fyne, cgo, build tag `gui`).
#
#   make gui             build build/bin/rayfish
#   make test-gui        race-test ui/... and app/rayfish with -tags gui
#   make gui-screenshot  build build/bin/rayfish-screenshot (headless window renderer)
#   make gui-icons       redraw assets/*.png from assets/internal/glyph
#   make app-cpu         the app's idle CPU with 50 busy peers (a stand-in daemon),
#                        per tab, hidden, and hidden with a quiet daemon, over
#                        SECS (60) s each under xvfb-run
#
# A cold build of Fyne takes minutes: never `go clean -cache`.

GUI_PKGS := libgl1-mesa-dev xorg-dev
# app/rayfish's exec tests run the app as an ordinary user on a private X
# display, with and without a private session bus, under strace (to see
# where it writes); app-cpu also gives it a private session bus.
GUI_TEST_PKGS := xvfb dbus strace
GUI_TAGS := gui

.PHONY: gui gui-deps test-gui gui-screenshot gui-icons app-cpu

# gui-deps: the C headers Fyne's GLFW driver needs, installed only if missing.
gui-deps:
	$(call apt_install,$(GUI_PKGS))

gui: gui-deps
	@mkdir -p $(BIN)
	CGO_ENABLED=1 $(GO) build -tags $(GUI_TAGS) -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/rayfish ./app/rayfish

gui-screenshot: gui-deps
	@mkdir -p $(BIN)
	CGO_ENABLED=1 $(GO) build -tags $(GUI_TAGS) -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/rayfish-screenshot ./ui/cmd/rayfish-screenshot

test-gui: gui-deps
	$(call apt_install,$(GUI_TEST_PKGS),--no-install-recommends)
	CGO_ENABLED=1 $(GO) vet -tags $(GUI_TAGS) ./ui/... ./app/rayfish/...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m -tags $(GUI_TAGS) ./ui/... ./app/rayfish/... ./assets/...

gui-icons:
	$(GO) run ./assets/gen -out assets

app-cpu: gui
	$(call apt_install,$(GUI_TEST_PKGS),--no-install-recommends)
	CGO_ENABLED=0 $(GO) build -o $(BIN)/sscheck ./test/screenshots/sscheck
	RAYFISH=$(CURDIR)/$(BIN)/rayfish SSCHECK=$(CURDIR)/$(BIN)/sscheck bash test/screenshots/appcpu.sh
