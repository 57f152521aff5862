#!/usr/bin/env bash
# What sovereign costs a Slurm controller, against the alternatives, on the mini cluster:
#   none       JobSubmitPlugins unset
#   sovereign  job_submit/sovereign, with sovereignd running beside it (as in production:
#              snapshot publisher, spool ingester and reconciler at their default intervals)
#   lua        job_submit/lua with bench/job_submit_router.lua, the same residency routing
#              written by hand (the baseline a site would write)
# Interleaved rounds: every round brings up a fresh cluster for each variant in turn (rotating
# which goes first), optionally queues --queued held jobs first, then times --jobs held
# submissions of a labelled job (sov-alice, --comment dataset:patients-eu) with submit_load.
# Prints every round, then the median of each variant's ratio to `none` in the same round:
# submission rate, and slurmctld CPU per submission (user + system, from /proc).
#
#   bench/controller_cost.sh [--rounds R] [--jobs N] [--threads T] [--queued Q] [--idle S]
#                            [--pairs K] [--variants LIST] [--dir DIR]
#
# With --idle S, after the timed submissions (and, for sovereign, once sovereignd has moved the
# whole spool into the audit log) nothing is submitted for S seconds and the CPU slurmctld and
# sovereignd use in that window is printed (% of one core): what the queue costs while nobody
# submits. With --pairs K as well, the sovereign variant then measures K pairs of S-second
# windows on the same cluster and queue, sovereignd running, then stopped (SIGSTOP, SIGCONT
# after): slurmctld's CPU with sovereignd minus without it is what sovereignd asks of it,
# without the spread between fresh clusters. --variants (default none,sovereign,lua) runs some.
#
# Needs root (it starts the cluster and submits on behalf of sov-alice, whom it creates with
# group oncology if missing) and `make build`.
set -euo pipefail

top="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-${top}/build}"
rounds=3 jobs=3000 threads=4 queued=0 idle=0 pairs=0
variant_list="none,sovereign,lua"
base="/tmp/sovereign-controller-cost"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --queued) queued="$2"; shift 2 ;;
    --idle) idle="$2"; shift 2 ;;
    --pairs) pairs="$2"; shift 2 ;;
    --variants) variant_list="$2"; shift 2 ;;
    --dir) base="$2"; shift 2 ;;
    *) echo "controller_cost: unknown argument $1" >&2; exit 2 ;;
  esac
done
mc="${top}/scripts/minicluster"
load="${build}/bench/submit_load"
for bin in "${load}" "${build}/src/daemon/sovereignd" \
           "${build}/plugins/job_submit/job_submit_sovereign.so"; do
  [[ -x "${bin}" || -f "${bin}" ]] || { echo "controller_cost: ${bin} is missing: run make build" >&2; exit 2; }
done
getent group oncology >/dev/null || groupadd oncology
id sov-alice >/dev/null 2>&1 || useradd --no-create-home --shell /bin/sh -G oncology sov-alice

daemon_pid=""
stop_all() {
  local dir="$1"
  if [[ -n "${daemon_pid}" ]] && kill -0 "${daemon_pid}" 2>/dev/null; then
    kill -TERM "${daemon_pid}"
    wait "${daemon_pid}" 2>/dev/null || true
  fi
  daemon_pid=""
  "${mc}" down --dir "${dir}" >/dev/null 2>&1 || true
}

# Brings up variant $1 in $2; on return the cluster accepts labelled jobs.
up() {
  local variant="$1" dir="$2"
  rm -rf "${dir}"
  mkdir -p "${dir}"
  case "${variant}" in
    none) "${mc}" up --dir "${dir}" >/dev/null ;;
    lua) SOVEREIGN_JOB_SUBMIT_LUA="${top}/bench/job_submit_router.lua" "${mc}" up --dir "${dir}" >/dev/null ;;
    sovereign)
      SOVEREIGN_PLUGIN_DIR="${build}/plugins/job_submit" "${mc}" up --dir "${dir}" >/dev/null
      local state="${dir}/sovereignd"
      mkdir -p "${state}"
      cp "${top}/config/register.example.yaml" "${state}/register.yaml"
      cat >"${state}/sovereignd.yaml" <<EOF
socket:
  path: ${state}/sovereignd.sock
register:
  path: ${state}/register.yaml
  history_database: ${state}/registers.db
audit:
  database: ${state}/audit.db
  signing_key: ${state}/audit-signing.pem
slurm:
  slurm_conf: ${dir}/etc/slurm.conf
  snapshot: ${dir}/sovereign/snapshot
  spool: ${dir}/sovereign/spool
  max_cluster_age: 2m
EOF
      "${build}/src/daemon/sovereignd" --config "${state}/sovereignd.yaml" \
        >>"${state}/sovereignd.log" 2>&1 </dev/null &
      daemon_pid=$!
      ;;
  esac
  eval "$("${mc}" env --dir "${dir}")"
  # Wait for the event, not a time: the first labelled job accepted (the plugin has read
  # sovereignd's first snapshot). At most 100 tries.
  local ok=0
  for _ in $(seq 100); do
    if "${load}" --jobs 1 --threads 1 --user sov-alice --comment dataset:patients-eu \
         >/dev/null 2>&1; then
      ok=1
      break
    fi
    sleep 0.1
  done
  [[ "${ok}" == 1 ]] || { echo "controller_cost: ${variant}: no job accepted" >&2; exit 1; }
  if [[ "${queued}" -gt 0 ]]; then
    "${load}" --jobs "${queued}" --threads "${threads}" --user sov-alice \
      --comment dataset:patients-eu >/dev/null
  fi
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# CPU ticks (user + system) of PID $1 so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A rate cpu
IFS=, read -r -a variants <<<"${variant_list}"
for v in "${variants[@]}"; do
  [[ "${v}" == none || "${v}" == sovereign || "${v}" == lua ]] ||
    { echo "controller_cost: unknown variant \"${v}\" (none, sovereign, lua)" >&2; exit 2; }
