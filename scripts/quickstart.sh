#!/usr/bin/env bash
# Builds regionctl and runs the main job on the built-in default: plan and
# apply examples/aws.yaml against the offline sandbox (emulated AWS on
# 127.0.0.1, kept in .regionctl/sandbox), then shows that a second plan is
# empty and what the emulated cloud holds. Safe to run again: the second
# time there is nothing to change.
set -euo pipefail
cd "$(dirname "$0")/.."
make build
scripts/kube-apiserver.sh >/dev/null # the emulated EKS cluster serves a real Kubernetes API (cached; ~12 min once)
scripts/kwok.sh >/dev/null           # ... and its node groups' nodes, simulated by kwok (cached; ~2 min once)
rc=bin/regionctl
"$rc" validate -f examples/aws.yaml
"$rc" plan --sandbox -f examples/aws.yaml --out .regionctl/quickstart.plan
"$rc" apply --sandbox .regionctl/quickstart.plan
echo
echo "== A second plan finds nothing to change:"
"$rc" plan --sandbox -f examples/aws.yaml --detailed-exitcode | tail -n 1
echo
echo "== What the emulated cloud holds now:"
"$rc" sandbox ls
"$rc" sandbox down
cat <<'MSG'

Next: edit examples/aws.yaml (say, a node pool's max) and run
  bin/regionctl plan --sandbox -f examples/aws.yaml
and tear it all down with
  bin/regionctl destroy --sandbox -f examples/aws.yaml --auto-approve --allow-destroy
MSG
