# platform: cross-OS checks for platform/... (OS code that Linux tests cannot run).

PLATFORM_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

.PHONY: cross-platform

# cross-platform: vet (which type-checks the tests too) platform/... for every
# supported OS and architecture with CGO_ENABLED=0.
cross-platform:
	@set -e; for t in $(PLATFORM_TARGETS); do \
	  echo "== vet platform/... $$t"; \
	  CGO_ENABLED=0 GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) vet ./platform/...; \
	done
