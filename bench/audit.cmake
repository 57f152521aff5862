# The audit log benchmark and load generator (bench/audit_bench.cc). Small sizes in the smoke
# test: it only proves that every benchmark still runs.
sovereign_bench(audit_bench SOURCES ${CMAKE_CURRENT_LIST_DIR}/audit_bench.cc
                LIBS sovereign_audit SQLite::SQLite3 absl::strings absl::str_format absl::time
                SMOKE_ARGS --audit_records=2000)
