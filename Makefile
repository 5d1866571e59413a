# rotor — top-level entry points. `make run` and `make test` are the quick start.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DATA_DIR ?= ./rotor-data
CONFIG ?= examples/quickstart.yaml

.PHONY: all deps configure build run test test-long bench bench-relay lint clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Only the rotor binary: the first `make run` need not wait for the test suite to build.
run: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target rotor
	$(BUILD_DIR)/bin/rotor run --config $(CONFIG) --data-dir $(DATA_DIR)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600 -LE long

test-long: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L long

lint: build
	@bash scripts/lint.sh $(BUILD_DIR)

bench: build
	@$(BUILD_DIR)/bin/rotor_bench

clean:
	rm -rf $(BUILD_DIR)

# The Kafka relay's benchmarks: events/s acknowledged by delivery reports
# (against the journal sink, same run) and rotation throughput relay on vs off.
bench-relay: build
	@$(BUILD_DIR)/bin/rotor_relay_bench
	@bash bench/relay_cost.sh $(BUILD_DIR)
