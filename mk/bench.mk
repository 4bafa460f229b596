# bench: performance against the anchors (raw veth, wireguard-go, nebula),
# measured side by side in one run of ../shared/bench/anchors.sh with our
# hook, plus the Go benchmarks of the hot functions.
#
#   make bench                       full anchors run (about 10 minutes): raw,
#                                    wireguard-go, nebula, rayfish on QUIC
#                                    datagrams only (the path before the bulk
#                                    channel), rayfish direct and relayed
#   BENCH_QUICK=1 make bench         one 5 s repeat of the same, without nebula
#   make bench-go                    go test -bench over the data path packages

ANCHORS ?= $(firstword $(wildcard ../shared/bench/anchors.sh /work/shared/bench/anchors.sh))

.PHONY: bench bench-go bench-anchors bench-scale

bench: bench-go bench-anchors

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./engine/packet/ ./engine/firewall/ ./engine/bulk/ ./engine/router/ ./engine/dataplane/

bench-anchors: ray deps-test
	@test -n "$(ANCHORS)" || { echo "anchors.sh not found (../shared/bench/anchors.sh)"; exit 1; }
	@export ANC_CONFIGS="$${ANC_CONFIGS:-raw wg1420 neb1420 hook1422 hook1420 hook1421}" ANC_UDP_RATE="$${ANC_UDP_RATE:-300M}"; \
	if [ -n "$(BENCH_QUICK)" ]; then export ANC_CONFIGS="raw wg1420 hook1422 hook1420 hook1421" ANC_REPEAT=1 ANC_DURATION=5; fi; \
	set -o pipefail; \
	ANC_HOOK=$(CURDIR)/test/bench/anchors-hook.sh ANC_HOOK_NAME=rayfish RAY_HOOK_RELAY_MTU=1421 RAY_HOOK_DATAGRAM_MTU=1422 \
	  RAY_BIN=$(CURDIR)/$(BIN)/ray bash $(ANCHORS) | sed -u 's/^rayfish1420 /rf-direct  /; s/^rayfish1421 /rf-relayed /; s/^rayfish1422 /rf-datagram/' | awk -f test/bench/vswg.awk

# bench-scale: a 50-node mesh on this machine (N=11 gives the 10-peer RSS).
bench-scale: ray
	$(call apt_install,bc)
	bash test/bench/scale.sh $(BIN)/ray $${N:-50}
