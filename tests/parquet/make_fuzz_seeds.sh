#!/usr/bin/env bash
# Write the Parquet fuzz seeds (tests/fuzz/corpus/parquet/): small files
# DuckDB writes (codecs, page versions, dictionaries on and off, every type)
# and files our writer writes (the hand_*.parquet seeds, encodings DuckDB
# does not write, come from MS_PARQUET_KEEP=DIR build/tests/test_parquet).
# Run from a build folder that has pqdump:
#   bash tests/parquet/make_fuzz_seeds.sh BUILD
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: make_fuzz_seeds.sh BUILD}" && pwd)
out=$here/tests/fuzz/corpus/parquet
oracle=$(bash "$here/tests/parquet/setup_duckdb.sh" "$build")/duckdb_oracle.mjs
mkdir -p "$out"
sel=$(sed 's/range(10000)/range(40)/' "$here/tests/parquet/all_types.sql")
i=0
for v in v1 v2; do
    for o in "compression uncompressed" "compression snappy" "compression gzip" "compression zstd" \
        "compression brotli" "compression lz4_raw" "compression uncompressed, dictionary_size_limit 0"; do
        i=$((i + 1))
        node "$oracle" write "$out/duckdb_${v}_$i.parquet" "$sel" "$o, parquet_version $v"
    done
done
for c in none snappy; do
    "$build/tests/pqdump" write "$out/ours_$c.parquet" "$c" 60 25 >/dev/null
done
ls "$out" | wc -l
