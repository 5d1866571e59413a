#!/usr/bin/env bash
# Installs rotor's build and test dependencies from Debian's archive.
# Idempotent: prints nothing and touches nothing when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format clang-tidy
  libcaf-dev            # CAF 0.17 actors
  android-libboringssl-dev  # BoringSSL (crypto)
  liblmdb-dev lmdb-utils    # embedded store
  libcli11-dev          # CLI parsing
  libyaml-cpp-dev       # fleet files
  nlohmann-json3-dev    # JSON in the app layer (status, logs)
  libgtest-dev libgmock-dev libbenchmark-dev
  openssl               # independent checks in tests (never linked into rotor)
  gnutls-bin            # certtool: a second, independent X.509 parser in tests
  gdb                   # gcore: the key-hygiene test searches a core dump of the daemon
  clang libclang-rt-14-dev  # make fuzz (libFuzzer) and the sanitizer runtimes
  ca-certificates       # /etc/ssl/certs: real-world input for the import tests
  jq                    # JSON checks in the import e2e test
  python3
  librdkafka-dev        # rotor-relay only (it loads OpenSSL 3; rotor never does)
  kcat                  # a third-party Kafka consumer in tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm for the kafkajs consumer in tests (any install will do:
# Debian's packages only when none is on the PATH).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kafkajs, pinned by tests/kafka/package-lock.json, into tests/kafka/node_modules.
kafka_tests="$(cd "$(dirname "$0")/.." && pwd)/tests/kafka"
if [ ! -f "$kafka_tests/node_modules/kafkajs/package.json" ]; then
  echo "install-deps: npm ci in tests/kafka (kafkajs)" >&2
  (cd "$kafka_tests" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
