#!/usr/bin/env bash
# Parquet as an input of `mpiscore run`. DuckDB (tests/parquet/duckdb_oracle.mjs)
# writes the Parquet files from CSV fixtures; scoring them must give output
# byte-identical to scoring the CSV:
#  1. every codec, dictionary on/off, data pages v1/v2, nulls, several row
#     groups, FLOAT columns, a folder of part files; -n 1/2/3 and several
#     --mini-batch-rows; float64 (HistGradientBoosting, routes missing) and
#     float32 (RandomForest) models trained here with scikit-learn;
#  2. nulls the model cannot take: row errors at the same rows and columns
#     (row within the file instead of the CSV's physical line);
#  3. ids of every type pass through as text (as DuckDB prints them);
#  4. projection: a 200-column file whose unused column chunks are garbage
#     scores as the clean one (those chunks are never read), and the same
#     garbage in a used column is an error naming it;
#  5. hive folders (root/key=value/part.parquet): the key is a column;
#  6. bad files: one-line errors, exit 2, no output left;
#  7. --resume after SIGTERM gives the uninterrupted output.
source "$MS_SRC/tests/lib.sh"
ORACLE=$(bash "$MS_SRC/tests/parquet/setup_duckdb.sh" "$MS_BUILD")/duckdb_oracle.mjs
export ORACLE
duck() { node "$ORACLE" "$@"; }
# CSV -> Parquet with DuckDB: numbers and texts only (no dates or booleans guessed)
to_pq() { # to_pq CSV OUT OPTIONS [SELECT-LIST]
    duck write "$2" "SELECT ${4:-*} FROM read_csv('$1', auto_type_candidates = ['BIGINT', 'DOUBLE', 'VARCHAR'], sample_size = -1)" "$3"
}

OMP_NUM_THREADS=1 "$MS_PYTHON" - "$T" <<'PY'
import os, sys
import numpy as np, pandas as pd
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "scripts"))
from export_sklearn import export
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
d = sys.argv[1]
rng = np.random.default_rng(13)
n = 7000
df = pd.DataFrame({"id": np.arange(n) * 7 + 1000})
for j in range(6):
    df[f"f{j}"] = np.round(rng.normal(size=n) * (j + 1), 6 + j % 3)
df["i0"] = rng.integers(-50, 50, n)
z = df.f0 - 0.5 * df.f1 + 0.2 * df.f2 * df.f3 + 0.05 * df.i0
y = (z + rng.normal(size=n) > 0).astype(int)
feats = ["f0", "f1", "f2", "f3", "f4", "f5", "i0"]
nulls = df.copy()
for c in ("f1", "f3"):
    nulls.loc[rng.uniform(size=n) < 0.03, c] = np.nan
hgb = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(nulls[feats], y)
export(hgb, os.path.join(d, "hgb.h5"), feature_names=feats)
rf = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0).fit(df[feats], y)
export(rf, os.path.join(d, "rf.h5"), feature_names=feats)
df.to_csv(os.path.join(d, "clean.csv"), index=False)
nulls.to_csv(os.path.join(d, "nulls.csv"), index=False, na_rep="")
# 200 columns, of which the model reads three
wide = pd.DataFrame({"id": np.arange(500)})
for j in range(200):
    wide[f"w{j}"] = np.round(rng.normal(size=500), 5)
wide.to_csv(os.path.join(d, "wide.csv"), index=False)
yw = (wide.w7 + wide.w123 - wide.w199 > 0).astype(int)
rfw = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(
    wide[["w7", "w123", "w199"]], yw)
export(rfw, os.path.join(d, "wide.h5"), feature_names=["w7", "w123", "w199"])
PY

score() { # score N MODEL INPUT OUT [ARGS...]
    local n=$1 m=$2 in=$3 out=$4
    shift 4
    mpis "$n" run --model "$m" --input "$in" --output "$out" --overwrite --id-column id "$@" 2>"$T/score.err" ||
        bad "score -n $n $m $in: $(head -n 1 "$T/score.err")"
}

