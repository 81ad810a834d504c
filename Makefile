# Kiln's everyday commands. On a fresh machine:
#   make up     build kiln and run a complete remote cache on 127.0.0.1:8980
#   make test   install what the tests need, then run every check and test

GO       ?= go
BIN      := bin/kiln
# Extra flags for `kiln up`, e.g. make up ARGS='--listen=0.0.0.0:8980'.
ARGS     ?=
# What `make bench` runs: a -bench pattern and the packages.
BENCH    ?= .
PKGS     ?= ./...
# The end-to-end tests run real Bazel builds; on 2 shared cores they take
# a while, and a hung test should fail the run, not outlive CI.
TEST_TIMEOUT ?= 30m

.PHONY: all build up test deps check microvm-agent microvm-image fmt-check vet gazelle gazelle-check proto proto-check bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/kiln

up: build
	./$(BIN) up $(ARGS)

# Everything the tests use: Bazel, a JDK, protoc, redis-server, runsc, and
# for the microVM runner QEMU and Debian's cloud kernel.
deps:
	./scripts/install-deps.sh
	./scripts/microvm-deps.sh

# The microvm isolation: the static guest agent, then QEMU and the kernel
# package, then the guest image in the worker's data directory (ARGS go to
# `kiln microvm image`, e.g. ARGS='--data-dir=/var/lib/kiln').
microvm-agent:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w -buildid=' -o bin/kiln-guest-agent ./cmd/kiln-guest-agent

microvm-image: build microvm-agent
	./scripts/microvm-deps.sh
	./$(BIN) microvm image $(ARGS)

# The KILN_REQUIRE_* variables turn "skipped: X is not available" into a
# failure: after `make deps` everything is there, so a skip would hide a
# bug. Where a part cannot work (no root for cgroups, say), drop its
# variable: make test REQUIRE='KILN_REQUIRE_BAZEL=1'.
REQUIRE ?= KILN_REQUIRE_BAZEL=1 KILN_REQUIRE_REDIS=1 KILN_REQUIRE_MICROVM=1 \
	KILN_REQUIRE_GVISOR=1 KILN_REQUIRE_CGROUP=1 KILN_REQUIRE_SANDBOX=1

# -count=1: a test result cached from an earlier run proves nothing about
# this checkout's machine (Bazel, Redis, QEMU and cgroups are outside Go's
# view of what a test depends on).
test: deps check
	$(REQUIRE) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

check: fmt-check vet gazelle-check proto-check

# BUILD.bazel files, deps.bzl and MODULE.bazel follow the Go code and go.mod.
gazelle:
	./scripts/gazelle.sh

gazelle-check:
	./scripts/gazelle.sh --check

# The Go code generated from proto/ is committed; this regenerates it.
proto:
	./scripts/genproto.sh

proto-check:
	./scripts/genproto.sh --check

fmt-check:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt wants to change:"; echo "$$unformatted"; exit 1; \
	fi

vet:
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem $(PKGS)

clean:
	rm -rf bin
