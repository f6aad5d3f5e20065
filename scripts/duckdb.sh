#!/usr/bin/env bash
# Install DuckDB's node package (scripts/duckdb/package-lock.json, `npm ci`)
# into BUILD/duckdb once, and print that folder: tests and benchmarks run
# `node --experimental-default-type=module` scripts with NODE_PATH=FOLDER/node_modules.
# DuckDB is an oracle and a peer for tests and benchmarks only.
#   bash scripts/duckdb.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: duckdb.sh BUILD_DIR}
dest="$build/duckdb"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "duckdb.sh: node and npm are needed for DuckDB (apt-get install nodejs npm)" >&2
    exit 1
fi
if ! cmp -s "$here/duckdb/package-lock.json" "$dest/package-lock.json" ||
    [ ! -d "$dest/node_modules/@duckdb/node-api" ]; then
    mkdir -p "$dest"
    cp "$here/duckdb/package.json" "$here/duckdb/package-lock.json" "$dest/"
    (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
echo "$dest"
