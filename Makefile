# sovereign: the few commands a developer, a CI job or a visitor needs.
#
#   make deps     install the missing Debian packages (scripts/debian-packages.txt)
#   make build    configure (CMake + Ninja, in build/) and build everything
#   make test     build, then run the whole test suite (unit, golden, e2e, bench smoke)
#   make demo     where would these jobs run, and why: sovereignctl explain on the example
#   make format   clang-format every C++ file in git
#   make clean    remove build/
#
# Variables: BUILD_DIR (build), BUILD_TYPE (RelWithDebInfo), JOBS (2: parallel compile jobs
# and tests; end-to-end tests always run one at a time), CMAKE_ARGS (extra configure options).

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2
CMAKE_ARGS ?=

.PHONY: all deps configure build test demo format clean

all: build

deps:
	@scripts/deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

demo: deps
	BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) scripts/demo.sh

format:
	@command -v clang-format >/dev/null || { \
	  echo "make format: clang-format not found (Debian: apt-get install clang-format)" >&2; \
	  exit 2; }
	git ls-files -z '*.cc' '*.h' | xargs -0 clang-format -i --style=file

clean:
	rm -rf $(BUILD_DIR)
