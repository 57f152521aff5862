# sovereign: the few commands a developer, a CI job or a visitor needs.
#
#   make demo       where would these jobs run and why (sovereignctl explain, offline), then a
#                   real three-region Slurm cluster with sovereignd: jobs placed and refused,
#                   the audit trail verified (needs root; make demo-down stops it)
#   make demo-explain  the offline explain tour only
#   make test       build, then the whole suite: unit, golden, integration (a real sovereignd),
#                   e2e (a real Slurm cluster on this machine), benchmark smoke runs; and the
#                   fuzz tree (build-fuzz/), whose every target fuzzes for 10 s
#   make fuzz       build the fuzz tree (clang, libFuzzer + ASan + UBSan, tests/fuzz/), then
#                   run every fuzz target for FUZZ_SECONDS; docs/reliability.md says what each
#                   covers and what to do with a failing input
#   make test-fast  build, then the unit tests only (seconds)
#   make test-asan  build the AddressSanitizer + UndefinedBehaviorSanitizer tree (build-asan/,
#                   CMakePresets.json), then its unit, golden, integration and e2e tests; the
#                   mini cluster's slurmctld, slurmd and sbatch preload the ASan runtime to load
#                   our plugins, and any report of theirs fails the test (docs/reliability.md)
#   make test-tsan  build the ThreadSanitizer tree (build-tsan/), then the tests of sovereignd
#                   and of what it runs on its threads (CTest label `daemon`: unit tests of the
#                   daemon, worker, audit log, spool and snapshot, and the integration tests)
#   make bench      build, then every benchmark with the settings docs/benchmarks.md quotes,
#                   one after the other (an hour or so; needs root for the controller runs):
#                   figures in build/bench-results/<date>/ (BENCH_ARGS: --quick, --only NAME)
#   make deps       install the missing Debian packages (scripts/debian-packages.txt)
#   make build      configure (CMake + Ninja, in build/) and build everything
#   make format     clang-format every C++ file in git
#   make clean      remove build/, build-fuzz/, build-asan/ and build-tsan/
#
# Variables: BUILD_DIR (build), BUILD_TYPE (RelWithDebInfo), JOBS (2: parallel compile jobs
# and tests; e2e tests always run one at a time), CMAKE_ARGS (extra configure options, used
# when build/ is first configured), FUZZ_DIR (build-fuzz), FUZZ_SECONDS (300: how long
# `make fuzz` runs each fuzz target; `make test` runs each for 10), FUZZ_CMAKE_ARGS (extra
# configure options of the fuzz tree, used when it is first configured), SANITIZER_CMAKE_ARGS
# (the same for build-asan/ and build-tsan/, e.g. -DCMAKE_CXX_COMPILER_LAUNCHER=ccache).

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2
CMAKE_ARGS ?=
BENCH_ARGS ?=
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_CMAKE_ARGS ?=
SANITIZER_CMAKE_ARGS ?=
# A fuzz test runs this long: ctest stops one that runs much longer than its fuzzing time.
fuzz_test_timeout = $(shell echo $$(( $(1) + 300 )))

.PHONY: all deps configure build test test-fast bench demo demo-explain demo-down format clean \
        fuzz fuzz-build test-asan test-tsan

all: build

deps:
	@scripts/deps.sh

# Ninja re-runs CMake by itself when a CMakeLists.txt changes.
$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build fuzz-build
	SOVEREIGN_FUZZ_SECONDS=10 ctest --test-dir $(FUZZ_DIR) --output-on-failure -j $(JOBS) \
	  -L fuzz --timeout $(call fuzz_test_timeout,10)
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

test-fast: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L unit

# The fuzz tree: clang, only the fuzz targets and the libraries they reach (cmake/fuzz.cmake).
$(FUZZ_DIR)/build.ninja:
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DSOVEREIGN_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ $(FUZZ_CMAKE_ARGS)

fuzz-build: deps $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) -j $(JOBS)

fuzz: fuzz-build
	SOVEREIGN_FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --test-dir $(FUZZ_DIR) --output-on-failure \
	  -j $(JOBS) -L fuzz --timeout $(call fuzz_test_timeout,$(FUZZ_SECONDS))

# The sanitizer trees, each configured by its preset (CMakePresets.json, cmake/sanitizers.cmake).
# A report stops the process that hit it (ASan, UBSan: -fno-sanitize-recover; TSan:
# halt_on_error): the test fails. ASan also checks for leaks at every sanitized program's exit;
# tests/sanitizers/lsan.supp names the one libslurm leak its callers cannot free.
build-asan/build.ninja:
	cmake --preset asan $(SANITIZER_CMAKE_ARGS)

test-asan: deps build-asan/build.ninja
	cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp \
	  ctest --test-dir build-asan --output-on-failure -j $(JOBS) \
	  -L '^(unit|golden|integration|e2e)$$'

build-tsan/build.ninja:
	cmake --preset tsan $(SANITIZER_CMAKE_ARGS)

# Debian's gRPC and abseil are not built with TSan: reports of interceptors called from inside
# them are dropped, and tests/sanitizers/tsan.supp lists the few of their own hand-overs it
# would still report, each with why.
tsan_options = halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:$\
  suppressions=$(CURDIR)/tests/sanitizers/tsan.supp

test-tsan: deps build-tsan/build.ninja
	cmake --build build-tsan -j $(JOBS) --target sovereign_daemon_tests
	TSAN_OPTIONS=$(tsan_options) ctest --test-dir build-tsan --output-on-failure -j $(JOBS) \
	  -L '^daemon$$'

bench: build
	@BUILD_DIR=$(BUILD_DIR) scripts/bench.sh $(BENCH_ARGS)

demo: build
	@BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) scripts/demo.sh

# The explain tour alone builds only sovereignctl.
demo-explain: deps
	@BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) scripts/demo.sh explain

demo-down:
	@BUILD_DIR=$(BUILD_DIR) scripts/demo.sh down

format:
	@command -v clang-format >/dev/null || { \
	  echo "make format: clang-format not found (Debian: apt-get install clang-format)" >&2; \
	  exit 2; }
	git ls-files -z '*.cc' '*.h' | xargs -0 clang-format -i --style=file

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR) build-asan build-tsan
