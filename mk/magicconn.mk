# magicconn: the socket layer under QUIC (engine/magicconn and its natlab).
#
#   make test-magicconn         race-test the package (also part of `make unit`)
#   make test-magicconn-allocs  allocation counts of the data path, which need a
#                               build without -race (sync.Pool drops items under it)
#   make fuzz-magicconn         fuzz the socket demultiplexer briefly

.PHONY: test-magicconn test-magicconn-allocs fuzz-magicconn

test-magicconn:
	$(GO) test -race -count=1 ./engine/magicconn/...

test-magicconn-allocs:
	$(GO) test -count=1 -run 'TestAllocs' -v ./engine/magicconn/

fuzz-magicconn:
	$(GO) test -run '^$$' -fuzz FuzzReceive -fuzztime 10s ./engine/magicconn/
