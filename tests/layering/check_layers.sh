#!/usr/bin/env bash
# Enforces ARCHITECTURE §2: actors -> engine <- connectors, only app/ wires.
#   engine/      includes only the C and C++ standard libraries and engine/ itself
#   connectors/X includes engine/, its own connectors/X/, system headers and
#                its own third-party library, never another connector or an actor
#   actors/      includes engine/, actors/ and CAF, never a connector
# Usage: check_layers.sh [SOURCE_DIR]   (default: the tree this script is in)
#        check_layers.sh --self-test    (proves the check catches violations)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

check_tree() {
  local root=$1 bad=0 f inc
  # engine/: <name> with no '/' or '.' is a standard library header; anything
  # else in angle brackets is third-party or platform, and not allowed.
  while IFS= read -r line; do
    f=${line%%:*}
    inc=$(sed -E 's/^[^:]*:[0-9]+:\s*#\s*include\s*//; s/\s*\/\/.*$//; s/\s+$//' <<<"$line")
    case "$inc" in
      \<*\>)
        local name=${inc#<}
        name=${name%>}
        # The C library is not third-party: allow the few libc headers in use.
        if [[ ! "$name" =~ ^[a-z_]+$ && "$name" != string.h ]]; then
          echo "layering: $f includes $inc: engine/ may include only the C++ standard library" >&2
          bad=1
        fi
        ;;
      \"engine/*\") ;;
      *)
        echo "layering: $f includes $inc: engine/ may include only engine/ headers" >&2
        bad=1
        ;;
    esac
  done < <(grep -rnE '^\s*#\s*include' "$root/engine" --include='*.h' --include='*.cc' || true)

  local dir name
  for dir in "$root"/connectors/*/; do
    name=$(basename "$dir")
    while IFS= read -r line; do
      f=${line%%:*}
      inc=$(sed -E 's/^[^:]*:[0-9]+:\s*#\s*include\s*//; s/\s*\/\/.*$//; s/\s+$//' <<<"$line")
      case "$inc" in
        \"engine/*\" | \"connectors/$name/*\" | \<*\>) ;;
        *)
          echo "layering: $f includes $inc: a connector includes only engine/ and itself" >&2
          bad=1
          ;;
      esac
    done < <(grep -rnE '^\s*#\s*include\s*"' "$dir" --include='*.h' --include='*.cc' || true)
  done

  while IFS= read -r line; do
    f=${line%%:*}
    inc=$(sed -E 's/^[^:]*:[0-9]+:\s*#\s*include\s*//; s/\s*\/\/.*$//; s/\s+$//' <<<"$line")
    case "$inc" in
      \"engine/*\" | \"actors/*\" | \<*\>) ;;
      *)
        echo "layering: $f includes $inc: actors/ includes only engine/ and actors/" >&2
        bad=1
        ;;
    esac
  done < <(grep -rnE '^\s*#\s*include\s*"' "$root/actors" --include='*.h' --include='*.cc' || true)

  # The public header of actors/ must not leak CAF to app/.
  if grep -nE '^\s*#\s*include\s*<caf/' "$root/actors/runtime.h" >/dev/null; then
    echo "layering: actors/runtime.h exposes CAF" >&2
    bad=1
  fi
  return $bad
}

if [ "${1:-}" = "--self-test" ]; then
  src=$(cd "$here/../.." && pwd)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for violation in 'engine/x.h:#include <caf/all.hpp>' 'engine/x.h:#include <openssl/sha.h>' \
    'engine/x.h:#include <lmdb.h>' 'engine/x.h:#include "connectors/crypto/random.h"' \
    'connectors/files/x.cc:#include "connectors/embedded/lmdb_state_store.h"' \
    'connectors/files/x.cc:#include "actors/runtime.h"' 'actors/x.cc:#include "connectors/crypto/random.h"'; do
    rm -rf "$tmp/tree"
    mkdir -p "$tmp/tree"
    cp -r "$src/engine" "$src/connectors" "$src/actors" "$tmp/tree/"
    file=${violation%%:*}
    echo "${violation#*:}" >>"$tmp/tree/$file"
    if check_tree "$tmp/tree" 2>/dev/null; then
      echo "self-test: the check missed: $violation" >&2
      exit 1
    fi
  done
  check_tree "$src" || { echo "self-test: the real tree does not pass" >&2; exit 1; }
  echo "layering self-test: 7 planted violations caught, the real tree passes"
  exit 0
fi

check_tree "${1:-$(cd "$here/../.." && pwd)}"
echo "layering: OK"
