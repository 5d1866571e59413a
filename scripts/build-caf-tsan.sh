#!/usr/bin/env bash
# Builds CAF 0.17.6 (caf_core, caf_io) with -fsanitize=thread into PREFIX, for
# `make test-tsan`: Debian's libcaf is not instrumented, so ThreadSanitizer
# cannot see the ordering CAF's mailboxes and scheduler establish.
#
#   scripts/build-caf-tsan.sh PREFIX        (make test-tsan: build-tsan/caf-tsan)
#
# The source is Debian's own package, actor-framework 0.17.6-2.1 (the version
# of the installed libcaf-dev), fetched with apt-get source through a private
# sources list and private state under PREFIX/apt: the system's apt
# configuration is neither read for sources nor changed. apt checks the files
# against the signed Sources index. The archive this machine reaches serves the
# .dsc and the upstream tarball but not the Debian patch tarball
# (.debian.tar.xz); without it the upstream tarball is unpacked and what
# Debian's patches change in the build is redone here: C++14 instead of CAF's
# -std=c++11 (CMAKE_CXX_FLAGS below) and gcc 12's missing include
# (patch_source). The headers then equal the installed /usr/include/caf ones.
#
# Idempotent: downloads only when the tarball is missing, rebuilds only when
# this script or the compiler changed (PREFIX/.stamp), prints one line when
# there is nothing to do.
set -euo pipefail

VERSION=0.17.6
DEB_VERSION=0.17.6-2.1
ORIG=actor-framework_${VERSION}.orig.tar.gz
DSC=actor-framework_${DEB_VERSION}.dsc
SUITE=bookworm
ARCHIVE=http://deb.debian.org/debian

if [ $# -ne 1 ]; then
  echo "usage: $0 PREFIX" >&2
  exit 2
fi
mkdir -p "$1"
PREFIX="$(cd "$1" && pwd)"
CXX="${CXX:-c++}"
JOBS="${JOBS:-$(nproc)}"
SCRIPT="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

stamp="$(
  {
    sha256sum "$SCRIPT" | cut -d' ' -f1
    command -v "$CXX"
    "$CXX" --version | head -1
  } | sha256sum | cut -d' ' -f1
)"
if [ -f "$PREFIX/.stamp" ] && [ "$(cat "$PREFIX/.stamp")" = "$stamp" ] &&
  [ -f "$PREFIX/lib/libcaf_core.so.$VERSION" ] && [ -f "$PREFIX/lib/libcaf_io.so.$VERSION" ]; then
  echo "build-caf-tsan: CAF $VERSION with TSan is up to date in $PREFIX" >&2
  exit 0
fi

dl="$PREFIX/download"
apt_dir="$PREFIX/apt"
fetch_source() {
  mkdir -p "$dl" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $ARCHIVE $SUITE main" \
    >"$apt_dir/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o APT::Sandbox::User=root -qq)
  echo "build-caf-tsan: fetching actor-framework $DEB_VERSION from Debian's archive" >&2
  apt-get "${opts[@]}" update
  # The patch tarball may be missing from the archive (see the head of this
  # file): apt-get then fails after it has fetched and checked the others.
  if ! (cd "$dl" && apt-get "${opts[@]}" source --download-only "actor-framework=$DEB_VERSION") \
    >"$apt_dir/source.log" 2>&1; then
    if [ ! -f "$dl/$ORIG" ] || [ ! -f "$dl/$DSC" ]; then
      cat "$apt_dir/source.log" >&2
      echo "build-caf-tsan: $ORIG or $DSC could not be fetched" >&2
      exit 1
    fi
    echo "build-caf-tsan: no Debian patch tarball in the archive; building the upstream tarball" >&2
  fi
}

# The .dsc names every file with its SHA-256; a tarball left by an earlier,
# interrupted run is checked again before use.
verify() {
  local file="$1" want
  want="$(awk -v f="$file" '/^Checksums-Sha256:/ {s = 1; next} /^[^ ]/ {s = 0} s && $3 == f {print $1}' \
    "$dl/$DSC")"
  [ -n "$want" ] && [ "$(sha256sum "$dl/$file" | cut -d' ' -f1)" = "$want" ]
}

if [ ! -f "$dl/$ORIG" ] || [ ! -f "$dl/$DSC" ] || ! verify "$ORIG"; then
  rm -f "$dl/$ORIG"
  fetch_source
  verify "$ORIG" || {
    echo "build-caf-tsan: $ORIG does not match $DSC" >&2
    exit 1
  }
fi

src="$PREFIX/src/actor-framework-$VERSION"
patch_source() {
  # Debian's 0.17.6-2.1 ("building with recent gcc"): receive_buffer.hpp uses
  # std::numeric_limits without <limits>. The installed
  # /usr/include/caf/io/network/receive_buffer.hpp carries the same line.
  sed -i 's|^#include <cstring>$|#include <cstring>\n#include <limits>|' \
    "$src/libcaf_io/caf/io/network/receive_buffer.hpp"
}

rm -rf "${PREFIX:?}/src" "${PREFIX:?}/build" "${PREFIX:?}/include" "${PREFIX:?}/lib" "${PREFIX:?}/.stamp"
mkdir -p "$PREFIX/src"
debian_tar=""
for f in "$dl"/actor-framework_"$DEB_VERSION".debian.tar.*; do
  if [ -f "$f" ]; then debian_tar="$f"; fi
done
if [ -n "$debian_tar" ] && verify "$(basename "$debian_tar")"; then
  (cd "$PREFIX/src" && dpkg-source --no-check -x "$dl/$DSC" "actor-framework-$VERSION" >/dev/null)
else
  tar -xzf "$dl/$ORIG" -C "$PREFIX/src"
  patch_source
fi

echo "build-caf-tsan: building CAF $VERSION with -fsanitize=thread ($CXX, -j$JOBS)" >&2
tsan="-fsanitize=thread -fno-omit-frame-pointer"
cmake -S "$src" -B "$PREFIX/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_CXX_FLAGS="-std=c++14 -Wall -Wextra $tsan" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
  -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
  -DCAF_LOG_LEVEL=QUIET \
  -DCAF_NO_OPENSSL=yes -DCAF_NO_EXAMPLES=yes -DCAF_NO_UNIT_TESTS=yes -DCAF_NO_TOOLS=yes \
  -DCAF_NO_PYTHON=yes -DCAF_NO_OPENCL=yes -DCAF_NO_SUMMARY=yes >"$PREFIX/cmake.log" 2>&1 || {
  cat "$PREFIX/cmake.log" >&2
  exit 1
}
cmake --build "$PREFIX/build" -j "$JOBS" >"$PREFIX/build.log" 2>&1 || {
  tail -50 "$PREFIX/build.log" >&2
  exit 1
}
cmake --install "$PREFIX/build" >/dev/null
echo "$stamp" >"$PREFIX/.stamp"
echo "build-caf-tsan: installed into $PREFIX" >&2