# 1. DuckDB's files of the same rows: the CSV's output, byte for byte
score 2 "$T/hgb.h5" "$T/nulls.csv" "$T/ref_hgb.csv" --mini-batch-rows 500
score 2 "$T/rf.h5" "$T/clean.csv" "$T/ref_rf.csv" --mini-batch-rows 500
i=0
for version in v1 v2; do
    for opts in "compression uncompressed" "compression snappy" "compression gzip" "compression zstd" \
        "compression brotli" "compression lz4_raw" "compression snappy, dictionary_size_limit 0" \
        "compression zstd, row_group_size 2048" "compression snappy, row_group_size 2048, dictionary_size_limit 0"; do
        i=$((i + 1))
        to_pq "$T/nulls.csv" "$T/n$i.parquet" "$opts, parquet_version $version"
        score 2 "$T/hgb.h5" "$T/n$i.parquet" "$T/o.csv" --mini-batch-rows 333
        same "$T/ref_hgb.csv" "$T/o.csv" "HGB, nulls, $version $opts: = CSV input"
    done
done
"$MS_BUILD/tests/pqdump" meta "$T/n8.parquet" | grep -q "row_groups [3-9]" || bad "row_group_size 2048 gave fewer than 3 row groups"
# rank counts and batch sizes: batches cut inside row groups (77: each read
# as its own range; 500: the row group read whole once per rank) and whole
for n in 1 3; do
    for rows in 77 500 2048 100000; do
        score "$n" "$T/hgb.h5" "$T/n17.parquet" "$T/o.csv" --mini-batch-rows "$rows"
        same "$T/ref_hgb.csv" "$T/o.csv" "HGB, row groups of 2048 rows, -n $n, --mini-batch-rows $rows: = CSV input"
    done
done
# a float32 model: DOUBLE columns narrowed as pandas + scikit-learn do, and
# FLOAT columns (DuckDB's own narrowing of the same doubles) taken as stored
to_pq "$T/clean.csv" "$T/clean.parquet" "compression zstd, row_group_size 1000"
score 3 "$T/rf.h5" "$T/clean.parquet" "$T/o.csv" --mini-batch-rows 256
same "$T/ref_rf.csv" "$T/o.csv" "RandomForest (float32), DOUBLE columns, -n 3: = CSV input"
to_pq "$T/clean.csv" "$T/float.parquet" "compression snappy" \
    "id, f0::FLOAT AS f0, f1::FLOAT AS f1, f2::FLOAT AS f2, f3::FLOAT AS f3, f4::FLOAT AS f4, f5::FLOAT AS f5, i0::INTEGER AS i0"
duck query "SELECT DISTINCT type FROM parquet_schema('$T/float.parquet') ORDER BY 1" | tr '\n' ' ' | grep -q "FLOAT INT32 INT64" ||
    bad "float.parquet: not FLOAT/INT32 columns"
score 2 "$T/rf.h5" "$T/float.parquet" "$T/o.csv" --mini-batch-rows 400
same "$T/ref_rf.csv" "$T/o.csv" "RandomForest (float32), FLOAT and INT32 columns: = CSV input"
# a folder of part files (Spark/DuckDB layout, with its _SUCCESS marker)
mkdir "$T/parts"
duck write "$T/parts/part-0.parquet" "SELECT * FROM read_parquet('$T/n2.parquet') WHERE id < 8000" "compression snappy"
duck write "$T/parts/part-1.parquet" "SELECT * FROM read_parquet('$T/n2.parquet') WHERE id >= 8000 AND id < 15000" "compression zstd"
duck write "$T/parts/part-2.parquet" "SELECT * FROM read_parquet('$T/n2.parquet') WHERE id >= 15000" "compression gzip"
: >"$T/parts/_SUCCESS"
score 2 "$T/hgb.h5" "$T/parts" "$T/o.csv" --mini-batch-rows 300
same "$T/ref_hgb.csv" "$T/o.csv" "a folder of 3 part files (and _SUCCESS): = CSV input"

# 2. nulls where the model takes none: same rows and columns as CSV
expect_fail 2 "^mpiscore: error: $T/n2.parquet:([0-9]+):([0-9]+): column \"(f1|f3)\": missing value$" \
    mpis 2 run --model "$T/rf.h5" --input "$T/n2.parquet" --output "$T/bad.csv" --id-column id
