#!/usr/bin/env bash
# Finds the aws CLI the AWS sandbox's CLI test drives (sandbox/aws
# TestAWSCLIReadsTheSandbox): one that knows EKS access entries and reads
# endpoint_url from a config profile, i.e. aws-cli v1 >= 1.32 (botocore >=
# 1.34) or v2 >= 2.15. The version tested is this machine's aws-cli v1
# (aws-cli/1.45.11, botocore/1.43.11, under pyenv). Debian's awscli package
# (2.9.19) is too old for both, and PyPI is not reachable here, so nothing is
# installed: the script fails, saying so, when no such CLI is found.
#
# It looks at REGIONCTL_AWS_CLI, then `aws` on PATH, checks the CLI offline
# (`aws eks list-access-entries --generate-cli-skeleton`), prints its path and
# version, and writes REGIONCTL_AWS_CLI=<path> to
#   ${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/aws-cli/env
# which the test reads when REGIONCTL_AWS_CLI is not set.
set -euo pipefail

cache="${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/aws-cli"
envfile="$cache/env"
log() { echo "aws-cli.sh: $*" >&2; }

aws="${REGIONCTL_AWS_CLI:-}"
if [[ -z "$aws" ]]; then
	aws="$(command -v aws || true)"
fi
if [[ -z "$aws" ]]; then
	log "no aws CLI found (set REGIONCTL_AWS_CLI or put aws on PATH): install aws-cli v1 >= 1.32 (pip install awscli) or v2 >= 2.15; Debian's awscli 2.9.19 is too old"
	exit 1
fi
# pyenv shims are scripts that pick an interpreter per directory: resolve
# them to the real program so the test runs the same one from anywhere.
if command -v pyenv >/dev/null 2>&1 && [[ "$aws" == */shims/aws ]]; then
	aws="$(pyenv which aws)"
fi
if ! "$aws" eks list-access-entries --generate-cli-skeleton input >/dev/null 2>&1; then
	log "$aws ($("$aws" --version 2>&1)) does not know EKS access entries: install aws-cli v1 >= 1.32 or v2 >= 2.15"
	exit 1
fi
mkdir -p "$cache"
printf 'REGIONCTL_AWS_CLI=%s\n' "$aws" >"$envfile"
echo "$aws"
"$aws" --version 2>&1
