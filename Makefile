# regionctl — build, test, lint.
GO      ?= go
BIN     ?= bin/regionctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# -s -w: no symbol table or DWARF (a third of the binary; panics still
# print file:line). -trimpath: no build paths in the binary.
LDFLAGS := -s -w -X github.com/regionctl/regionctl/cli.Version=$(VERSION)

.PHONY: build test test-gcloud test-az lint fuzz bench bench-fleet quickstart release proto

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/regionctl

# Release archives for linux/darwin × amd64/arm64 with checksums.txt, in
# dist/ (scripts/release.sh); the Dockerfile builds the image from them.
release:
	GO=$(GO) VERSION=$(VERSION) ./scripts/release.sh

# The full test suite, as CI runs it: installs (cached) and starts the test
# peers it needs, then vets and tests every package. See scripts/test.sh.
test:
	GO=$(GO) ./scripts/test.sh

# Every gcloud command TestGcloud knows, including get-credentials and kubectl
# through a cluster's endpoint (make test runs a short list); needs gcloud.
test-gcloud:
	REGIONCTL_TEST_GCLOUD=full $(GO) test -count=1 -run '^TestGcloud$$' -v ./sandbox/gcp

# The az CLI against the Azure emulator, every command TestAzCLI knows (make
# test runs a few, and only when az is installed): needs Debian's azure-cli.
test-az:
	REGIONCTL_REQUIRE_AZ=1 $(GO) test -count=1 -run TestAzCLI -v ./sandbox/azure/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz:
	$(GO) test ./spec -run '^$$' -fuzz FuzzLoadBytes -fuzztime 60s

# Build regionctl and apply examples/aws.yaml to the offline sandbox.
quickstart:
	./scripts/quickstart.sh

# Regenerate the plugin protocol's Go code from proto/**/*.proto with the
# pinned generators (scripts/proto.sh; TestGeneratedCodeIsUpToDate checks it).
proto:
	GO=$(GO) ./scripts/proto.sh gen

bench:
	$(GO) test ./plan -run '^$$' -bench . -benchtime 1x
	$(GO) test ./providers/plugin -run '^$$' -bench . -benchtime 1x
	$(GO) test ./cmd/regionctl -run '^$$' -bench Startup -benchtime 20x

# Apply, plan and destroy fleets of 6, 30 and 90 regions over AWS, GCP and
# Azure through bin/regionctl against a sandbox that throttles like the
# clouds, with latencies and budgets sped up 60x; prints wall times against
# the critical path and the rate-budget bound, API calls per resource and
# peak memory (docs/performance.md). BENCH_FLEET_ARGS="-n 6" for one size.
bench-fleet: build
	$(GO) run ./internal/fleet/benchfleet -regionctl $(BIN) $(BENCH_FLEET_ARGS)
