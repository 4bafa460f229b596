# check: the static gate, first in .ci/run and in `make test`.
#
#   make check         all of the below
#   make fmt-check     gofmt: fails listing the files it would change
#   make vet           go vet on linux (with the gui, netns and installers
#                      tags), windows and darwin
#   make staticcheck   staticcheck on the same three OSes at once (-matrix),
#                      so code one OS needs is not "unused" on another
#   make deadcode      functions no binary of ours reaches on any OS we ship
#                      (mk/deadcode.sh; allowlist: mk/deadcode-allow.txt)
#
# The tools are built from the Go module proxy at pinned versions into
# build/tools/NAME-VERSION/ (a new version installs beside the old one).
# Windows and macOS are checked with CGO_ENABLED=0: their tray app (tag gui)
# needs a cgo cross toolchain, so Linux alone checks the gui-tagged code.

# honnef.co/go/tools v0.8.2 is staticcheck 2026.2.2, which supports Go 1.26.
STATICCHECK_VERSION := v0.8.2
# golang.org/x/tools, for cmd/deadcode.
DEADCODE_VERSION := v0.52.0

TOOLS := build/tools
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
DEADCODE := $(TOOLS)/deadcode-$(DEADCODE_VERSION)/deadcode
GOFMT ?= $(shell $(GO) env GOROOT)/bin/gofmt

# The configurations vet and staticcheck look at: NAME: ENV... -tags=TAGS.
# The netns and installers tags are Linux-only test suites. The few test
# files tagged race or !race are compiled by `make unit` (with -race) and
# its allocation run (without).
CHECK_CONFIGS := \
  'linux: GOOS=linux CGO_ENABLED=1 -tags=gui,netns,installers' \
  'windows: GOOS=windows CGO_ENABLED=0' \
  'darwin: GOOS=darwin CGO_ENABLED=0'

.PHONY: check fmt-check staticcheck deadcode

check: fmt-check vet staticcheck deadcode
	@echo "make check: gofmt, vet, staticcheck and deadcode passed"

fmt-check:
	@files=$$(find . -path ./build -prune -o -path './.*' -prune -o -name '*.go' -print | xargs $(GOFMT) -l); \
	if [ -n "$$files" ]; then echo "gofmt: these files are not formatted (run gofmt -w):"; echo "$$files"; exit 1; fi

# vet: one go vet per configuration of CHECK_CONFIGS.
vet: gui-deps
	@set -e; for c in $(CHECK_CONFIGS); do \
	  env=$$(echo "$${c#*: }" | tr ' ' '\n' | grep -v '^-' | tr '\n' ' '); \
	  flags=$$(echo "$${c#*: }" | tr ' ' '\n' | grep '^-' | tr '\n' ' '); \
	  echo "== go vet $${c%%:*} ($$env$$flags)"; \
	  env $$env $(GO) vet $$flags ./...; \
	done

staticcheck: gui-deps $(STATICCHECK)
	@echo "== staticcheck $(STATICCHECK_VERSION): $(CHECK_CONFIGS)"
	@printf '%s\n' $(CHECK_CONFIGS) | $(STATICCHECK) -matrix ./...

deadcode: gui-deps $(DEADCODE)
	@bash mk/deadcode.sh $(DEADCODE) mk/deadcode-allow.txt

$(STATICCHECK):
	GOBIN=$(CURDIR)/$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(DEADCODE):
	GOBIN=$(CURDIR)/$(dir $@) $(GO) install golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION)
