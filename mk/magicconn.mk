# magicconn: the socket layer under QUIC (engine/magicconn and its natlab).
#
#   make test-magicconn         race-test the package (also part of `make unit`)
#   make fuzz-magicconn         fuzz the socket demultiplexer briefly

.PHONY: test-magicconn fuzz-magicconn

test-magicconn:
	$(GO) test -race -count=1 ./engine/magicconn/...

fuzz-magicconn:
	$(GO) test -run '^$$' -fuzz FuzzReceive -fuzztime 10s ./engine/magicconn/
