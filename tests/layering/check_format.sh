#!/usr/bin/env bash
# Every C++ source follows .clang-format (STYLE.md: Google style, 120 columns).
# Fix with: git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
command -v clang-format >/dev/null || { echo "check_format: clang-format is not installed" >&2; exit 1; }
mapfile -t files < <(find app actors bench connectors engine tests -name '*.cc' -o -name '*.h' | sort)
[ "${#files[@]}" -gt 50 ] || { echo "check_format: found only ${#files[@]} sources" >&2; exit 1; }
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ "${#bad[@]}" -gt 0 ]; then
  echo "check_format: ${#bad[@]} files differ from .clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} sources formatted"
