#!/usr/bin/env bash
# The Parquet codec against DuckDB (the oracle, tests/parquet/duckdb_oracle.mjs):
#  1. files DuckDB writes (every codec it has, data pages v1 and v2, with and
#     without dictionaries, nulls, every type of issue 13, several row
#     groups) read by pqdump value for value as DuckDB reads them, whole row
#     groups and in row ranges;
#  2. files our writer writes read by DuckDB bit for bit (values, nulls,
#     order), with the types, statistics and key_value_metadata we wrote; a
#     resumed write is byte-identical to an uninterrupted one;
#  3. damaged files: one-line errors naming file, row group, column, row;
#  4. (information only) FLOAT decoding speed, PLAIN and snappy.
# Encodings DuckDB does not write (DELTA_BYTE_ARRAY, RLE booleans, Hadoop
# LZ4) are hand-built in tests/unit/test_parquet.c.
source "$MS_SRC/tests/lib.sh"
PQ=$MS_BUILD/tests/pqdump
ORACLE=$(bash "$MS_SRC/tests/parquet/setup_duckdb.sh" "$MS_BUILD")/duckdb_oracle.mjs
duck() { node "$ORACLE" "$@"; }
SEL=$(cat "$MS_SRC/tests/parquet/all_types.sql")

# 1. DuckDB's files, read by us
i=0
for version in v1 v2; do
    for opts in "compression uncompressed" "compression snappy" "compression gzip" "compression zstd" \
        "compression brotli" "compression lz4_raw" \
        "compression snappy, dictionary_size_limit 0" "compression zstd, row_group_size 3000" \
        "compression snappy, row_group_size 3000, dictionary_size_limit 0"; do
        i=$((i + 1))
        f=$T/duck_$i.parquet
        duck write "$f" "$SEL" "$opts, parquet_version $version"
        duck dump "$f" >"$T/ref.txt"
        [ "$(wc -l <"$T/ref.txt")" -eq 590000 ] || bad "oracle dump of $opts: $(wc -l <"$T/ref.txt") lines"
        if ! "$PQ" dump "$f" >"$T/ours.txt" 2>"$T/err.txt"; then
            bad "$opts $version: pqdump failed: $(head -n 1 "$T/err.txt")"
        elif cmp -s "$T/ref.txt" "$T/ours.txt"; then
            ok "DuckDB $version $opts: every value as DuckDB reads it"
        else
            bad "DuckDB $version $opts: differs: $(diff "$T/ref.txt" "$T/ours.txt" | grep '^[<>]' | cut -f1,2 | sort | uniq -c | head -n 5 | tr '\n' ' ')"
        fi
        # row ranges that cut pages (v1 pages and v2 pages are both skipped by header)
        if [ "$i" -eq 2 ] || [ "$i" -eq 11 ] || [ "$i" -eq 17 ]; then
            "$PQ" dump "$f" 777 >"$T/ours_r.txt" 2>&1 || true
            same "$T/ref.txt" "$T/ours_r.txt" "DuckDB $version $opts read in ranges of 777 rows"
        fi
    done
done
# what the files held: every encoding DuckDB writes, several row groups
duck query "SELECT DISTINCT encodings FROM parquet_metadata('$T/duck_10.parquet') ORDER BY 1" >"$T/enc_v2.txt"
for e in DELTA_BINARY_PACKED DELTA_LENGTH_BYTE_ARRAY BYTE_STREAM_SPLIT RLE_DICTIONARY; do
    grep -q "$e" "$T/enc_v2.txt" || bad "the v2 file has no $e page: the test lost its coverage"
done
"$PQ" meta "$T/duck_8.parquet" | grep -q "row_groups [3-9]" || bad "row_group_size 3000 gave one row group"

# a UBIGINT past INT64_MAX: exact int64 refused with the row; double fine
duck write "$T/u64.parquet" "SELECT i, CASE WHEN i = 2 THEN 18446744073709551615::UBIGINT ELSE i::UBIGINT END AS u FROM range(5) t(i)" ""
expect_fail 2 "^$T/u64.parquet: row group 0, column \"u\", row 3: UINT64 value 18446744073709551615 does not fit in int64$" \
    "$PQ" dump "$T/u64.parquet"
# a nested column is refused by name
duck write "$T/nested.parquet" "SELECT 1 AS a, [1, 2] AS l" ""
expect_fail 2 "^$T/nested.parquet: column \"l\": nested columns are not supported$" "$PQ" meta "$T/nested.parquet"

# 2. our files, read by DuckDB
for codec in none snappy zstd gzip lz4; do
    f=$T/ours_$codec.parquet
    "$PQ" write "$f" "$codec" 5000 1500 >"$T/expected.txt"
    duck dump "$f" >"$T/duck.txt"
    same "$T/expected.txt" "$T/duck.txt" "our $codec file: DuckDB reads every value, null and row order we wrote"
    "$PQ" dump "$f" 400 >"$T/back.txt"
    same "$T/expected.txt" "$T/back.txt" "our $codec file: our reader reads it back"
done
f=$T/ours_snappy.parquet
duck query "SELECT column_name || ':' || column_type FROM (DESCRIBE SELECT * FROM read_parquet('$f'))" | tr '\n' ' ' >"$T/types.txt"
[ "$(cat "$T/types.txt")" = "id:BIGINT f32:FLOAT f64:DOUBLE i32:INTEGER b:BOOLEAN s:VARCHAR s2:VARCHAR f32r:FLOAT " ] &&
    ok "types as written" || bad "types: $(cat "$T/types.txt")"
