# rayfish — see README.md. `make run` and `make test` work on a fresh Debian machine as root.
SHELL := /bin/bash
GO ?= go
BIN := build/bin
export PATH := /usr/local/go/bin:$(PATH)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/rayfish/rayfish/app/buildinfo.Version=0.1.0+$(VERSION)
STATE_DIR ?= /var/lib/rayfish
SOCKET ?= /run/rayfish/rayfish.sock

# Debian packages the daemon and the tests need (installed only when missing).
RUN_PKGS := iproute2 ca-certificates
TEST_PKGS := iproute2 iputils-ping iperf3 nftables dnsutils procps psmisc miniupnpd miniupnpd-nftables

.DEFAULT_GOAL := all
.PHONY: all build ray run test unit netns deps-run deps-test demo bench fuzz clean

# Per-area targets (gui, installers, cross-platform checks...).
include $(wildcard mk/*.mk)

all: build

# apt_install: $(call apt_install,PACKAGES[,EXTRA apt-get FLAGS]) installs the
# Debian packages that are missing; every Makefile in mk/ uses it.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) $$missing >/dev/null; fi
endef

deps-run:
	$(call apt_install,$(RUN_PKGS))

deps-test:
	$(call apt_install,$(TEST_PKGS))

ray:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ray ./app/ray

build: ray

# unit: every package's tests with the race detector (the cgo GUI is built by test-gui).
unit:
	$(GO) test -race -count=1 -timeout 15m ./...
	@# Allocation counts need a build without -race (its sync.Pool drops items).
	$(GO) test -count=1 -run 'Allocs' ./engine/...

# netns: real daemons and real TUN devices in network namespaces (root).
netns: ray
	RAY_BIN=$(CURDIR)/$(BIN)/ray $(GO) test -count=1 -timeout 20m -tags netns -v ./test/netns/ 2>&1 | tee build/netns.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+\S+\.go:[0-9]+: (SUMMARY|##))' ; test $${PIPESTATUS[0]} -eq 0

# test: everything, in order: the static checks (mk/check.mk), unit tests
# (race), cross-OS vet, the GUI's headless tests, then the real-daemon netns
# tests.
test: check deps-test unit cross-platform test-gui screenshots test-installers netns
	@echo "make test: all suites passed"

# run: the daemon (in the background, log in build/daemon.log) and the tray
# app. Without a display, the daemon runs in the foreground instead.
run: deps-run ray gui
	@mkdir -p $(dir $(SOCKET)) build
	@if [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  echo "no display: running the daemon in the foreground (Ctrl-C stops it); the CLI is $(BIN)/ray"; \
	  exec $(BIN)/ray daemon --state-dir $(STATE_DIR) --socket $(SOCKET); fi; \
	if $(BIN)/ray --socket $(SOCKET) status >/dev/null 2>&1; then echo "daemon already running"; else \
	  echo "starting the daemon (log: build/daemon.log)"; \
	  nohup $(BIN)/ray daemon --state-dir $(STATE_DIR) --socket $(SOCKET) >build/daemon.log 2>&1 & \
	  for i in $$(seq 50); do $(BIN)/ray --socket $(SOCKET) status >/dev/null 2>&1 && break; sleep 0.1; done; fi; \
	$(BIN)/rayfish --socket $(SOCKET)

demo: deps-test ray
	bash test/demo.sh $(CURDIR)/$(BIN)/ray

fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$spec $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-60s} $$spec || exit 1; \
	  done; done

clean:
	rm -rf build

