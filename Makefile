# sovereign: the two commands a new machine needs are `make demo` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2

.PHONY: all deps configure build test test-fast demo demo-down format clean

all: build

deps:
	@scripts/deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The whole suite: unit, golden, integration (real sovereignd), e2e (a real Slurm cluster on
# this machine) and the benchmark smoke runs. e2e tests run one at a time (RUN_SERIAL).
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# Unit tests only: seconds.
test-fast: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L unit

demo: build
	@scripts/demo.sh

demo-down:
	@scripts/demo.sh down

format:
	find include src plugins tests bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
