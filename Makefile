# rotor — top-level entry points. `make run` and `make test` are the quick start.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DATA_DIR ?= ./rotor-data
CONFIG ?= examples/quickstart.yaml

.PHONY: all deps configure build run test test-long test-asan test-tsan test-sanitize fuzz bench bench-relay lint clean

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

# Sanitizer suites: the same tests, built into their own directories.
# ASan+UBSan: every test (CI runs it) but e2e_crash, whose 6-second lifetimes
# run out under ASan's slowdown on a busy machine (make test runs it).
# e2e_quickstart runs on its own afterwards (its 10,516 identities would
# compete with the rest for the 2 cores). Its one CI failure under ASan, an
# identity quarantined, was the control socket narrowing the process umask
# while identity directories were created (fixed; tests/unit/control_test.cc).
# TSan:
# every test labelled concurrent (batch workers and the crypto pool, the
# store's writer and its second-process sink writer, the journal, the
# delivery sink beside the verifier, the credential stack, and the actor
# runtime: RuntimeTest, e2e_operator, e2e_hooks). Debian's CAF is not
# instrumented, so the TSan tree links CAF 0.17.6 built from Debian's source
# package with -fsanitize=thread into $(BUILD_DIR)-tsan/caf-tsan
# (scripts/build-caf-tsan.sh: fetched and built once, about 12 minutes on 2 busy
# cores); tests/sanitizers/tsan.supp says why nothing is suppressed.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp:print_suppressions=0 \
	TSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/tsan.supp:halt_on_error=1:second_deadlock_stack=1:history_size=4

test-asan: deps
	@cmake -S . -B $(BUILD_DIR)-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROTOR_SANITIZE=address,undefined >/dev/null
	@cmake --build $(BUILD_DIR)-asan -j $(JOBS)
	@cd $(BUILD_DIR)-asan && $(SAN_ENV) ctest --output-on-failure -j $(JOBS) --timeout 1200 -LE long -E '^e2e_(crash|quickstart)$$'
	@cd $(BUILD_DIR)-asan && $(SAN_ENV) ctest --output-on-failure --timeout 1200 -R '^e2e_quickstart$$'

test-tsan: deps
	@JOBS=$(JOBS) bash scripts/build-caf-tsan.sh $(BUILD_DIR)-tsan/caf-tsan
	@cmake -S . -B $(BUILD_DIR)-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROTOR_SANITIZE=thread \
	  -DROTOR_CAF_PREFIX=$(abspath $(BUILD_DIR)-tsan/caf-tsan) >/dev/null
	@cmake --build $(BUILD_DIR)-tsan -j $(JOBS)
	@cd $(BUILD_DIR)-tsan && $(SAN_ENV) ctest --output-on-failure -j $(JOBS) --timeout 1200 -L concurrent

# libFuzzer targets (clang), FUZZ_SECONDS each (default 60): scripts/fuzz.sh.
fuzz: deps
	@bash scripts/fuzz.sh $(BUILD_DIR)-fuzz

# The import scanner under AddressSanitizer and UBSan, fed thousands of damaged
# copies of every import fixture and of the system trust store ($(BUILD_DIR)-asan/).
test-sanitize: deps
	@cmake -S . -B $(BUILD_DIR)-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROTOR_SANITIZE=address,undefined >/dev/null
	@cmake --build $(BUILD_DIR)-asan -j $(JOBS) --target cert_scan_mutation
	@rm -rf $(BUILD_DIR)-asan/import-fixtures && bash tests/data/import/make_fixtures.sh $(BUILD_DIR)-asan/import-fixtures >/dev/null
	@$(BUILD_DIR)-asan/tests/cert_scan_mutation $(BUILD_DIR)-asan/import-fixtures/in/* /etc/ssl/certs/*.pem

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