[ ! -e "$T/bad.csv" ] && [ ! -e "$T/bad.csv.partial" ] && ok "abort: no output left" || bad "abort left output"
head -n 1 "$T/err.txt" | sed -E 's/.*:([0-9]+):([0-9]+): (.*)/\1 \2 \3/' >"$T/pq_first.txt"
mpis 2 run --model "$T/rf.h5" --input "$T/nulls.csv" --output "$T/bad.csv" --id-column id 2>"$T/csv_err.txt" || true
head -n 1 "$T/csv_err.txt" | sed -E 's/.*:([0-9]+):([0-9]+): (.*)/\1 \2 \3/' | awk '{ $1 -= 1; print }' >"$T/csv_first.txt"
same "$T/csv_first.txt" "$T/pq_first.txt" "abort: the first bad row is the CSV's (line - 1 = row), same column and reason"
for f in nulls.csv n5.parquet; do
    score 2 "$T/rf.h5" "$T/$f" "$T/cont_$f.csv" --on-error continue --max-errors 100% --mini-batch-rows 250
done
same "$T/cont_nulls.csv.csv" "$T/cont_n5.parquet.csv" "--on-error continue: bad rows kept in place, empty, as for CSV"
cut -d, -f2,3,4 "$T/cont_nulls.csv.csv.errors.csv" | awk -F, 'NR > 1 { $1 -= 1 } { print }' OFS=, >"$T/e_csv.txt"
cut -d, -f2,3,4 "$T/cont_n5.parquet.csv.errors.csv" >"$T/e_pq.txt"
[ "$(wc -l <"$T/e_pq.txt")" -gt 100 ] || bad "errors file of $(wc -l <"$T/e_pq.txt") lines: the nulls were lost"
same "$T/e_csv.txt" "$T/e_pq.txt" "errors file: the CSV's rows (line - 1), columns and reasons"

# 3. ids of any type, as text: what DuckDB prints for them
duck write "$T/ids.parquet" "SELECT i AS id, i * 0.1 AS dec, (i * 0.1)::DOUBLE AS dbl, (i * 0.1)::FLOAT AS flt, i % 2 = 0 AS b, DATE '2024-02-27' + i::INTEGER AS dt, TIMESTAMP '2024-01-01 10:00:00' + INTERVAL (i * 1500) MILLISECOND AS ts, 'x' || i AS s, i::UTINYINT AS u8, a AS f0, a AS f1, a AS f2, a AS f3, a AS f4, a AS f5, i::BIGINT - 100 AS i0 FROM (SELECT range AS i, range / 10.0 AS a FROM range(200))" "compression snappy"
for col in id dec dbl flt b dt ts s u8; do
    mpis 1 run --model "$T/rf.h5" --input "$T/ids.parquet" --output "$T/id_$col.csv" --id-column "$col" 2>"$T/id.err" ||
        bad "--id-column $col: $(cat "$T/id.err")"
    tail -n +2 "$T/id_$col.csv" | cut -d, -f1 >"$T/id_got.txt"
    case $col in
    # numbers in their shortest round-trip text, integers without DuckDB's ".0"
    dec) duck query "SELECT dec::DOUBLE::VARCHAR FROM read_parquet('$T/ids.parquet')" | sed 's/\.0$//' >"$T/id_want.txt" ;;
    dbl | flt) duck query "SELECT $col::VARCHAR FROM read_parquet('$T/ids.parquet')" | sed 's/\.0$//' >"$T/id_want.txt" ;;
    b) duck query "SELECT CASE WHEN b THEN 'true' ELSE 'false' END FROM read_parquet('$T/ids.parquet')" >"$T/id_want.txt" ;;
    *) duck query "SELECT $col::VARCHAR FROM read_parquet('$T/ids.parquet')" >"$T/id_want.txt" ;;
    esac
    same "$T/id_want.txt" "$T/id_got.txt" "--id-column $col ($(duck query "SELECT type FROM parquet_schema('$T/ids.parquet') WHERE name = '$col'")) passes through as DuckDB prints it"
done

