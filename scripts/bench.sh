#!/usr/bin/env bash
# bench.sh (make bench): every benchmark with the settings docs/benchmarks.md quotes, one after
# the other (never two at once: they share the machine's cores and each measures its own
# baseline in the same run). Each benchmark's output goes to OUT/NAME.txt, headed by the
# command that produced it and the machine's load; Google Benchmark programs also write
# OUT/NAME.json, with the commit in its context, and decide's figures are drawn in
# OUT/decide.svg (scripts/plot-decide.py). A summary at the end says which ran and which
# failed; the exit status is 1 when any failed, its plot included.
#
# Usage: scripts/bench.sh [--quick] [--only NAME[,NAME...]] [--out DIR] [--list]
#   --quick  the smoke budgets (seconds per benchmark instead of minutes)
#   --only   run only these (names as --list prints them)
#   --out    results folder (default BUILD_DIR/bench-results/<UTC date and time>)
#   --list   print the benchmarks' names and commands, run nothing
# Environment: BUILD_DIR (build). controller* start mini Slurm clusters and need root.
set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${BUILD_DIR:-${top}/build}" && pwd)"
quick=0
only=""
out=""
list=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --only) only="${2:?--only needs a list of names}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --list) list=1; shift ;;
    *) echo "bench: unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
[[ -n "${out}" ]] || out="${build}/bench-results/$(date -u +%Y%m%d-%H%M%S)"
b="${build}/bench"
plugin="${build}/plugins/job_submit/job_submit_sovereign.so"
scratch="${out}/scratch"
commit="$(git -C "${top}" rev-parse --short HEAD 2>/dev/null || echo unknown)"

# Each benchmark: its name, whether it is a Google Benchmark program (then it also writes
# JSON), its full command and its --quick command. Commands run from the source folder.
names=() kinds=() fulls=() quicks=()
add() { names+=("$1"); kinds+=("$2"); fulls+=("$3"); quicks+=("$4"); }
add decide gbench "${b}/decide_bench --benchmark_min_time=0.2" \
  "${b}/decide_bench --benchmark_min_time=0.01"
add plugin plain "${b}/plugin_latency --plugin ${plugin}" \
  "${b}/plugin_latency --plugin ${plugin} --calls 200"
add plugin_green plain "${b}/plugin_latency --plugin ${plugin} --green-window 6h" \
  "${b}/plugin_latency --plugin ${plugin} --green-window 6h --calls 200"
add plugin_fdatasync plain "${b}/plugin_latency --plugin ${plugin} --fdatasync --calls 2000" \
  "${b}/plugin_latency --plugin ${plugin} --fdatasync --calls 100"
add daemon gbench "${b}/daemon_bench --benchmark_min_time=0.5" \
  "${b}/daemon_bench --benchmark_min_time=0.01"
add audit_append gbench "${b}/audit_bench --benchmark_filter=insert_baseline|^append --benchmark_min_time=0.5" \
  "${b}/audit_bench --benchmark_filter=insert_baseline|^append --benchmark_min_time=0.01"
add audit_verify gbench "${b}/audit_bench --audit_records=100000 --benchmark_filter=^verify" \
  "${b}/audit_bench --audit_records=2000 --benchmark_filter=^verify --benchmark_min_time=0.01"
add ingest plain "${b}/ingest_bench --records=2000 --rounds=5" \
  "${b}/ingest_bench --records=300 --rounds=2"
add energy_report gbench "${b}/energy_report_bench --energy_jobs=50000" \
  "${b}/energy_report_bench --energy_jobs=500 --benchmark_min_time=0.01"
add prolog gbench "${b}/prolog_bench" "${b}/prolog_bench --benchmark_min_time=0.01"
add controller plain "${top}/bench/controller_cost.sh --rounds 3 --jobs 3000 --dir ${scratch}/controller" \
  "${top}/bench/controller_cost.sh --rounds 1 --jobs 200 --dir ${scratch}/controller"
add controller_queued plain \
  "${top}/bench/controller_cost.sh --rounds 3 --jobs 2000 --queued 30000 --idle 60 --dir ${scratch}/controller-queued" \
  "${top}/bench/controller_cost.sh --rounds 1 --jobs 100 --queued 500 --idle 2 --dir ${scratch}/controller-queued"

if [[ -n "${only}" ]]; then
  IFS=, read -r -a wanted <<<"${only}"
  for w in "${wanted[@]}"; do
    [[ " ${names[*]} " == *" ${w} "* ]] ||
      { echo "bench: no benchmark named \"${w}\" (there are: ${names[*]})" >&2; exit 2; }
  done
fi
selected() { [[ -z "${only}" || ",${only}," == *",$1,"* ]]; }
command_of() { if [[ "${quick}" == 1 ]]; then echo "${quicks[$1]}"; else echo "${fulls[$1]}"; fi; }

if [[ "${list}" == 1 ]]; then
  for i in "${!names[@]}"; do
    selected "${names[$i]}" && printf '%-18s %s\n' "${names[$i]}" "$(command_of "$i")"
  done
  exit 0
fi
for i in "${!names[@]}"; do
  exe="$(command_of "$i")"
  exe="${exe%% *}"
  [[ -x "${exe}" ]] || { echo "bench: ${exe} is missing: run make build" >&2; exit 2; }
done

# After a benchmark has run: decide's figures drawn beside its JSON, the plot's messages in its
# output.
after() {
  [[ "$1" == decide ]] || return 0
  python3 scripts/plot-decide.py "${out}/decide.json" -o "${out}/decide.svg" >>"${out}/decide.txt" 2>&1
}

mkdir -p "${out}" "${scratch}"
cd "${top}"
passed=()
failed=()
for i in "${!names[@]}"; do
  name="${names[$i]}"
  selected "${name}" || continue
  cmd="$(command_of "$i")"
  args=()
  read -r -a args <<<"${cmd}"
  if [[ "${kinds[$i]}" == gbench ]]; then
    args+=("--benchmark_out=${out}/${name}.json" "--benchmark_out_format=json"
           "--benchmark_context=commit=${commit}")
  fi
  {
    echo "# ${cmd}"
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), git ${commit}"
  } >"${out}/${name}.txt"
  echo "bench: ${name}: ${cmd}"
  start=$(date +%s)
  if (cd "${scratch}" && BUILD_DIR="${build}" "${args[@]}") >>"${out}/${name}.txt" 2>&1 &&
    after "${name}"; then
    passed+=("${name} ($(($(date +%s) - start)) s)")
  else
    failed+=("${name}")
    echo "bench: ${name} failed; its output: ${out}/${name}.txt" >&2
    tail -5 "${out}/${name}.txt" | sed 's/^/  /' >&2
  fi
done
rm -rf "${scratch}"

echo "bench: figures in ${out}"
for p in "${passed[@]}"; do echo "  ok      ${p}"; done
for f in "${failed[@]+"${failed[@]}"}"; do echo "  FAILED  ${f}"; done
[[ ${#failed[@]} -eq 0 ]]
