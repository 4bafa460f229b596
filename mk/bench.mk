# bench: performance against the anchors (raw veth, wireguard-go, nebula),
# measured side by side in one run of ../shared/bench/anchors.sh with our
# hook, plus the Go benchmarks of the hot functions.
#
#   make bench                       full anchors run (about 10 minutes)
#   BENCH_QUICK=1 make bench         one repeat of raw, wireguard-go and rayfish
#   make bench-go                    go test -bench over the data path packages

ANCHORS ?= $(firstword $(wildcard ../shared/bench/anchors.sh /work/shared/bench/anchors.sh))

.PHONY: bench bench-go bench-anchors bench-scale

bench: bench-go bench-anchors

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./engine/packet/ ./engine/firewall/ ./engine/bulk/ ./engine/router/ ./engine/

bench-anchors: ray deps-test
	@test -n "$(ANCHORS)" || { echo "anchors.sh not found (../shared/bench/anchors.sh)"; exit 1; }
	@if [ -n "$(BENCH_QUICK)" ]; then export ANC_CONFIGS="raw wg1420" ANC_REPEAT=1 ANC_DURATION=5; fi; \
	ANC_HOOK=$(CURDIR)/test/bench/anchors-hook.sh ANC_HOOK_NAME=rayfish RAY_BIN=$(CURDIR)/$(BIN)/ray \
	  bash $(ANCHORS)

# bench-scale: a 50-node mesh on this machine (N=11 gives the 10-peer RSS).
bench-scale: ray
	@command -v bc >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bc >/dev/null; }
	bash test/bench/scale.sh $(BIN)/ray $${N:-50}