duck query "SELECT compression, count(*) FROM parquet_metadata('$f') GROUP BY 1" >"$T/codec.txt"
[ "$(cat "$T/codec.txt")" = "$(printf 'SNAPPY\t32')" ] && ok "4 row groups x 8 chunks, SNAPPY" || bad "chunks: $(cat "$T/codec.txt")"
# statistics = what DuckDB computes from the values, per row group
duck query "SELECT row_group_id, path_in_schema, stats_null_count, stats_min_value, stats_max_value FROM parquet_metadata('$f') WHERE path_in_schema IN ('id', 'i32', 's', 's2', 'b') ORDER BY 1, 2" >"$T/stats.txt"
: >"$T/want.txt"
for g in 0 1 2 3; do
    duck query "SELECT $g, 'b', count(*) - count(b), min(b), max(b) FROM (SELECT * FROM read_parquet('$f', file_row_number = true) WHERE file_row_number // 1500 = $g)
        UNION ALL SELECT $g, 'i32', 0, min(i32), max(i32) FROM (SELECT * FROM read_parquet('$f', file_row_number = true) WHERE file_row_number // 1500 = $g)
        UNION ALL SELECT $g, 'id', 0, min(id), max(id) FROM (SELECT * FROM read_parquet('$f', file_row_number = true) WHERE file_row_number // 1500 = $g)
        UNION ALL SELECT $g, 's', count(*) - count(s), min(s), max(s) FROM (SELECT * FROM read_parquet('$f', file_row_number = true) WHERE file_row_number // 1500 = $g)
        UNION ALL SELECT $g, 's2', 0, min(s2), max(s2) FROM (SELECT * FROM read_parquet('$f', file_row_number = true) WHERE file_row_number // 1500 = $g)
        ORDER BY 2" >>"$T/want.txt"
done
same "$T/want.txt" "$T/stats.txt" "statistics (null count, min, max) of every row group = DuckDB's aggregates"
duck query "SELECT key::VARCHAR, value::VARCHAR FROM parquet_kv_metadata('$f')" >"$T/kv.txt"
[ "$(cat "$T/kv.txt")" = "$(printf 'mpiscore.model\tchurn:3\nmpiscore.version\t0.1.0')" ] && ok "key_value_metadata" ||
    bad "kv: $(cat "$T/kv.txt")"
for cut in 0 1 3; do
    "$PQ" write "$T/resumed_$cut.parquet" snappy 5000 1500 "$cut" >/dev/null
    same "$f" "$T/resumed_$cut.parquet" "killed after $cut row groups, resumed: byte-identical file"
done

# 3. damaged files (our uncompressed file: its layout is ours)
g=$T/ours_none.parquet
size=$(stat -c %s "$g")
head -c $((size - 3)) "$g" >"$T/trunc.parquet"
expect_fail 2 "^$T/trunc.parquet: not a Parquet file \(bad magic at the end: truncated\?\)$" "$PQ" meta "$T/trunc.parquet"
{ printf 'PAR2'; tail -c +5 "$g"; } >"$T/magic.parquet"
expect_fail 2 "^$T/magic.parquet: not a Parquet file \(bad magic at the start\)$" "$PQ" meta "$T/magic.parquet"
cp "$g" "$T/flen.parquet"
printf '\xff\xff\xff\x7f' | dd of="$T/flen.parquet" bs=1 seek=$((size - 8)) conv=notrunc status=none
expect_fail 2 "^$T/flen.parquet: footer length 2147483647 past the file \($size bytes\)$" "$PQ" meta "$T/flen.parquet"
flen=$(od -An -tu4 -j $((size - 8)) -N4 "$g" | tr -d ' ')
cp "$g" "$T/thrift.parquet"
head -c 40 /dev/zero | tr '\0' '\377' | dd of="$T/thrift.parquet" bs=1 seek=$((size - 8 - flen + 2)) conv=notrunc status=none
expect_fail 2 "^$T/thrift.parquet: corrupt footer \(Thrift\): " "$PQ" meta "$T/thrift.parquet"
# a DuckDB snappy file with a flipped byte inside the first page of column i64
d=$T/duck_2.parquet
off=$(duck query "SELECT data_page_offset FROM parquet_metadata('$d') WHERE path_in_schema = 'i64' AND row_group_id = 0")
cp "$d" "$T/page.parquet"
printf '\x00\x00\x00\x00\x00\x00\x00\x00' | dd of="$T/page.parquet" bs=1 seek=$((off + 40)) conv=notrunc status=none
expect_fail 2 "^$T/page.parquet: row group 0, column \"i64\": page at byte $off: snappy: " "$PQ" dump "$T/page.parquet"

# 4. information only: FLOAT decoding speed (one core), PLAIN and snappy
duck write "$T/bench_none.parquet" "SELECT (i * 0.37)::FLOAT AS x FROM range(4000000) t(i)" \
    "compression uncompressed, dictionary_size_limit 0, row_group_size 1000000"
duck write "$T/bench_snappy.parquet" "SELECT (i * 0.37)::FLOAT AS x FROM range(4000000) t(i)" \
    "compression snappy, dictionary_size_limit 0, row_group_size 1000000"
echo "info: FLOAT PLAIN uncompressed decode: $("$PQ" bench "$T/bench_none.parquet" x 10)"
echo "info: FLOAT PLAIN snappy decode: $("$PQ" bench "$T/bench_snappy.parquet" x 10)"
finish
