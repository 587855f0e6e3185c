#!/usr/bin/env bash
# Provides kwok (sigs.k8s.io/kwok, "Kubernetes WithOut Kubelet"), the
# controller the sandbox runs beside each emulated cluster's kube-apiserver to
# simulate the nodes of its node pools: it keeps the Node objects the sandbox
# creates Ready (heartbeats, leases) and moves the pods scheduled onto them to
# Running. It is built from the Go module proxy at a pinned release, with
# kwok's own default stages (the ones `kwokctl create cluster` uses: node
# initialize, node heartbeat with lease, pod ready/complete/delete) copied
# from that release into one config file. Everything is cached outside the
# repository, under
#   ${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/kwok/v0.8.0-1/
# and the script is idempotent: a second run finds the cache and returns at
# once. It prints the paths and writes them, as shell assignments, to
# <cache>/env, which the sandbox reads when REGIONCTL_KWOK and
# REGIONCTL_KWOK_CONFIG are not set. Building takes about 2 minutes, once.
set -euo pipefail

KWOK_VERSION=v0.8.0
# The "-1" names the build recipe: bump it when the recipe changes so caches rebuild.
cache="${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/kwok/${KWOK_VERSION}-1"
envfile="$cache/env"
mkdir -p "$cache/bin"

log() { echo "kwok.sh: $*" >&2; }

kwok="${REGIONCTL_KWOK:-$cache/bin/kwok}"
if [[ -z "${REGIONCTL_KWOK:-}" && ! -x "$kwok" ]]; then
	start=$(date +%s)
	log "building kwok $KWOK_VERSION into $cache/bin (about 2 minutes, once)"
	tmp="$cache/tmp.$$"
	mkdir -p "$tmp"
	# go install in a directory outside any module builds with kwok's own go.mod.
	(cd "$tmp" && GOFLAGS=-trimpath GOBIN="$tmp" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}")
	mv -f "$tmp/kwok" "$kwok"
	rm -rf "$tmp"
	log "built $kwok in $(($(date +%s) - start))s"
fi

config="${REGIONCTL_KWOK_CONFIG:-$cache/stages.yaml}"
if [[ -z "${REGIONCTL_KWOK_CONFIG:-}" && ! -s "$config" ]]; then
	dir="$(cd "$cache" && go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	if [[ ! -d "$dir/kustomize/stage" ]]; then
		log "sigs.k8s.io/kwok@${KWOK_VERSION} has no kustomize/stage in the module cache (looked in '$dir')"
		exit 1
	fi
	tmp="$config.tmp.$$"
	: >"$tmp"
	for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
		pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
		{ echo "---"; cat "$dir/kustomize/stage/$f"; } >>"$tmp"
	done
	mv -f "$tmp" "$config"
fi

cat >"$envfile.tmp.$$" <<ENV
REGIONCTL_KWOK=$kwok
REGIONCTL_KWOK_CONFIG=$config
ENV
mv -f "$envfile.tmp.$$" "$envfile"
echo "REGIONCTL_KWOK=$kwok"
echo "REGIONCTL_KWOK_CONFIG=$config"
