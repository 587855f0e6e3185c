#!/usr/bin/env bash
# Installs the Google API tooling the GCP emulator's tests drive, where it can
# be installed: Debian's python3-googleapi (googleapiclient, which builds its
# clients from Google's discovery documents). gcloud itself comes from
# Google's own apt repository, which is not reachable from every machine:
# TestGcloud runs where gcloud is on PATH and says so when it skips.
set -euo pipefail
if /usr/bin/python3 -c 'import googleapiclient.discovery' 2>/dev/null; then
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "gcp-tools: python3-googleapi is missing; install it with: apt-get install python3-googleapi" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q python3-googleapi >&2 || { apt-get update -q >&2 && apt-get install -y -q python3-googleapi >&2; }
