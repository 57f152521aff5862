#!/usr/bin/env bash
# The demo (make demo). First the offline tour: build sovereignctl, validate the example
# register, then ask `sovereignctl explain` where a realistic mix of jobs would run on the
# example cluster (config/cluster.example.json: some GPUs busy, gpu-us-h100 drained) and why,
# including jobs that must be refused. Then the live part, scripts/demo-cluster.sh: a real
# three-region Slurm cluster on this machine with job_submit/sovereign and sovereignd, where
# researchers submit with sbatch and the audit trail is verified.
#
# Usage: scripts/demo.sh [all]    the tour, then the live cluster (needs root and `make build`)
#        scripts/demo.sh explain  the offline tour only: no Slurm, no daemon, no root
#        scripts/demo.sh down     stop the live cluster and sovereignd (make demo-down)
# Environment: BUILD_DIR (build), JOBS (2)
set -euo pipefail

mode="${1:-all}"
case "${mode}" in
  all | explain) ;;
  down) exec "$(dirname "${BASH_SOURCE[0]}")/demo-cluster.sh" down ;;
  *)
    echo "demo: unknown argument \"$1\" (usage: scripts/demo.sh [all|explain|down])" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
build_dir="${BUILD_DIR:-build}"
register=config/register.example.yaml
carbon_register=tests/golden/register-carbon.yaml
cluster=config/cluster.example.json
# A fixed decision time, so that the tour reads the same every time.
now=2026-11-22T10:00:00Z

bold=""
plain=""
if [[ -t 1 ]]; then
  bold="$(tput bold 2>/dev/null || true)"
  plain="$(tput sgr0 2>/dev/null || true)"
fi

echo "== Building sovereignctl in ${build_dir}/"
cmake -S . -B "${build_dir}" -G Ninja >/dev/null
cmake --build "${build_dir}" -j "${JOBS:-2}" --target sovereignctl >/dev/null
ctl="${build_dir}/src/cli/sovereignctl"

step() {
  printf '\n%s== %s%s\n' "${bold}" "$1" "${plain}"
}

# Runs sovereignctl, shows the command, and keeps going when the answer is "no" (exit 1).
run() {
  printf '$ sovereignctl %s\n' "$*"
  local rc=0
  "${ctl}" "$@" || rc=$?
  if [[ ${rc} -gt 1 ]]; then
    echo "demo: sovereignctl failed with exit code ${rc}" >&2
    exit "${rc}"
  fi
  printf '(exit code %d)\n' "${rc}"
}

explain() {
  run explain --register "${register}" --cluster "${cluster}" --now "${now}" "$@"
}

step "An admin checks the register before applying it"
run register validate "${register}"

step "An oncology researcher trains on EU patient data (account oncology implies patients-eu)"
explain --user alice --uid 1001 --group oncology --account oncology --gpus 8 --time 6h

step "The same researcher wants H100s: only the EU-operated H100 site qualifies"
explain --user alice --uid 1001 --group oncology --account oncology --gpus 4 --gpu-type h100 \
  --time 2h

step "A fintech analyst scores Indian payment data: it stays in India"
explain --user ravi --uid 1003 --group fintech --account fintech-in --gpus 2 --time 1h30m

step "A vision job on public data, placed by energy per job"
explain --user bob --uid 1002 --group vision --account vision --dataset imagenet-public \
  --gpus 8 --time 4h

step "The same job under a register whose objective is carbon: it moves to the low-carbon grid"
run explain --register "${carbon_register}" --cluster "${cluster}" --now "${now}" \
  --user bob --uid 1002 --group vision --account vision --dataset imagenet-public --gpus 8 --time 4h

step "Refused: EU patient data asked onto a US partition"
explain --user alice --uid 1001 --group oncology --account oncology --gpus 4 --time 2h \
  --partition gpu-us-h100

step "Refused: a dataset the register does not know (a typo)"
explain --user bob --uid 1002 --group vision --account vision --dataset imagenet-pubilc \
  --gpus 1 --time 30m

step "Refused: a user outside the dataset's group"
explain --user bob --uid 1002 --group vision --account vision --dataset patients-eu --gpus 1 \
  --time 30m

step "Refused: datasets that may not be processed in the same place"
explain --user carol --uid 1004 --group oncology,fintech --dataset patients-eu,finance-in \
  --gpus 2 --time 1h

step "The same as JSON, as scripts and the audit log see it"
explain --json --user bob --uid 1002 --group vision --account vision --dataset patients-eu \
  --gpus 1 --time 30m

echo
echo "Try your own: ${ctl} explain --help"
[[ "${mode}" == explain ]] && exit 0

step "The live cluster: real sbatch, job_submit/sovereign, sovereignd, the audit trail"
if [[ "$(id -u)" -ne 0 ]]; then
  echo "demo: the live part creates Unix users for the researchers and runs Slurm's daemons:"
  echo "      run it as root (sudo make demo), or see docs/minicluster.md"
  exit 0
fi
exec "${root}/scripts/demo-cluster.sh" up
