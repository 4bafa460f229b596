# ui: the desktop tray app `rayfish` (Fyne, cgo, build tag `gui`).
#
#   make gui             build build/bin/rayfish
#   make test-gui        race-test ui/... and app/rayfish with -tags gui
#   make gui-screenshot  build build/bin/rayfish-screenshot (headless window renderer)
#   make gui-icons       redraw assets/*.png from assets/internal/glyph
#
# A cold build of Fyne takes minutes: never `go clean -cache`.

GUI_PKGS := libgl1-mesa-dev xorg-dev
GUI_TAGS := gui

.PHONY: gui gui-deps test-gui gui-screenshot gui-icons

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
	CGO_ENABLED=1 $(GO) vet -tags $(GUI_TAGS) ./ui/... ./app/rayfish/...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m -tags $(GUI_TAGS) ./ui/... ./app/rayfish/... ./assets/...

gui-icons:
	$(GO) run ./assets/gen -out assets
