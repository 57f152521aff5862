# sovereign-prolog's cost per job start against a fork+exec of /bin/true, on a real mini cluster
# (tests/e2e's fixture); included by bench/CMakeLists.txt. The smoke test makes a few starts of
# each variant, and fails if any start of sovereign-prolog is refused.
add_executable(prolog_bench prolog_bench.cc)
target_link_libraries(prolog_bench PRIVATE sovereign_test_support sovereign_slurm_loops
                      sovereign_register absl::strings benchmark::benchmark)
add_dependencies(prolog_bench sovereign-prolog job_submit_sovereign sovereign_spank)
target_compile_definitions(prolog_bench PRIVATE
  SOVEREIGN_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  SOVEREIGN_SPANK_SO="$<TARGET_FILE:sovereign_spank>"
  SOVEREIGN_PLUGIN_DIR="$<TARGET_FILE_DIR:job_submit_sovereign>"
  SOVEREIGN_PROLOG_PATH="$<TARGET_FILE:sovereign-prolog>")
add_test(NAME prolog_bench_smoke
         COMMAND prolog_bench --prolog_starts=5 --benchmark_repetitions=2)
# It brings up a cluster on the machine's two cores, like the e2e tests: one at a time.
set_tests_properties(prolog_bench_smoke PROPERTIES LABELS bench-smoke TIMEOUT 300 RUN_SERIAL TRUE)
