# Every library and tool sovereign builds against, each beside the Debian package that provides
# it (scripts/debian-packages.txt; `make deps` installs them). All of them are required: the
# machine the README describes has them all, and a build without one of them would silently
# lack a part (the daemon, sovereignctl's online commands, a test label). A missing one stops
# the configure step with the package to install.

set(sovereign_install_hint
    "or run `make deps`, which installs every package in scripts/debian-packages.txt")

# sovereign_require(NAME DEBIAN_PACKAGE [find_package arguments...]): find_package(NAME ...), or
# stop with the Debian package that provides NAME. A macro, so that the variables and functions
# the package defines (protobuf_generate, ...) are the caller's.
macro(sovereign_require name debian_package)
  find_package(${name} ${ARGN} QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "sovereign needs ${name}, which was not found: install the Debian "
                        "package ${debian_package} (${sovereign_install_hint}).")
  endif()
endmacro()

# sovereign_require_program(VAR PROGRAM DEBIAN_PACKAGE): find_program, or stop.
function(sovereign_require_program var program debian_package)
  find_program(${var} ${program})
  if(NOT ${var})
    message(FATAL_ERROR "sovereign needs the program ${program}, which was not found: install "
                        "the Debian package ${debian_package} (${sovereign_install_hint}).")
  endif()
endfunction()

# sovereign_require_file(VAR FILE DEBIAN_PACKAGE [library]): a library (find_library) or a
# header (find_path), or stop.
function(sovereign_require_file var file debian_package kind)
  if(kind STREQUAL "library")
    find_library(${var} ${file})
  else()
    find_path(${var} ${file})
  endif()
  if(NOT ${var})
    message(FATAL_ERROR "sovereign needs ${file}, which was not found: install the Debian "
                        "package ${debian_package} (${sovereign_install_hint}).")
  endif()
endfunction()

# The code generators come first: gRPC's CMake package refers to grpc_cpp_plugin and fails
# with a message of its own when the plugin is missing.
sovereign_require_program(SOVEREIGN_PROTOC protoc protobuf-compiler)
sovereign_require_program(SOVEREIGN_GRPC_CPP_PLUGIN grpc_cpp_plugin protobuf-compiler-grpc)

sovereign_require(absl libabsl-dev CONFIG)
sovereign_require(Protobuf libprotobuf-dev)
sovereign_require(gRPC libgrpc++-dev CONFIG)
sovereign_require(spdlog libspdlog-dev CONFIG)
sovereign_require(nlohmann_json nlohmann-json3-dev CONFIG)
sovereign_require(yaml-cpp libyaml-cpp-dev CONFIG)
sovereign_require(CLI11 libcli11-dev CONFIG)
sovereign_require(SQLite3 libsqlite3-dev)
sovereign_require(OpenSSL libssl-dev)
sovereign_require(ZLIB zlib1g-dev)
# cpp-httplib: sovereignd's HTTP client for a Prometheus power exporter (NVIDIA's DCGM
# exporter), and the synthetic exporter of the tests. Debian ships it as a compiled library whose
# header must be built with the library's defines (SSL, zlib, brotli): pkg-config gives them.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
endif()
if(NOT HTTPLIB_FOUND)
  message(FATAL_ERROR "sovereign needs cpp-httplib, which was not found: install the Debian "
                      "packages libcpp-httplib-dev and pkg-config (${sovereign_install_hint}).")
endif()
find_package(Threads REQUIRED)  # the C library's, there with every compiler
sovereign_require(GTest libgtest-dev CONFIG)
if(NOT TARGET GTest::gmock)
  message(FATAL_ERROR "sovereign needs gmock, which was not found: install the Debian package "
                      "libgmock-dev (${sovereign_install_hint}).")
endif()
sovereign_require(benchmark libbenchmark-dev CONFIG)
# scripts/plot-decide.py (make bench's plot) and its test.
sovereign_require_program(SOVEREIGN_PYTHON3 python3 python3)

# Slurm: libslurm for the cluster reader and sovereign-prolog; its public headers (slurm.h,
# spank.h) for the plugins, which take Slurm's functions from the process that loads them.
sovereign_require_file(SLURM_LIBRARY slurm libslurm-dev library)
sovereign_require_file(SLURM_INCLUDE_DIR slurm/spank.h libslurm-dev header)
