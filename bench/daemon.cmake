# sovereignd (a real process) over gRPC: serial latency and throughput at 1/4/16 clients, with the audit log in
# sync normal, full, and off; included by bench/CMakeLists.txt. Smoke-run with a short minimum
# time under the bench-smoke label.
add_executable(daemon_bench daemon_bench.cc)
target_link_libraries(daemon_bench PRIVATE sovereign_proto sovereign_placement
                      benchmark::benchmark)
target_compile_definitions(daemon_bench PRIVATE SOVEREIGN_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                                SOVEREIGND_PATH="$<TARGET_FILE:sovereignd>")
add_dependencies(daemon_bench sovereignd)
add_test(NAME daemon_bench_smoke COMMAND daemon_bench --benchmark_min_time=0.01)
set_tests_properties(daemon_bench_smoke PROPERTIES LABELS bench-smoke TIMEOUT 300)

# The energy report's read of the audit log (bench/energy_report_bench.cc), per ended job, beside
# reading the outcomes alone.
sovereign_bench(energy_report_bench SOURCES ${CMAKE_CURRENT_LIST_DIR}/energy_report_bench.cc
                LIBS sovereign_records sovereign_audit absl::strings absl::time
                SMOKE_ARGS --energy_jobs=500)
