#!/usr/bin/env bash
# The main job: a real three-region Slurm cluster on this machine (munge, slurmctld, seven
# slurmd) with job_submit/sovereign loaded and sovereignd beside it. Researchers of different
# projects submit a realistic mix with real sbatch; the script shows where each job went and
# what it is estimated to cost, what was refused and why, and the audit trail with its
# verification. The cluster stays up for trying sbatch by hand.
#
#   scripts/demo-cluster.sh [up]   run the demo (idempotent: an existing demo cluster is reused)
#   scripts/demo-cluster.sh down   stop sovereignd and the cluster
#
# Creates the Unix users sov-alice (group oncology), sov-priya (fintech), sov-gene (genomics),
# sov-omar (oncology and fintech) and sov-bob (no project) if they do not exist: the register's
# datasets are granted to Unix groups, and the plugin checks the submitting user's groups.
set -euo pipefail

top="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-${top}/build}"
dir="${SOVEREIGN_DEMO_DIR:-/tmp/sovereign-demo}"
state="${dir}/sovereignd"
mc="${top}/scripts/minicluster"

stop_exporter() {
  if [[ -f "${state}/exporter.pid" ]]; then
    local pid
    pid="$(cat "${state}/exporter.pid")"
    if kill -0 "${pid}" 2>/dev/null && grep -q sovereign-synthetic-exporter "/proc/${pid}/cmdline" 2>/dev/null; then
      kill -TERM "${pid}"
    fi
    rm -f "${state}/exporter.pid"
  fi
}

stop_daemon() {
  stop_exporter
  if [[ -f "${state}/sovereignd.pid" ]]; then
    local pid
    pid="$(cat "${state}/sovereignd.pid")"
    if kill -0 "${pid}" 2>/dev/null && grep -q sovereignd "/proc/${pid}/cmdline" 2>/dev/null; then
      kill -TERM "${pid}"
      for _ in $(seq 50); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "${state}/sovereignd.pid"
  fi
}

if [[ "${1:-up}" == down ]]; then
  stop_daemon
  # Nothing to stop is a success; a cluster that cannot be stopped is not.
  exec "${mc}" down --dir "${dir}"
fi

for bin in "${build}/src/daemon/sovereignd" "${build}/src/cli/sovereignctl" \
           "${build}/plugins/job_submit/job_submit_sovereign.so" "${build}/src/prolog/sovereign-prolog" \
           "${build}/plugins/spank/sovereign_spank.so" \
           "${build}/tests/support/sovereign-synthetic-exporter"; do
  [[ -e "${bin}" ]] || { echo "demo: ${bin} is missing: run make build first" >&2; exit 2; }
done

ensure_group() { getent group "$1" >/dev/null || groupadd "$1"; }
ensure_user() {  # user [groups]
  id "$1" >/dev/null 2>&1 && return 0
  if [[ -n "${2:-}" ]]; then
    useradd --no-create-home --shell /bin/sh -G "$2" "$1"
  else
    useradd --no-create-home --shell /bin/sh "$1"
  fi
}
for g in oncology fintech genomics; do ensure_group "${g}"; done
ensure_user sov-alice oncology
ensure_user sov-priya fintech
ensure_user sov-gene genomics
ensure_user sov-omar oncology,fintech
ensure_user sov-bob

echo "== 1. A three-region Slurm cluster on this machine, with job_submit/sovereign loaded"
echo "   and sovereign-prolog as PrologSlurmctld; every node carries its site as a feature"
SOVEREIGN_PLUGIN_DIR="${build}/plugins/job_submit" \
SOVEREIGN_PROLOG="${build}/src/prolog/sovereign-prolog" \
SOVEREIGN_SPANK_SO="${build}/plugins/spank/sovereign_spank.so" \
  "${mc}" up --dir "${dir}"
eval "$("${mc}" env --dir "${dir}")"
mkdir -p "${dir}/out" && chmod 1777 "${dir}/out"
sinfo -o '%12P %6D %10G %20f %T' | sed 's/^/   /'

echo
echo "== 2. sovereignd: the register, the snapshot the plugin decides from, the audit log"
mkdir -p "${state}"
[[ -f "${state}/register.yaml" ]] || cp "${top}/config/register.example.yaml" "${state}/register.yaml"
# SYNTHETIC grid carbon series (this machine has no grid feed): each site's daily cycle around
# a mean near the register's annual figure, lowest three hours from now.
python3 "${top}/scripts/carbon-series.py" --out "${state}/carbon" --trough-in 3 \
  paris-1=45,30 munich-1=360,120 fra-cloud-1=360,120 sanjose-1=220,60 mumbai-1=620,80 \
  | sed 's/^/   /'