# 4. projection: garbage in every column chunk the model does not use
to_pq "$T/wide.csv" "$T/wide.parquet" "compression snappy, row_group_size 200"
score 0 "$T/wide.h5" "$T/wide.csv" "$T/ref_wide.csv"
"$MS_PYTHON" - "$T/wide.parquet" "$T/wide_bad.parquet" "$T/used_bad.parquet" <<'PY'
import json, subprocess, sys, shutil
src, dst, used = sys.argv[1:]
# chunk byte ranges from DuckDB's view of the footer
rows = subprocess.run(["node", __import__("os").environ["ORACLE"], "query",
                       f"SELECT path_in_schema, coalesce(dictionary_page_offset, data_page_offset), total_compressed_size FROM parquet_metadata('{src}')"],
                      capture_output=True, text=True, check=True).stdout.split("\n")
data = bytearray(open(src, "rb").read())
data2 = bytearray(data)
for r in filter(None, rows):
    name, off, size = r.split("\t")
    off, size = int(off), int(size)
    junk = bytes((i * 37 + 11) % 256 for i in range(size))
    if name not in ("id", "w7", "w123", "w199"):
        data[off:off + size] = junk
    if name == "w123":
        data2[off:off + size] = junk
open(dst, "wb").write(data)
open(used, "wb").write(data2)
PY
score 2 "$T/wide.h5" "$T/wide_bad.parquet" "$T/o.csv" --mini-batch-rows 64
same "$T/ref_wide.csv" "$T/o.csv" "200 columns, 196 unused chunks overwritten with garbage: = CSV input (only 4 chunks read)"
expect_fail 2 "^mpiscore: error: $T/used_bad.parquet: row group 0, column \"w123\": " \
    mpis 2 run --model "$T/wide.h5" --input "$T/used_bad.parquet" --output "$T/o2.csv"
[ ! -e "$T/o2.csv" ] && [ ! -e "$T/o2.csv.partial" ] && ok "garbage in a used chunk: no output left" || bad "output left"

# 5. hive folders: the key is a column (a model input, the id)
mkdir -p "$T/hive/i0=-3" "$T/hive/i0=12" "$T/hive/i0=40"
: >"$T/hive/_SUCCESS"
for v in -3 12 40; do
    duck write "$T/hive/i0=$v/part-0.parquet" "SELECT * EXCLUDE (i0) FROM read_csv('$T/clean.csv') WHERE i0 = $v ORDER BY id" "compression snappy"
    awk -F, -v v="$v" 'NR == 1 || $8 == v' "$T/clean.csv"
done | awk 'NR == 1 || $0 !~ /^id,/' >"$T/hive.csv"
score 0 "$T/rf.h5" "$T/hive.csv" "$T/ref_hive.csv"
score 2 "$T/rf.h5" "$T/hive" "$T/o.csv" --mini-batch-rows 9
same "$T/ref_hive.csv" "$T/o.csv" "hive folder: i0=VALUE folders feed the model's i0 = CSV input"
mpis 1 run --model "$T/rf.h5" --input "$T/hive" --output "$T/o_hid.csv" --id-column i0 2>"$T/h.err" ||
    bad "hive key as the id: $(cat "$T/h.err")"
[ "$(tail -n +2 "$T/o_hid.csv" | cut -d, -f1 | sort -u | tr '\n' ' ')" = "-3 12 40 " ] &&
    ok "hive key as --id-column" || bad "hive id: $(tail -n +2 "$T/o_hid.csv" | cut -d, -f1 | sort -u | tr '\n' ' ')"

