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
#   make bench-churn                 TestChurn at full size: 10 nodes, 50 rounds
#                                    of kill -9 and 10 of clean restart
#   make soak                        5 nodes, mixed traffic and a restart every
#                                    few minutes for SOAK_MINUTES (default 30)
#   make bench-impair                lossy link (50 ms, 0/1/3% loss, 1% reorder) vs raw and
#                                    wireguard-go, path changes, a 90 s SIGSTOP (mk/impair.mk)

ANCHORS ?= $(firstword $(wildcard ../shared/bench/anchors.sh /work/shared/bench/anchors.sh))

.PHONY: bench bench-go bench-anchors bench-scale bench-churn soak

bench: bench-go bench-anchors bench-impair bench-churn

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

# bench-churn: the long churn run (make netns runs a 5-node, 7-round one).
bench-churn: ray deps-test
	RAY_BIN=$(CURDIR)/$(BIN)/ray RAY_CHURN_NODES=$${RAY_CHURN_NODES:-10} RAY_CHURN_KILLS=$${RAY_CHURN_KILLS:-50} \
	  RAY_CHURN_CLEAN=$${RAY_CHURN_CLEAN:-10} $(GO) test -count=1 -timeout 60m -tags netns -v -run '^TestChurn$$' ./test/netns/

# soak: SOAK_MINUTES (default 30) of mixed traffic across 5 nodes with a
# restart every few minutes; prints RSS, goroutines and fds first/last.
soak: ray deps-test
	bash test/bench/soak.sh $(BIN)/ray $${SOAK_MINUTES:-30}
