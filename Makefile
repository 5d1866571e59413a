# rotor — top-level entry points. `make run` and `make test` are the quick start.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DATA_DIR ?= ./rotor-data
CONFIG ?= examples/quickstart.yaml

.PHONY: all deps configure build run test test-long test-sanitize bench lint clean

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

# The import scanner under AddressSanitizer and UBSan, fed thousands of damaged
# copies of every import fixture and of the system trust store (build-sanitize/).
test-sanitize: deps
	@cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROTOR_SANITIZE=address,undefined >/dev/null
	@cmake --build build-sanitize -j $(JOBS) --target cert_scan_mutation
	@rm -rf build-sanitize/import-fixtures && bash tests/data/import/make_fixtures.sh build-sanitize/import-fixtures >/dev/null
	@build-sanitize/tests/cert_scan_mutation build-sanitize/import-fixtures/in/* /etc/ssl/certs/*.pem

lint: build
	@bash scripts/lint.sh $(BUILD_DIR)

bench: build
	@$(BUILD_DIR)/bin/rotor_bench

clean:
	rm -rf $(BUILD_DIR)
