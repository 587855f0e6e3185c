#!/usr/bin/env bash
# Points the az CLI at the sandbox's Azure emulator, in a config directory of
# its own (your ~/.azure and its logins are never read or changed), and logs
# in as the sandbox's service principal. Prints the environment to use:
#
#   eval "$(scripts/az-sandbox.sh http://127.0.0.1:PORT)"   # the sandbox's "azure" endpoint
#   eval "$(scripts/az-sandbox.sh)"                          # the one `regionctl sandbox up` runs
#   az group list -o table; az aks list -o table; az network vnet list -o table
#
# What it does, each step what Azure users do against a sovereign cloud:
#   - trusts the sandbox's CA for az only (REQUESTS_CA_BUNDLE): az sends
#     tokens only over https, and the emulator serves https on its port;
#   - `az cloud register --endpoint-resource-manager https://127.0.0.1:PORT/`
#     (az reads the rest from the emulator's /metadata/endpoints; the login
#     endpoint is https://127.0.0.1:PORT/adfs, an AD FS-style authority for
#     which MSAL skips instance discovery at login.microsoftonline.com);
#   - `az login --service-principal` with the principal's id and secret,
#     read from the emulator (/_sandbox/azure/credentials.json).
#
# Debian's azure-cli 2.45 (apt-get install azure-cli) misses the Python SDK
# models its network commands load (azure.mgmt.network v2022_01_01; Debian's
# python3-azure ships v2022_07_01), so `az network …` crashes before sending
# anything. The script puts a sitecustomize.py on PYTHONPATH that lends it the
# 2022-07-01 models; the generated network commands (vnet, lb, public-ip,
# nsg, route-table) still send their own api-versions (2022-01-01,
# 2022-05-01, 2021-08-01). `az vmss` stays broken there (no compute
# v2022_11_01 models) and is not shimmed.
#
# Environment: REGIONCTL_SANDBOX_DIR (default .regionctl/sandbox) to find a
# running sandbox; AZ_SANDBOX_DIR (default $REGIONCTL_SANDBOX_DIR/az, or a
# temporary directory with an explicit URL) for az's config.
set -euo pipefail

die() { echo "az-sandbox: $*" >&2; exit 1; }
command -v az >/dev/null || die "az is not installed (Debian: apt-get install azure-cli)"
command -v curl >/dev/null || die "curl is not installed"

url="${1:-}"
sbdir="${REGIONCTL_SANDBOX_DIR:-.regionctl/sandbox}"
if [ -z "$url" ]; then
	[ -f "$sbdir/endpoints.json" ] || die "no running sandbox in $sbdir (regionctl sandbox up), and no endpoint given"
	url="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoints"]["azure"])' "$sbdir/endpoints.json")"
fi
case "$url" in
http://127.0.0.1:* | http://localhost:*) ;;
*) die "$url is not the sandbox's loopback http endpoint (http://127.0.0.1:PORT)" ;;
esac
url="${url%/}"
https="https://${url#http://}"

cfg="${AZ_SANDBOX_DIR:-}"
if [ -z "$cfg" ]; then
	if [ -n "${1:-}" ]; then cfg="$(mktemp -d "${TMPDIR:-/tmp}/az-sandbox.XXXXXX")"; else cfg="$sbdir/az"; fi
fi
mkdir -p "$cfg/shim"
cfg="$(cd "$cfg" && pwd)"

curl -fsS "$url/_sandbox/azure/ca.pem" >"$cfg/sandbox-ca.pem" || die "cannot read the sandbox CA from $url"
creds="$(curl -fsS "$url/_sandbox/azure/credentials.json")" || die "cannot read the sandbox's service principal from $url"
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$creds" "$1"; }

cat >"$cfg/shim/sitecustomize.py" <<'PY'
# az-sandbox: lend Debian's azure-cli 2.45 the network SDK models it asks for
# (azure.mgmt.network.v2022_01_01), which Debian's python3-azure lacks.
import importlib
import sys

try:
    for _sub in ("", ".models", ".operations"):
        sys.modules["azure.mgmt.network.v2022_01_01" + _sub] = importlib.import_module("azure.mgmt.network.v2022_07_01" + _sub)
except ImportError:
    pass
PY

export AZURE_CONFIG_DIR="$cfg" REQUESTS_CA_BUNDLE="$cfg/sandbox-ca.pem" PYTHONPATH="$cfg/shim${PYTHONPATH:+:$PYTHONPATH}"
export AZURE_CORE_COLLECT_TELEMETRY=no AZURE_CORE_SURVEY_MESSAGE=no
cloud=regionctl-sandbox
if grep -qs "^\[$cloud\]" "$cfg/clouds.config"; then
	az cloud update -n "$cloud" --endpoint-resource-manager "$https/" --endpoint-active-directory "$https/adfs" --endpoint-management "$https/" -o none >&2
else
	az cloud register -n "$cloud" --endpoint-resource-manager "$https/" -o none >&2
fi
az cloud set -n "$cloud" -o none >&2
az login --service-principal -u "$(field clientId)" -p "$(field clientSecret)" --tenant "$(field tenantId)" -o none >&2
echo "az-sandbox: az in $cfg is logged in to the sandbox at $https as service principal $(field clientId)" >&2

printf 'export AZURE_CONFIG_DIR=%q\n' "$AZURE_CONFIG_DIR"
printf 'export REQUESTS_CA_BUNDLE=%q\n' "$REQUESTS_CA_BUNDLE"
printf 'export PYTHONPATH=%q\n' "$PYTHONPATH"
printf 'export AZURE_CORE_COLLECT_TELEMETRY=no AZURE_CORE_SURVEY_MESSAGE=no\n'
