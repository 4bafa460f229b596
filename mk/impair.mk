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