done
nv=${#variants[@]}
printf '%-6s %-10s %10s %14s\n' round variant jobs/s "ctld us/job"
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < nv; k++)); do
    v="${variants[$(((r + k) % nv))]}"
    dir="${base}/${v}"
    up "${v}" "${dir}"
    pid="$(cat "${dir}/pids/slurmctld")"
    line="$("${load}" --jobs "${jobs}" --threads "${threads}" --user sov-alice \
              --comment dataset:patients-eu --slurmctld-pid "${pid}" | grep '^RESULT')"
    if [[ "${idle}" -gt 0 ]]; then
      if [[ "${v}" == sovereign ]]; then
        # Idle means the spool has reached the audit log: wait for that (at most 5 minutes).
        for _ in $(seq 3000); do
          "${build}/src/cli/sovereignctl" --socket "${dir}/sovereignd/sovereignd.sock" status \
            2>/dev/null | grep -q '^spool: *0 bytes waiting' && break
          sleep 0.1
        done
      fi
      c0="$(ticks "${pid}")"
      d0=0
      [[ -n "${daemon_pid}" ]] && d0="$(ticks "${daemon_pid}")"
      sleep "${idle}"  # the measurement window itself
      c1="$(ticks "${pid}")"
      d1=0
      [[ -n "${daemon_pid}" ]] && d1="$(ticks "${daemon_pid}")"
      hz="$(getconf CLK_TCK)"
      awk -v v="${v}" -v c="$((c1 - c0))" -v d="$((d1 - d0))" -v s="${idle}" -v hz="${hz}" \
        'BEGIN {printf "       %-10s idle %ss: slurmctld %.1f%% of a core, sovereignd %.1f%%\n", v, s, 100 * c / hz / s, 100 * d / hz / s}'
      if [[ -n "${daemon_pid}" && "${pairs}" -gt 0 ]]; then
        # Same cluster, same queue: windows with sovereignd running, then stopped.
        with=() without=() daemon=()
        for ((p = 0; p < pairs; p++)); do
          c0="$(ticks "${pid}")"; d0="$(ticks "${daemon_pid}")"
          sleep "${idle}"
          c1="$(ticks "${pid}")"; d1="$(ticks "${daemon_pid}")"
          kill -STOP "${daemon_pid}"
          c2="$(ticks "${pid}")"
          sleep "${idle}"
          c3="$(ticks "${pid}")"
          kill -CONT "${daemon_pid}"
          with+=("$(awk -v c="$((c1 - c0))" -v s="${idle}" -v hz="${hz}" 'BEGIN {printf "%.2f", 100 * c / hz / s}')")
          without+=("$(awk -v c="$((c3 - c2))" -v s="${idle}" -v hz="${hz}" 'BEGIN {printf "%.2f", 100 * c / hz / s}')")
          daemon+=("$(awk -v c="$((d1 - d0))" -v s="${idle}" -v hz="${hz}" 'BEGIN {printf "%.2f", 100 * c / hz / s}')")
          printf '       pair %d: slurmctld %s%% with sovereignd, %s%% with it stopped; sovereignd %s%%\n' \
            "$((p + 1))" "${with[$p]}" "${without[$p]}" "${daemon[$p]}"
        done
        printf '       medians over %d pairs of %ss: slurmctld %s%% with, %s%% without; sovereignd %s%%\n' \
          "${pairs}" "${idle}" "$(printf '%s\n' "${with[@]}" | median)" \
          "$(printf '%s\n' "${without[@]}" | median)" "$(printf '%s\n' "${daemon[@]}" | median)"
      fi
      if [[ -n "${daemon_pid}" ]]; then
        # sovereignd's memory at the end of the window, and its peak.
        awk '/^VmRSS|^VmHWM|^RssAnon/ {m[$1] = $2 / 1024}
             END {printf "       sovereignd RSS %.1f MB (anonymous %.1f MB, peak %.1f MB)\n", m["VmRSS:"], m["RssAnon:"], m["VmHWM:"]}' \
          "/proc/${daemon_pid}/status"
      fi
    fi
    stop_all "${dir}"
    rate["${r},${v}"]="$(sed 's/.* rate=\([0-9.]*\).*/\1/' <<<"${line}")"
    cpu["${r},${v}"]="$(sed 's/.* ctld_cpu_us=\([0-9.-]*\).*/\1/' <<<"${line}")"
    printf '%-6s %-10s %10s %14s\n' "$((r + 1))" "${v}" "${rate["${r},${v}"]}" "${cpu["${r},${v}"]}"
  done
done

echo
echo "medians over ${rounds} rounds of each round's ratio to none (${jobs} jobs, ${threads} threads, ${queued} queued first):"
for v in sovereign lua; do
  [[ " ${variants[*]} " == *" ${v} "* && " ${variants[*]} " == *" none "* ]] || continue
  rr="$(for ((r = 0; r < rounds; r++)); do
          awk -v a="${rate["${r},${v}"]}" -v b="${rate["${r},none"]}" 'BEGIN {printf "%.3f\n", a / b}'
        done | median)"
  cr="$(for ((r = 0; r < rounds; r++)); do
          awk -v a="${cpu["${r},${v}"]}" -v b="${cpu["${r},none"]}" 'BEGIN {printf "%.3f\n", a / b}'
        done | median)"
  printf '  %-10s rate %.2f of none; slurmctld CPU per job %.2fx none\n' "${v}" "${rr}" "${cr}"
done
rm -rf "${base}"
