# regionctl — build, test, lint.
GO      ?= go
BIN     ?= bin/regionctl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# -s -w strip the symbol and debug tables; -trimpath keeps build paths out.
LDFLAGS := -s -w -X github.com/regionctl/regionctl/cli.Version=$(VERSION)

.PHONY: build test lint fuzz bench quickstart release

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

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz:
	$(GO) test ./spec -run '^$$' -fuzz FuzzLoadBytes -fuzztime 60s

# Build regionctl and apply examples/aws.yaml to the offline sandbox.
quickstart:
	./scripts/quickstart.sh

bench:
	$(GO) test ./plan -run '^$$' -bench . -benchtime 1x
