# job_submit() latency measured by dlopening the real plugin (a load generator, not Google
# Benchmark: it reports percentiles).
add_executable(plugin_latency plugin_latency.cc)
target_link_libraries(plugin_latency PRIVATE sovereign_snapshot ${SLURM_LIBRARY} ${CMAKE_DL_LIBS})
target_compile_definitions(plugin_latency PRIVATE SOVEREIGN_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(plugin_latency job_submit_sovereign)
add_test(NAME plugin_latency_smoke
         COMMAND plugin_latency --plugin $<TARGET_FILE:job_submit_sovereign> --calls 500)
set_tests_properties(plugin_latency_smoke PROPERTIES LABELS bench-smoke TIMEOUT 300)
add_test(NAME plugin_latency_green_smoke
         COMMAND plugin_latency --plugin $<TARGET_FILE:job_submit_sovereign> --calls 500
                 --green-window 6h)
set_tests_properties(plugin_latency_green_smoke PROPERTIES LABELS bench-smoke TIMEOUT 300)
