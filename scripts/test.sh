#!/usr/bin/env bash
# The whole test suite, with everything it needs: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler for the emulated clusters
# (scripts/kube-apiserver.sh, cached), kwok for their nodes (scripts/kwok.sh,
# cached), the aws CLI the AWS sandbox is checked with (scripts/aws-cli.sh,
# found and vetted), MinIO,
# fake-gcs-server and Azurite for the remote state backends
# (scripts/test-servers.sh, cached, started on 127.0.0.1 and stopped at exit),
# Debian's python3-googleapi for the GCP emulator's tests (scripts/gcp-tools.sh),
# the service descriptions the sandbox's parity suite checks replies against
# (scripts/service-models.sh: botocore, @azure/arm-* npm packages, Debian's
# python3-azure; cached), protoc and its Go generators for the plugin
# protocol's check (scripts/proto.sh), then go vet and go test over every
# package, and over each driver plugin's own module under plugins/.
# `make test` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
"$GO" mod download
scripts/kube-apiserver.sh >/dev/null
scripts/kwok.sh >/dev/null
scripts/aws-cli.sh >/dev/null
scripts/gcp-tools.sh >/dev/null
scripts/service-models.sh >/dev/null
scripts/proto.sh tools >/dev/null
trap 'scripts/test-servers.sh stop >/dev/null 2>&1 || true' EXIT
scripts/test-servers.sh start >/dev/null
eval "$(scripts/test-servers.sh env)"
"$GO" vet ./...
"$GO" test -count=1 -timeout 40m ./...
# Driver plugins kept in this repository as modules of their own
# (plugins/NAME/go.mod): their packages are not under ./..., so vet and test
# each one in its folder, building it first. (examples/driver-template is tested by
# docs.TestFollowDriversGuide, from a copy, as a new user would.)
for mod in plugins/*/go.mod; do
	[ -e "$mod" ] || continue
	(cd "$(dirname "$mod")" && "$GO" build ./... && "$GO" vet ./... && "$GO" test -count=1 -timeout 20m ./...)
done