cat >"${state}/sovereignd.yaml" <<EOF
socket:
  path: ${state}/sovereignd.sock
register:
  path: ${state}/register.yaml
  history_database: ${state}/registers.db
audit:
  database: ${state}/audit.db
  signing_key: ${state}/audit-signing.pem
  checkpoint_interval: 10
slurm:
  slurm_conf: ${SLURM_CONF}
  snapshot: ${dir}/sovereign/snapshot
  spool: ${dir}/sovereign/spool
  publish_interval_ms: 1000
  reconcile_interval_ms: 1000
  max_cluster_age: 2m             # = max_cluster_age in the minicluster's sovereign-plugin.conf
carbon:
  series_dir: ${state}/carbon     # synthetic, written above by scripts/carbon-series.py
EOF
stop_daemon
# GPU power as NVIDIA's DCGM exporter serves it, from a SYNTHETIC exporter (the nodes have no
# GPUs): fr-a100-2 draws a third of fr-a100-1's power per GPU. sovereignd sets node weights from
# it, so that Slurm fills fr-a100-2 first.
setsid "${build}/tests/support/sovereign-synthetic-exporter" fr-a100-1=300,300 fr-a100-2=100,100 \
  >"${state}/exporter.url" 2>>"${state}/exporter.log" </dev/null &
echo $! >"${state}/exporter.pid"
for _ in $(seq 50); do [[ -s "${state}/exporter.url" ]] && break; sleep 0.1; done
cat >>"${state}/sovereignd.yaml" <<EOF
power:
  prometheus_url: $(head -1 "${state}/exporter.url")
  interval: 1s
weights:
  enabled: true
  interval: 5s
EOF
setsid "${build}/src/daemon/sovereignd" --config "${state}/sovereignd.yaml" \
  >>"${state}/sovereignd.log" 2>&1 </dev/null &
echo $! >"${state}/sovereignd.pid"
for _ in $(seq 100); do
  [[ -S "${state}/sovereignd.sock" && -f "${dir}/sovereign/snapshot" ]] && break
  sleep 0.1
done
[[ -S "${state}/sovereignd.sock" ]] || { echo "demo: sovereignd did not start:" >&2; tail "${state}/sovereignd.log" >&2; exit 1; }
sleep 1.2  # the plugin looks for a new snapshot every 500 ms
export SOVEREIGN_SOCKET="${state}/sovereignd.sock"
ctl="${build}/src/cli/sovereignctl"
echo "   sovereignd pid $(cat "${state}/sovereignd.pid"), socket ${SOVEREIGN_SOCKET}"
echo "   register $(sed -n 's/.*"register_version":"\([0-9a-f]\{12\}\).*/\1/p' "${dir}/sovereign/snapshot" | head -1)"

echo "   node weights from facility watts per GPU (synthetic DCGM figures for gpu-fr-a100's nodes,"
echo "   the register's elsewhere); Slurm fills the lowest weight first:"
for _ in $(seq 50); do
  "${ctl}" status | grep -q '^  fr-a100-2 .* measured' && break
  sleep 0.1
done
"${ctl}" status | sed -n '/^node weights:/,/^power:/p' | sed 's/^/   /'

echo
echo "== 3. Researchers submit with sbatch"
jobs_file="${dir}/demo-jobs.txt"
: >"${jobs_file}"
refusals=()
submit() {  # user "what" sbatch-args...
  local user="$1" what="$2"
  shift 2
  local out
  if out="$(runuser -u "${user}" -- sbatch --parsable -o "${dir}/out/%j.out" -t 30 "$@" \
      --wrap 'sleep 8; echo ran on $SLURMD_NODENAME' 2>&1)"; then
    echo "${out%%;*} ${user} ${what}" >>"${jobs_file}"
    printf '   %-10s %-44s -> job %s\n' "${user}" "${what}" "${out%%;*}"
  else
    refusals+=("${user}|${what}|$(echo "${out}" | grep 'sovereign:' | head -1 | sed 's/^sbatch: error: //')")
    printf '   %-10s %-44s -> refused\n' "${user}" "${what}"
  fi
}
submit sov-alice "tumour segmentation, account oncology" -A oncology --gres=gpu:1
submit sov-alice "radiology model, --dataset=patients-eu, h100" --dataset=patients-eu --gres=gpu:h100:1
submit sov-priya "fraud detection, account fintech-in" -A fintech-in --gres=gpu:1
submit sov-gene  "GWAS, --dataset=genomics-eu-us" --dataset=genomics-eu-us --gres=gpu:1
submit sov-bob   "ResNet baseline, --dataset=imagenet-public" --dataset=imagenet-public --gres=gpu:1
submit sov-bob   "ImageNet on -p gpu-us-h100 (allowed)" --dataset=imagenet-public -p gpu-us-h100
submit sov-alice "patients-eu on -p gpu-us-h100" --dataset=patients-eu -p gpu-us-h100
submit sov-bob   "patients-eu without being in oncology" --dataset=patients-eu
submit sov-alice "a typo: --dataset=patiens-eu" --dataset=patiens-eu
submit sov-omar  "patients-eu together with finance-in" --dataset=patients-eu,finance-in

