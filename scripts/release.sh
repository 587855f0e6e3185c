#!/usr/bin/env bash
# Builds regionctl's release archives: for each platform (linux and darwin,
# amd64 and arm64) a static, trimmed, stripped binary stamped with the
# version, packed as regionctl_VERSION_OS_ARCH.tar.gz with README.md and
# LICENSE (when there is one), plus checksums.txt (SHA-256, the format
# `sha256sum -c` and `shasum -a 256 -c` read). `make release` runs it.
#
# The binaries are also left unpacked at dist/regionctl_OS_ARCH/regionctl,
# the layout the Dockerfile copies from (docker buildx build --platform
# linux/amd64,linux/arm64 .).
#
# Environment:
#   VERSION    the version to stamp (default: git describe, else "dev")
#   DIST       output folder (default: dist)
#   PLATFORMS  space-separated OS/ARCH list (default: the four above)
#   GO         the go command (default: go)
#
# Needs: bash, go, tar, and sha256sum or shasum (macOS has shasum); no
# network beyond the Go module proxy, no root.
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
DIST="${DIST:-dist}"
PLATFORMS="${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}"
LDFLAGS="-s -w -X github.com/regionctl/regionctl/cli.Version=$VERSION"

if command -v sha256sum >/dev/null; then
	sha256() { sha256sum "$@"; }
elif command -v shasum >/dev/null; then
	sha256() { shasum -a 256 "$@"; }
else
	echo "release.sh: needs sha256sum or shasum" >&2
	exit 1
fi

mkdir -p "$DIST"
archives=()
for platform in $PLATFORMS; do
	os="${platform%/*}"
	arch="${platform#*/}"
	dir="$DIST/regionctl_${os}_${arch}"
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "release.sh: building $VERSION for $os/$arch" >&2
	CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" "$GO" build -trimpath -ldflags "$LDFLAGS" -o "$dir/regionctl" ./cmd/regionctl
	files=(regionctl)
	cp README.md "$dir/"
	files+=(README.md)
	if [ -f LICENSE ]; then
		cp LICENSE "$dir/"
		files+=(LICENSE)
	fi
	archive="regionctl_${VERSION}_${os}_${arch}.tar.gz"
	tar -C "$dir" -czf "$DIST/$archive" "${files[@]}"
	archives+=("$archive")
done
(cd "$DIST" && sha256 "${archives[@]}" >checksums.txt)
echo "release.sh: wrote ${#archives[@]} archive(s) and checksums.txt to $DIST/" >&2
