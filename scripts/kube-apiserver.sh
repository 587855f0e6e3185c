#!/usr/bin/env bash
# Provides the binaries the sandbox needs to give every emulated cluster a real
# Kubernetes control plane: etcd (Debian's etcd-server package), and
# kube-apiserver, kube-controller-manager and kube-scheduler built from the Go
# module proxy at a pinned Kubernetes release (the controllers and the
# scheduler run once a cluster has nodes, which scripts/kwok.sh simulates). Everything is cached outside the repository, under
#   ${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/kube/v1.34.2-2/
# and the script is idempotent: a second run finds the cache and returns at
# once. It prints the paths and writes them, as shell assignments, to
# <cache>/env, which the sandbox reads when REGIONCTL_KUBE_APISERVER,
# REGIONCTL_KUBE_CONTROLLER_MANAGER, REGIONCTL_KUBE_SCHEDULER and
# REGIONCTL_ETCD are not set.
#
# Needs: bash, go, and etcd on PATH — or, on Debian/Ubuntu only, apt-get
# (run as root, or with sudo) to install etcd-server. Elsewhere (macOS:
# `brew install etcd`) install etcd first or set REGIONCTL_ETCD.
#
# Building kube-apiserver takes about 8 minutes on 2 cores, once, and the
# controller manager and scheduler about 2 minutes each (most packages are
# shared). It happens in a scratch module outside the repository that requires k8s.io/kubernetes and
# replaces each k8s.io/<staging> module with its published v0.Y.Z release
# (k8s.io/kubernetes's own go.mod points them at ./staging, which the module
# proxy does not ship). Each binary is built when it is missing, so a cache
# made before the controllers were needed only gains them.
set -euo pipefail

KUBE_VERSION=v1.34.2
STAGING_VERSION=v0.34.2
# The "-2" names the build recipe: bump it when the recipe changes so caches rebuild.
cache="${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/kube/${KUBE_VERSION}-2"
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

# prepare_module writes the scratch build module (once per run).
prepared=""
prepare_module() {
	[[ -n "$prepared" ]] && return
	local mod="$cache/build" kdir staging m
	mkdir -p "$mod"
	cd "$mod"
	printf 'module regionctl.local/kube-apiserver-build\n\ngo 1.24\n' >go.mod
	cat >tools.go <<'GO'
//go:build tools

// Package tools pins k8s.io/kubernetes so that go build can find the
// commands the sandbox runs.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
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
	prepared=1
}

# build NAME builds k8s.io/kubernetes/cmd/NAME into $cache/bin/NAME.
build() {
	local name="$1" start tmp vpkg minor ldflags
	start=$(date +%s)
	log "building $name $KUBE_VERSION in $cache/build (kube-apiserver: about 8 minutes on 2 cores, the others about 2; once)"
	prepare_module
	tmp="$cache/bin/$name.tmp.$$"
	# Stamp the version the way Kubernetes' own release build does (hack/lib/
	# version.sh), so /version and `kubectl version` report v1.34.2, not
	# v0.0.0-master+$Format:%H$.
	vpkg=k8s.io/component-base/version
	minor="${KUBE_VERSION#v1.}"
	minor="${minor%%.*}"
	ldflags="-s -w -X $vpkg.gitVersion=${KUBE_VERSION} -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=${minor}"
	ldflags+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"
	go build -trimpath -ldflags "$ldflags" -o "$tmp" "k8s.io/kubernetes/cmd/$name"
	mv -f "$tmp" "$cache/bin/$name"
	log "built $cache/bin/$name in $(($(date +%s) - start))s"
}

# Each binary: the environment variable, else the cache (built when missing).
apiserver="${REGIONCTL_KUBE_APISERVER:-$cache/bin/kube-apiserver}"
if [[ -z "${REGIONCTL_KUBE_APISERVER:-}" && ! -x "$apiserver" ]]; then
	build kube-apiserver
fi
controllers="${REGIONCTL_KUBE_CONTROLLER_MANAGER:-$cache/bin/kube-controller-manager}"
if [[ -z "${REGIONCTL_KUBE_CONTROLLER_MANAGER:-}" && ! -x "$controllers" ]]; then
	build kube-controller-manager
fi
scheduler="${REGIONCTL_KUBE_SCHEDULER:-$cache/bin/kube-scheduler}"
if [[ -z "${REGIONCTL_KUBE_SCHEDULER:-}" && ! -x "$scheduler" ]]; then
	build kube-scheduler
fi

cat >"$envfile.tmp.$$" <<ENV
REGIONCTL_KUBE_APISERVER=$apiserver
REGIONCTL_KUBE_CONTROLLER_MANAGER=$controllers
REGIONCTL_KUBE_SCHEDULER=$scheduler
REGIONCTL_ETCD=$etcd
ENV
mv -f "$envfile.tmp.$$" "$envfile"
echo "REGIONCTL_KUBE_APISERVER=$apiserver"
echo "REGIONCTL_KUBE_CONTROLLER_MANAGER=$controllers"
echo "REGIONCTL_KUBE_SCHEDULER=$scheduler"
echo "REGIONCTL_ETCD=$etcd"