echo
echo "== 4. Where the jobs went (waiting for them to finish)"
for _ in $(seq 60); do
  [[ -z "$(squeue -h -o %i 2>/dev/null)" ]] && break
  sleep 1
done
sleep 2  # the reconciler attests within a second of a job's start
printf '   %-6s %-10s %-30s %-6s %-18s %-12s %s\n' JOB USER DATASETS REGION PARTITION NODE JOBS/KWH
while read -r job user _; do
  line="$(scontrol show job -o "${job}")"
  partition="$(sed -n 's/.* Partition=\([^ ]*\).*/\1/p' <<<"${line}")"
  node="$(sed -n 's/.* NodeList=\([^ ]*\).*/\1/p' <<<"${line}")"
  tag="$(sed -n 's/.* AdminComment=\([^ ]*\).*/\1/p' <<<"${line}")"
  id="$(sed -n 's/.*;id=\([^;]*\);.*/\1/p' <<<"${tag}")"
  ds="$(sed -n 's/.*;ds=\([^;]*\);.*/\1/p' <<<"${tag}")"
  region="$(sed -n 's/.*;region=\([^;]*\);.*/\1/p' <<<"${tag}")"
  jpk="$(sqlite3 -readonly "${state}/audit.db" "SELECT printf('%.3f', json_extract(c.value, '\$.jobs_per_kwh')) FROM records r, json_each(r.body, '\$.candidates') c WHERE r.kind = 0 AND r.decision_id = '${id}' AND json_extract(c.value, '\$.status') = 'chosen'" 2>/dev/null || true)"
  printf '   %-6s %-10s %-30s %-6s %-18s %-12s %s\n' "${job}" "${user}" "${ds:-(none)}" "${region}" "${partition}" "${node}" "${jpk:-?}"
done <"${jobs_file}"

echo
echo "== 5. A researcher lets the start move for less CO2: --green-window=6h"
green_out="$(runuser -u sov-bob -- sbatch --parsable -o /dev/null --dataset=imagenet-public \
  --green-window=6h --gres=gpu:1 -t 60 --wrap 'echo ran on $SLURMD_NODENAME' 2>&1)"
green="$(echo "${green_out}" | grep -v '^sbatch: ' | tail -1)"
green="${green%%;*}"
echo "${green_out}" | grep '^sbatch: sovereign:' | sed 's/^/   /' | fold -s -w 100 | sed '2,$s/^/     /'
echo "   job ${green}: partition $(scontrol show job -o "${green}" | sed -n 's/.* Partition=\([^ ]*\).*/\1/p')," \
  "eligible from $(scontrol show job -o "${green}" | sed -n 's/.* EligibleTime=\([^ ]*\).*/\1/p')," \
  "reason $(scontrol show job -o "${green}" | sed -n 's/.* Reason=\([^ ]*\).*/\1/p')"
echo "   (cancelled here so that the demo ends; the audit log keeps both starts and their CO2)"
scancel "${green}"

echo
echo "== 6. Refused, with the reason the researcher read in sbatch's output"
for r in "${refusals[@]}"; do
  IFS='|' read -r user what msg <<<"${r}"
  printf '   %s, %s:\n     %s\n' "${user}" "${what}" "${msg}"
done

echo
echo "== 7. Residency holds after submission"
held="$(runuser -u sov-alice -- sbatch --parsable --hold -o /dev/null --dataset=patients-eu \
  --gres=gpu:1 -t 30 --wrap 'echo ran on $SLURMD_NODENAME')"
