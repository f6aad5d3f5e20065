#!/usr/bin/env bash
# Configure and build into build/ (or $MPISCORE_BUILD). Extra arguments go
# to cmake, e.g. scripts/build.sh -DMPISCORE_SANITIZE=ON.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${MPISCORE_BUILD:-$here/build}
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPISCORE_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
echo "$build"
