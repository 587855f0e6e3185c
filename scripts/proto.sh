#!/usr/bin/env bash
# The plugin protocol's code generators, pinned and cached like the other
# test peers: Debian's protoc (protobuf-compiler) and protoc-gen-go /
# protoc-gen-go-grpc built from the Go module proxy into
# ~/.cache/regionctl/bin, keyed by version.
#
#   scripts/proto.sh tools   install what is missing; print PROTOC=..., PROTOC_GEN_GO=..., PROTOC_GEN_GO_GRPC=...
#   scripts/proto.sh gen     regenerate proto/**/*.pb.go from the .proto files (make proto)
#
# TestGeneratedCodeIsUpToDate (proto/regionctl/driver/v1) runs the same
# generators into a temporary folder and compares.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
PROTOC_GEN_GO_VERSION=v1.36.12      # google.golang.org/protobuf, as in go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2   # google.golang.org/grpc/cmd/protoc-gen-go-grpc
CACHE="${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/bin"

tools() {
	if ! command -v protoc >/dev/null; then
		if [ "$(id -u)" = 0 ]; then
			apt-get install -y -q protobuf-compiler >&2
		else
			echo "protoc not found: install Debian's protobuf-compiler (apt-get install protobuf-compiler)" >&2
			exit 1
		fi
	fi
	mkdir -p "$CACHE"
	local gen="$CACHE/protoc-gen-go-$PROTOC_GEN_GO_VERSION"
	local grpc="$CACHE/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC_VERSION"
	if [ ! -x "$gen" ]; then
		local tmp; tmp=$(mktemp -d)
		GOBIN="$tmp" GOFLAGS= "$GO" install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION" >&2
		mv "$tmp/protoc-gen-go" "$gen"; rmdir "$tmp"
	fi
	if [ ! -x "$grpc" ]; then
		local tmp; tmp=$(mktemp -d)
		GOBIN="$tmp" GOFLAGS= "$GO" install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION" >&2
		mv "$tmp/protoc-gen-go-grpc" "$grpc"; rmdir "$tmp"
	fi
	echo "PROTOC=$(command -v protoc)"
	echo "PROTOC_GEN_GO=$gen"
	echo "PROTOC_GEN_GO_GRPC=$grpc"
}

case "${1:-}" in
tools)
	tools
	;;
gen)
	eval "$(tools)"
	for dir in $(find proto -name '*.proto' -exec dirname {} \; | sort -u); do
		"$PROTOC" -I proto \
			--plugin=protoc-gen-go="$PROTOC_GEN_GO" --go_out=proto --go_opt=paths=source_relative \
			--plugin=protoc-gen-go-grpc="$PROTOC_GEN_GO_GRPC" --go-grpc_out=proto --go-grpc_opt=paths=source_relative \
			"$dir"/*.proto
	done
	;;
*)
	echo "usage: $0 tools|gen" >&2
	exit 2
	;;
esac
