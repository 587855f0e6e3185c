#!/usr/bin/env bash
# Installs (once, cached by version) and starts the storage servers the remote
# state backends are tested against, all on 127.0.0.1:
#
#   MinIO            S3 with conditional writes       (Go module, built here)
#   fake-gcs-server  GCS JSON API with preconditions  (Go module, built here)
#   Azurite          Microsoft's Azure Storage emulator (npm package)
#
# Usage:
#   scripts/test-servers.sh install      build/install the servers (cached)
#   scripts/test-servers.sh start        install, start them, wait until they
#                                        answer, write and print the env file
#   scripts/test-servers.sh env          print the env file of running servers
#   scripts/test-servers.sh stop         stop the servers start started
#
# `start` prints `export REGIONCTL_TEST_...=...` lines, also kept in
# $RUN_DIR/env, so:   eval "$(scripts/test-servers.sh start)"
#
# Needs: bash, go, python3 (to pick free ports), curl, and npm (Node.js) for
# Azurite; no root and no apt. Works on Linux and macOS.
#
# Binaries are cached under $CACHE (default $HOME/.cache/regionctl) keyed by
# version, so a second run on the same machine builds nothing. The Go builds
# run outside the repository and never touch its go.mod.
set -euo pipefail

MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
FAKE_GCS_VERSION="${FAKE_GCS_VERSION:-v1.56.1}"
AZURITE_VERSION="${AZURITE_VERSION:-3.37.0}"

CACHE="${REGIONCTL_CACHE:-$HOME/.cache/regionctl}"
RUN_DIR="${REGIONCTL_TEST_SERVERS_DIR:-${TMPDIR:-/tmp}/regionctl-test-servers}"

MINIO_BIN="$CACHE/bin/minio-$MINIO_VERSION"
FAKE_GCS_BIN="$CACHE/bin/fake-gcs-server-$FAKE_GCS_VERSION"
AZURITE_DIR="$CACHE/azurite-$AZURITE_VERSION"
AZURITE_BIN="$AZURITE_DIR/node_modules/.bin/azurite-blob"

# Credentials of the test servers: local, throwaway, not secrets.
S3_ACCESS_KEY=regionctl-test
S3_SECRET_KEY=regionctl-test-secret
# Azurite's documented, well-known development account.
AZ_ACCOUNT=devstoreaccount1
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

log() { echo "test-servers: $*" >&2; }

go_install() { # module version dest
	local module=$1 version=$2 dest=$3
	[ -x "$dest" ] && return 0
	log "building $module@$version (once; cached as $dest)"
	local gobin
	gobin=$(mktemp -d "$CACHE/build.XXXXXX")
	local start=$SECONDS
	# Outside the repository, so its go.mod is never touched.
	(cd "$CACHE" && GOBIN="$gobin" GOFLAGS=-mod=mod go install "$module@$version")
	mkdir -p "$(dirname "$dest")"
	mv "$gobin/$(basename "$module")" "$dest"
	rm -rf "$gobin"
	log "built $dest in $((SECONDS - start))s"
}

install() {
	mkdir -p "$CACHE/bin"
	go_install github.com/minio/minio "$MINIO_VERSION" "$MINIO_BIN"
	go_install github.com/fsouza/fake-gcs-server "$FAKE_GCS_VERSION" "$FAKE_GCS_BIN"
	if [ ! -x "$AZURITE_BIN" ]; then
		if ! command -v npm >/dev/null; then
			log "npm not found: Azurite (the Azure Storage emulator) is an npm package; install Node.js 18+ (macOS: brew install node), then run this again"
			exit 1
		fi
		log "installing azurite@$AZURITE_VERSION from npm (once; cached in $AZURITE_DIR)"
		local start=$SECONDS
		mkdir -p "$AZURITE_DIR"
		(cd "$AZURITE_DIR" && npm install --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >&2)
		log "installed azurite in $((SECONDS - start))s"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # name url
	local name=$1 url=$2
	for _ in $(seq 1 900); do
		# Any HTTP answer (even 400/403) means the server is up.
		if curl -s -o /dev/null -m 2 "$url"; then
			return 0
		fi
		sleep 0.1
	done
	log "$name did not answer at $url; its log:"
	tail -n 30 "$RUN_DIR/$name.log" >&2 || true
	return 1
}

start_bg() { # name cmd...
	local name=$1
	shift
	"$@" >"$RUN_DIR/$name.log" 2>&1 &
	echo $! >"$RUN_DIR/$name.pid"
}

start() {
	install
	if [ -f "$RUN_DIR/env" ]; then
		stop
	fi
	mkdir -p "$RUN_DIR"
	local s3_port gcs_port az_port
	s3_port=$(free_port)
	gcs_port=$(free_port)
	az_port=$(free_port)

	mkdir -p "$RUN_DIR/minio-data"
	MINIO_ROOT_USER=$S3_ACCESS_KEY MINIO_ROOT_PASSWORD=$S3_SECRET_KEY MINIO_BROWSER=off \
		start_bg minio "$MINIO_BIN" server --quiet --address "127.0.0.1:$s3_port" "$RUN_DIR/minio-data"
	start_bg fake-gcs-server "$FAKE_GCS_BIN" -scheme http -host 127.0.0.1 -port "$gcs_port" \
		-backend memory -public-host "127.0.0.1:$gcs_port" -external-url "http://127.0.0.1:$gcs_port" -log-level warn
	start_bg azurite "$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$az_port" --skipApiVersionCheck \
		--silent --inMemoryPersistence

	wait_http minio "http://127.0.0.1:$s3_port/minio/health/live"
	wait_http fake-gcs-server "http://127.0.0.1:$gcs_port/storage/v1/b"
	wait_http azurite "http://127.0.0.1:$az_port/$AZ_ACCOUNT?comp=list"

	cat >"$RUN_DIR/env" <<EOF
export REGIONCTL_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port
export REGIONCTL_TEST_S3_ACCESS_KEY=$S3_ACCESS_KEY
export REGIONCTL_TEST_S3_SECRET_KEY=$S3_SECRET_KEY
export REGIONCTL_TEST_GCS_ENDPOINT=127.0.0.1:$gcs_port
export REGIONCTL_TEST_AZBLOB_ENDPOINT=http://127.0.0.1:$az_port/$AZ_ACCOUNT
export REGIONCTL_TEST_AZBLOB_ACCOUNT=$AZ_ACCOUNT
export REGIONCTL_TEST_AZBLOB_KEY=$AZ_KEY
EOF
	log "MinIO $MINIO_VERSION on 127.0.0.1:$s3_port, fake-gcs-server $FAKE_GCS_VERSION on 127.0.0.1:$gcs_port, Azurite $AZURITE_VERSION on 127.0.0.1:$az_port"
	cat "$RUN_DIR/env"
}

stop() {
	for name in minio fake-gcs-server azurite; do
		local pidfile="$RUN_DIR/$name.pid"
		[ -f "$pidfile" ] || continue
		local pid
		pid=$(cat "$pidfile")
		if kill "$pid" 2>/dev/null; then
			for _ in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$pidfile"
	done
	rm -rf "$RUN_DIR/env" "$RUN_DIR/minio-data"
}

case "${1:-}" in
install) install ;;
start) start ;;
env) cat "$RUN_DIR/env" ;;
stop) stop ;;
*)
	echo "usage: $0 install|start|env|stop" >&2
	exit 2
	;;
esac
