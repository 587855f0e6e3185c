#!/usr/bin/env bash
# Provides the binaries the sandbox needs to give every emulated cluster a real
# Kubernetes API: etcd (Debian's etcd-server package) and kube-apiserver built
# from the Go module proxy at a pinned Kubernetes release. Everything is cached
# outside the repository, under
#   ${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/kube/v1.34.2-2/
# and the script is idempotent: a second run finds the cache and returns at
# once. It prints the two paths and writes them, as shell assignments, to
# <cache>/env, which the sandbox reads when REGIONCTL_KUBE_APISERVER and
# REGIONCTL_ETCD are not set.
#
# Needs: bash, go, and etcd on PATH — or, on Debian/Ubuntu only, apt-get
# (run as root, or with sudo) to install etcd-server. Elsewhere (macOS:
# `brew install etcd`) install etcd first or set REGIONCTL_ETCD.
#
# Building kube-apiserver takes about 8 minutes on 2 cores, once. It happens in
# a scratch module outside the repository that requires k8s.io/kubernetes and
# replaces each k8s.io/<staging> module with its published v0.Y.Z release
# (k8s.io/kubernetes's own go.mod points them at ./staging, which the module
# proxy does not ship).
set -euo pipefail

KUBE_VERSION=v1.34.2
STAGING_VERSION=v0.34.2
# The "-2" names the build recipe: bump it when the recipe changes so caches rebuild.
cache="${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/kube/${KUBE_VERSION}-2"
apiserver="$cache/bin/kube-apiserver"
envfile="$cache/env"
mkdir -p "$cache/bin"

log() { echo "kube-apiserver.sh: $*" >&2; }

# etcd: use one on PATH (or REGIONCTL_ETCD), else install Debian's etcd-server.
etcd="${REGIONCTL_ETCD:-}"
if [[ -z "$etcd" ]]; then
	etcd="$(command -v etcd || true)"
fi
if [[ -z "$etcd" ]] && ! command -v apt-get >/dev/null; then
	# Not Debian/Ubuntu (macOS, say): no package manager is guessed at.
	log "etcd not found on PATH and no apt-get to install it: install etcd 3.4+ yourself"
	log "(macOS: brew install etcd) or set REGIONCTL_ETCD=/path/to/etcd, then run this again"
	exit 1
fi
if [[ -z "$etcd" ]]; then
	log "etcd not found: installing Debian's etcd-server"
	sudo=""
	if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends etcd-server >&2
	etcd="$(command -v etcd)"
fi
if [[ ! -x "$etcd" ]]; then
	log "etcd at $etcd is not executable"
	exit 1
fi

# kube-apiserver: build once into the cache.
if [[ -n "${REGIONCTL_KUBE_APISERVER:-}" ]]; then
	apiserver="$REGIONCTL_KUBE_APISERVER"
elif [[ ! -x "$apiserver" ]]; then
	start=$(date +%s)
	mod="$cache/build"
	mkdir -p "$mod"
	cd "$mod"
	log "building kube-apiserver $KUBE_VERSION in $mod (about 8 minutes on 2 cores, once)"
	cat >go.mod <<EOF
module regionctl.local/kube-apiserver-build

go 1.24
EOF
	cat >tools.go <<'EOF'
//go:build tools

// Package tools pins k8s.io/kubernetes so that go build can find
// k8s.io/kubernetes/cmd/kube-apiserver.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
EOF
	export GOFLAGS=-mod=mod
	go mod edit -require="k8s.io/kubernetes@${KUBE_VERSION}"
	go mod download "k8s.io/kubernetes@${KUBE_VERSION}"
	kdir="$(go list -m -f '{{.Dir}}' "k8s.io/kubernetes@${KUBE_VERSION}" 2>/dev/null ||
		echo "$(go env GOMODCACHE)/k8s.io/kubernetes@${KUBE_VERSION}")"
	if [[ ! -f "$kdir/go.mod" ]]; then
		log "k8s.io/kubernetes@${KUBE_VERSION} not in the module cache at $kdir"
		exit 1
	fi
	# Every "k8s.io/x => ./staging/src/k8s.io/x" replace in kubernetes's go.mod
	# becomes "k8s.io/x => k8s.io/x v0.Y.Z".
	staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$kdir/go.mod")
	if [[ -z "$staging" ]]; then
		log "found no staging replaces in $kdir/go.mod"
		exit 1
	fi
	for m in $staging; do
		go mod edit -replace="$m=$m@${STAGING_VERSION}"
	done
	go mod tidy >&2
	tmp="$apiserver.tmp.$$"
	# Stamp the version the way Kubernetes' own release build does (hack/lib/
	# version.sh), so /version and `kubectl version` report v1.34.2, not
	# v0.0.0-master+$Format:%H$.
	vpkg=k8s.io/component-base/version
	minor="${KUBE_VERSION#v1.}"
	minor="${minor%%.*}"
	ldflags="-s -w -X $vpkg.gitVersion=${KUBE_VERSION} -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=${minor}"
	ldflags+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"
	go build -trimpath -ldflags "$ldflags" -o "$tmp" k8s.io/kubernetes/cmd/kube-apiserver
	mv -f "$tmp" "$apiserver"
	log "built $apiserver in $(($(date +%s) - start))s"
fi

cat >"$envfile.tmp.$$" <<EOF
REGIONCTL_KUBE_APISERVER=$apiserver
REGIONCTL_ETCD=$etcd
EOF
mv -f "$envfile.tmp.$$" "$envfile"
echo "REGIONCTL_KUBE_APISERVER=$apiserver"
echo "REGIONCTL_ETCD=$etcd"