# 6. bad files: one line, exit 2, nothing left
cp "$T/n2.parquet" "$T/trunc.parquet"
truncate -s $(($(stat -c %s "$T/n2.parquet") - 100)) "$T/trunc.parquet"
printf 'PAQ1' | dd of="$T/magic.parquet" bs=4 count=1 conv=notrunc 2>/dev/null
dd if="$T/n2.parquet" of="$T/magic.parquet" bs=4 skip=1 seek=1 2>/dev/null
to_pq "$T/clean.csv" "$T/nof3.parquet" "compression snappy" "* EXCLUDE (f3)"
to_pq "$T/clean.csv" "$T/strf2.parquet" "compression snappy" "* REPLACE (f2::VARCHAR AS f2)"
for case in \
    "trunc.parquet|not a Parquet file \\(bad magic at the end: truncated\\?\\)" \
    "magic.parquet|not a Parquet file \\(bad magic at the start\\)" \
    "nof3.parquet|column \"f3\" required by the model is missing from the schema" \
    "strf2.parquet|row group 0, column \"f2\": cannot read as double: a string column, not a number"; do
    f=${case%%|*}
    expect_fail 2 "^mpiscore: error: $T/$f: ${case#*|}$" \
        mpis 2 run --model "$T/rf.h5" --input "$T/$f" --output "$T/bad_$f.csv"
    [ ! -e "$T/bad_$f.csv" ] && [ ! -e "$T/bad_$f.csv.partial" ] && ok "$f: no output left" || bad "$f: output left"
done
expect_fail 2 "^mpiscore: error: $T/n2.parquet: id column \"nope\" \\(--id-column\\) is not in the schema$" \
    mpis 1 run --model "$T/rf.h5" --input "$T/n2.parquet" --output "$T/x.csv" --id-column nope
# files of one run disagreeing on the id's type (a typed writer needs one)
mkdir "$T/mixed"
duck write "$T/mixed/a.parquet" "SELECT * FROM read_parquet('$T/n2.parquet') WHERE id < 8000" ""
duck write "$T/mixed/b.parquet" "SELECT * REPLACE (id::VARCHAR AS id) FROM read_parquet('$T/n2.parquet') WHERE id >= 8000" ""
expect_fail 2 "^mpiscore: error: $T/mixed/b.parquet: column \"id\" is text here but int64 in $T/mixed/a.parquet$" \
    mpis 1 run --model "$T/hgb.h5" --input "$T/mixed" --output "$T/x.csv" --id-column id

# 7. --resume after SIGTERM: identical to an uninterrupted run
"$MS_PYTHON" - "$T/big.csv" <<'PY'
import sys, numpy as np, pandas as pd
rng = np.random.default_rng(5)
n = 150000
df = pd.DataFrame({"id": np.arange(n)})
for j in range(6):
    df[f"f{j}"] = np.round(rng.normal(size=n), 6)
df["i0"] = rng.integers(-50, 50, n)
df.to_csv(sys.argv[1], index=False)
PY
to_pq "$T/big.csv" "$T/big.parquet" "compression uncompressed, row_group_size 4096"
args=(--model "$T/hgb.h5" --input "$T/big.parquet" --id-column id --mini-batch-rows 1000 --journal-every 0.05)
score 2 "$T/hgb.h5" "$T/big.csv" "$T/ref_big.csv" --mini-batch-rows 5000
# every batch read takes 40 ms (150 batches): a quiet machine scores these
# rows faster than the signal can land mid-run
MPISCORE_FAULT_READ=slow:0.04 mpirun -n 2 "$MPISCORE" run "${args[@]}" --output "$T/res.csv" \
    >/dev/null 2>"$T/run.err" &
pid=$!
# (a loaded machine may take long to start: wait for real progress, up to 2 min)
progressed=0
for _ in $(seq 1 2400); do
    if [ -f "$T/res.csv.journal" ] &&
        awk '$1 == "R" && $6 > 20000 { f = 1 } END { exit !f }' "$T/res.csv.journal"; then
        progressed=1
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
[ "$progressed" = 1 ] || bad "SIGTERM: the run made no progress in 2 minutes (or ended first): $(cat "$T/run.err")"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
if [ "$rc" != 0 ] && [ ! -e "$T/res.csv" ]; then
    ok "SIGTERM mid-run: exit $rc, $(head -n 1 "$T/run.err")"
    mpis 2 run "${args[@]}" --output "$T/res.csv" --resume 2>"$T/resume.err" || bad "resume: $(cat "$T/resume.err")"
    same "$T/ref_big.csv" "$T/res.csv" "--resume of a Parquet run: = an uninterrupted run"
else
    bad "SIGTERM: exit $rc (the run was not interrupted mid-way)"
fi
finish