held="${held%%;*}"
field() { scontrol show job -o "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
echo "   sov-alice submits a held patients-eu job ${held}: partition $(field "${held}" Partition)," \
  "features $(field "${held}" Features)"
echo "   sov-alice moves it to gpu-de-cloud-h100 (in the EU, run by an operator under US law):"
if runuser -u sov-alice -- scontrol update jobid="${held}" partition=gpu-de-cloud-h100 2>"${dir}/move.err"; then
  echo "     accepted (unexpected)"
else
  echo "     scontrol: $(sed 's/^scontrol: error: //' "${dir}/move.err" | head -1)"
  echo "     slurmctld's log: $(grep -o "refused a change to job ${held} .*" "${dir}/log/slurmctld.log" | head -1 | cut -c1-150)..."
fi
echo "   An admin applies a register in which paris-1's operator answers to US law (a takeover):"
before="$(sed -n 's/.*"register_version":"\([0-9a-f]\{12\}\).*/\1/p' "${dir}/sovereign/snapshot" | head -1)"
awk '/name: paris-1/{p=1} p && /operator_jurisdiction: EU/{sub(/EU/, "US"); p=0} {print}' \
  "${state}/register.yaml" >"${dir}/takeover.yaml"
"${ctl}" register apply --dry-run "${dir}/takeover.yaml" | sed 's/^/     /'
"${ctl}" register apply --comment "paris-1 taken over" "${dir}/takeover.yaml" | sed 's/^/     /'
echo "   job ${held} now: partition $(field "${held}" Partition), features $(field "${held}" Features)"
echo "   The takeover is undone (the job stays where it is: it complies under both):"
"${ctl}" register rollback "${before}" --comment "takeover undone" | sed 's/^/     /'
scontrol release "${held}"
for _ in $(seq 30); do [[ "$(field "${held}" JobState)" == COMPLETED ]] && break; sleep 1; done
echo "   released, job ${held} ran on $(field "${held}" NodeList)"
echo "   An admin gives us-h100-1 (San Jose) paris-1's site feature and puts it in gpu-fr-a100:"
echo "   acts outside job_modify that fool the guard; sovereign-prolog checks every start"
scontrol update nodename=us-h100-1 availablefeatures=region_eu,site_paris-1,gpu_h100 \
  activefeatures=region_eu,site_paris-1,gpu_h100
scontrol update partitionname=gpu-fr-a100 nodes=us-h100-1
fooled="$(runuser -u sov-alice -- sbatch --parsable -o /dev/null --dataset=patients-eu \
  -p gpu-fr-a100 -t 30 --wrap 'echo ran on $SLURMD_NODENAME')"
fooled="${fooled%%;*}"
for _ in $(seq 30); do [[ "$(field "${fooled}" Reason)" == JobHeldAdmin ]] && break; sleep 1; done
echo "     job ${fooled}: $(field "${fooled}" JobState), Reason=$(field "${fooled}" Reason), never started"
echo "     $(grep "refused to start job ${fooled} " "${dir}/log/sovereign-prolog.log" | tail -1)"
scancel "${fooled}"
scontrol update partitionname=gpu-fr-a100 nodes=fr-a100-[1-2]
scontrol update nodename=us-h100-1 availablefeatures=region_us,site_sanjose-1,gpu_h100 \
  activefeatures=region_us,site_sanjose-1,gpu_h100

echo
echo "== 8. The audit trail (sovereignctl audit list)"
"${ctl}" audit list --limit 18 | sed 's/^/   /'
echo
echo "== 9. Verification of the hash chain and its signed checkpoints (sovereignctl audit verify)"
"${ctl}" audit verify | sed 's/^/   /'
echo
echo "== 10. Jobs per kWh: measured on the nodes the (synthetic) exporter reads, estimated elsewhere"
"${ctl}" energy --by partition | sed 's/^/   /'
echo
echo "== 11. sovereignd's status (sovereignctl status)"
"${ctl}" status | sed 's/^/   /'

cat <<EOF

The cluster and sovereignd are still running. Try it yourself:
  eval "\$(${mc} env --dir ${dir})"; export SOVEREIGN_SOCKET=${SOVEREIGN_SOCKET}
  runuser -u sov-alice -- sbatch --dataset=patients-eu --gres=gpu:1 --wrap hostname
  runuser -u sov-bob -- sbatch --dataset=imagenet-public --green-window=6h --gres=gpu:1 -t 60 --wrap hostname
  runuser -u sov-alice -- ${ctl} explain --dataset patients-eu --gpus 2 --time 2h   # the live cluster, as the plugin sees it
  ${ctl} audit list
  ${ctl} audit show <decision id>                                              # the record, and where its job ran
Stop everything with: make demo-down
EOF
