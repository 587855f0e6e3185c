#!/usr/bin/env bash
# Provides the clouds' published service descriptions the sandbox's parity
# suite checks replies against (sandbox/internal/parity, docs/sandbox.md
# "Parity"), none of them written here:
#
#   AWS    botocore's JSON service models (ec2, iam, sts, eks), from the
#          botocore of the aws CLI that scripts/aws-cli.sh finds (the CLI's
#          own Python package; aws-cli v1 >= 1.32 carries a botocore new
#          enough for EKS access entries). Debian's python3-botocore (2022)
#          lacks them and PyPI is not reachable here, so nothing is installed.
#   Azure  the serialization mappers AutoRest generated from the Azure REST
#          API specs into the @azure/arm-* npm packages, one package version
#          per api-version the emulator serves (pinned below), installed with
#          npm into the cache and dumped to JSON by scripts/azure-models.js;
#          for two older api-versions no npm package here describes, the
#          msrest models AutoRest generated into Debian's python3-azure
#          (scripts/azure-python-models.py; apt-get installs it if missing).
#   GCP    Google's discovery documents ship inside google.golang.org/api in
#          the module cache (go.mod pins them): nothing to do here.
#
# Everything is cached under ${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/
# service-models/; a second run finds the cache. It prints and writes to
# <cache>/env, as shell assignments read by the tests:
#   REGIONCTL_BOTOCORE_DATA, REGIONCTL_BOTOCORE_VERSION, REGIONCTL_AZURE_MODELS
# It fails, saying why, when a source cannot be had: the tests never skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# The npm packages whose mappers describe each served api-version: the
# package version whose generated client sends that api-version. The
# versions without a package here are listed in docs/sandbox.md.
AZURE_PACKAGES=(
	"containerservice@2025-02-01=@azure/arm-containerservice@21.6.0"
	"network@2025-05-01=@azure/arm-network@36.0.0"
	"network@2022-01-01=@azure/arm-network@29.0.0"
	"resources@2025-04-01=@azure/arm-resources@7.0.0"
	"resources@2021-04-01=@azure/arm-resources@5.2.0"
	"subscriptions@2022-12-01=@azure/arm-resources-subscriptions@2.1.1"
	"compute@2025-04-01=@azure/arm-compute@23.1.0"
	"compute@2022-11-01=@azure/arm-compute@20.0.0"
)
# The api-versions az 2.45 sends that no npm package here describes, from
# the azure-mgmt-* models of Debian's python3-azure (the package az itself
# uses), dumped by scripts/azure-python-models.py.
AZURE_PYTHON=(
	"containerservice@2022-11-01=azure.mgmt.containerservice.v2022_11_01"
	"subscriptions@2019-11-01=azure.mgmt.resource.subscriptions.v2019_11_01"
	# the orchestrators list (az aks get-versions): its generated operation
	# lives in the 2017-07-01 package and sends 2019-04-01
	"containerservice@2019-04-01=azure.mgmt.containerservice.v2017_07_01"
)
# Bump when the dumps' format (scripts/azure-models.js,
# scripts/azure-python-models.py) changes.
AZURE_DUMP_VERSION=2

root="${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/service-models"
envfile="$root/env"
mkdir -p "$root"
log() { echo "service-models.sh: $*" >&2; }

# --- AWS: botocore of the vetted aws CLI ---------------------------------
cli="$(scripts/aws-cli.sh)" || { log "no usable aws CLI, so no botocore models (see scripts/aws-cli.sh)"; exit 1; }
aws="${cli%%$'\n'*}" # its first line is the path
botocore_data="" botocore_version=""
IFS= read -r shebang <"$aws" || true
if [[ "$shebang" == '#!'*python* ]]; then
	py="${shebang#\#!}"
	read -r botocore_data botocore_version < <("$py" -c 'import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), "data"), botocore.__version__)')
else
	# aws-cli v2 bundles its botocore under dist/awscli.
	real="$(readlink -f "$aws")"
	for d in "$(dirname "$real")/../dist/awscli/botocore/data" "$(dirname "$real")/dist/awscli/botocore/data"; do
		if [[ -d "$d" ]]; then botocore_data="$(cd "$d" && pwd)"; fi
	done
	botocore_version="aws-cli $("$aws" --version 2>&1 | cut -d' ' -f1)"
fi
if [[ -z "$botocore_data" || ! -d "$botocore_data/eks" ]]; then
	log "cannot find botocore's data directory for $aws"
	exit 1
fi
eks_model="$(ls "$botocore_data"/eks/*/service-2.json* | sort | tail -1)"
if [[ "$(zcat -f "$eks_model" | grep -c '"CreateAccessEntry"')" == 0 ]]; then
	log "botocore $botocore_version ($botocore_data) has no EKS access entries: it is too old"
	exit 1
fi

# --- Azure: spec-generated mappers from npm ------------------------------
key="$(printf '%s\n' "${AZURE_PACKAGES[@]}" "${AZURE_PYTHON[@]}" "dump=$AZURE_DUMP_VERSION" \
	"$(cat scripts/azure-models.js scripts/azure-python-models.py | sha256sum)" | sha256sum | cut -c1-12)"
azure_dir="$root/azure-$key"
if [[ ! -f "$azure_dir/done" ]]; then
	command -v npm >/dev/null && command -v node >/dev/null || { log "npm and node are needed for the Azure models (apt-get install nodejs npm)"; exit 1; }
	rm -rf "$azure_dir"
	mkdir -p "$azure_dir/npm"
	specs=()
	for p in "${AZURE_PACKAGES[@]}"; do
		alias="${p%%=*}"; pkg="${p#*=}"
		specs+=("${alias//[@]/-}@npm:$pkg")
	done
	log "installing ${#specs[@]} @azure/arm-* packages into $azure_dir (once)"
	(cd "$azure_dir/npm" && echo '{"private":true}' >package.json &&
		npm install --no-audit --no-fund --no-update-notifier --ignore-scripts --loglevel=error "${specs[@]}" >&2)
	for p in "${AZURE_PACKAGES[@]}"; do
		alias="${p%%=*}"; pkg="${p#*=}"
		node scripts/azure-models.js "$azure_dir/npm/node_modules/${alias//[@]/-}" "$pkg" "${alias#*@}" >"$azure_dir/${alias}.json"
	done
	if ! /usr/bin/python3 -c 'import azure.mgmt.containerservice, azure.mgmt.resource' 2>/dev/null; then
		log "installing Debian's python3-azure (the azure-mgmt-* models)"
		sudo=""
		if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
		export DEBIAN_FRONTEND=noninteractive
		$sudo apt-get install -y -q python3-azure >&2 || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q python3-azure >&2; }
	fi
	for p in "${AZURE_PYTHON[@]}"; do
		alias="${p%%=*}"; module="${p#*=}"
		/usr/bin/python3 scripts/azure-python-models.py "$module" "${alias%@*}" "${alias#*@}" >"$azure_dir/${alias}.json"
	done
	touch "$azure_dir/done"
	find "$root" -maxdepth 1 -name 'azure-*' ! -path "$azure_dir" -exec rm -rf {} + # older recipes
fi

cat >"$envfile" <<EOF
REGIONCTL_BOTOCORE_DATA=$botocore_data
REGIONCTL_BOTOCORE_VERSION=$botocore_version
REGIONCTL_AZURE_MODELS=$azure_dir
EOF
cat "$envfile"
