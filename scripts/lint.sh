#!/usr/bin/env bash
# clang-tidy over rotor's own sources (checks in .clang-tidy, warnings are
# errors) and the clang-format check. Needs a configured build directory for
# compile_commands.json: `make lint` configures one first.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -f "$build/compile_commands.json" ] || { echo "lint: no $build/compile_commands.json (run make build)" >&2; exit 1; }
bash tests/layering/check_format.sh
mapfile -t files < <(git ls-files 'app/*.cc' 'actors/*.cc' 'connectors/*.cc' 'engine/*.cc')
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet --extra-arg=-Wno-unknown-warning-option
echo "lint: clang-tidy clean on ${#files[@]} sources"
