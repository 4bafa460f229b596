# impair: the lossy-link relay for the netns tests (test/impair), and
# wireguard-go built from the Go module proxy to run next to rayfish on
# the same impaired link (the version ../shared/bench/anchors.sh uses).

WG_GO_VERSION ?= v0.0.0-20260522210424-ecfc5a8d5446

.PHONY: impair wireguard-go

impair:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/impair ./test/impair

wireguard-go: $(BIN)/wireguard-go

$(BIN)/wireguard-go:
	@mkdir -p $(BIN)
	cd /tmp && GOFLAGS= GOBIN=$(CURDIR)/$(BIN)/wg-build $(GO) install golang.zx2c4.com/wireguard@$(WG_GO_VERSION)
	mv $(BIN)/wg-build/wireguard $@ && rmdir $(BIN)/wg-build

# bench-impair: the long versions of the impaired-link netns tests, part of
# make bench: TCP at 50 ms RTT with 0/1/3% loss and 1% reordering (rayfish,
# raw and wireguard-go, IMPAIR_SECONDS per run, median of IMPAIR_REPEAT),
# path changes under a TCP stream, and a daemon stopped for 90 s.
.PHONY: bench-impair
bench-impair: ray impair wireguard-go deps-test
	RAY_BIN=$(CURDIR)/$(BIN)/ray IMPAIR_BIN=$(CURDIR)/$(BIN)/impair WG_GO=$(CURDIR)/$(BIN)/wireguard-go \
	  IMPAIR_SECONDS=$${IMPAIR_SECONDS:-10} IMPAIR_REPEAT=$${IMPAIR_REPEAT:-3} SLEEP_SECONDS=$${SLEEP_SECONDS:-90} \
	  $(GO) test -count=1 -timeout 30m -tags netns -v -run '^(TestLossyLink|TestPathChanges|TestSleep)$$' ./test/netns/ 2>&1 \
	  | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+\S+\.go:[0-9]+: SUMMARY)'; test $${PIPESTATUS[0]} -eq 0
