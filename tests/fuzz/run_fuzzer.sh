#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: the CTest command of every fuzz.* test
# (tests/fuzz/CMakeLists.txt).
#
# Usage: run_fuzzer.sh FUZZER SEED_CORPUS WORK_DIR
#   SEED_CORPUS  the target's seeds in the source tree; read, never written
#   WORK_DIR     in the build tree: corpus/ (the inputs this and earlier runs found, which the
#                next run starts from) and artifacts/ (the input of a failure)
#
# Environment:
#   SOVEREIGN_FUZZ_SECONDS   how long to fuzz (default 10); `make fuzz` sets it from FUZZ_SECONDS
set -euo pipefail

[[ $# -eq 3 ]] || { echo "usage: run_fuzzer.sh FUZZER SEED_CORPUS WORK_DIR" >&2; exit 2; }
fuzzer="$1"
seeds="$2"
work="$3"
seconds="${SOVEREIGN_FUZZ_SECONDS:-10}"

mkdir -p "${work}/corpus" "${work}/artifacts"
status=0
# -timeout: one input running this long is a hang; -rss_limit_mb: a process this big is a
# memory blow-up. Either is a failure, as a crash, a leak or undefined behaviour is.
"${fuzzer}" -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="${work}/artifacts/" "${work}/corpus" "${seeds}" || status=$?
if [[ ${status} -ne 0 ]]; then
  echo "run_fuzzer: $(basename "${fuzzer}") failed (exit ${status}); the input is in" \
    "${work}/artifacts/: rerun it with $(basename "${fuzzer}") <file>" >&2
fi
exit "${status}"
