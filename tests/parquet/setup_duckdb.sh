#!/usr/bin/env bash
# Install DuckDB (@duckdb/node-api, pinned by package-lock.json): the Parquet
# oracle of the tests and the DuckDB peer of scripts/bench.sh. Installed
# into BUILD/parquet-oracle once; later calls reuse it. Prints the folder.
#   bash tests/parquet/setup_duckdb.sh BUILD
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: setup_duckdb.sh BUILD}
dest=$(cd "$build" && pwd)/parquet-oracle
# reinstall when the lock file changes; the script itself is always refreshed
if [ -f "$dest/.installed" ] && cmp -s "$here/package-lock.json" "$dest/.installed"; then
    cp "$here/duckdb_oracle.mjs" "$dest/"
    echo "$dest"
    exit 0
fi
command -v node >/dev/null || { echo "setup_duckdb.sh: node is not installed" >&2; exit 1; }
mkdir -p "$dest"
# one installer at a time (ctest may run tests in parallel)
exec 9>"$dest/.lock"
flock 9
if ! { [ -f "$dest/.installed" ] && cmp -s "$here/package-lock.json" "$dest/.installed"; }; then
    cp "$here/package.json" "$here/package-lock.json" "$dest/"
    (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$here/package-lock.json" "$dest/.installed"
fi
cp "$here/duckdb_oracle.mjs" "$dest/"
echo "$dest"
