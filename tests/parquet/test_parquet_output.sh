#!/usr/bin/env bash
# Parquet output (--output x.parquet) read back by DuckDB (the oracle,
# tests/parquet/duckdb_oracle.mjs): ids, kept columns, scores bit for bit as
# our CSV output prints them (float64 and float32), labels, nulls for bad
# rows, row order, column types, footer metadata; Parquet input's typed id
# and kept columns in their own types; byte-identical files for
# -n 1/2/3 and any --mini-batch-rows; every --compression; --resume after
# SIGTERM and kill -9 byte-identical to a clean run; refused options.
source "$MS_SRC/tests/lib.sh"
ORACLE=$(bash "$MS_SRC/tests/parquet/setup_duckdb.sh" "$MS_BUILD")/duckdb_oracle.mjs
duck() { node "$ORACLE" "$@"; }
make_fixtures
M=$T/model.h5

# 20000 rows for the fixtures' model (classes no/yes), a kept text column
# with awkward text, and a few bad values
"$MS_PYTHON" - "$T/in.csv" <<'PY'
import csv, random, sys
random.seed(3)
parts = ["a", "b,c", 'q"q', " sp ", "", "x\ny", "é", "\t"]
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "a", "b", "note", "c"])
    for i in range(20000):
        a = "bad" if i % 1999 == 17 else f"{random.gauss(0, 1):.6f}"
        note = "".join(random.choice(parts) for _ in range(random.randint(0, 3)))
        w.writerow([f"r{i}", a, f"{random.gauss(0, 1):.6f}", note, f"{random.gauss(0, 1):.6f}"])
PY
run=(--model "$M" --input "$T/in.csv" --id-column id --keep-columns note --on-error continue)
# the same rows 16 times over, for runs long enough to interrupt
{ cat "$T/in.csv"; for _ in $(seq 1 15); do tail -n +2 "$T/in.csv"; done; } >"$T/long.csv"

# query FILE: every column, in file order, strings as hex (they hold tabs
# and line breaks), numbers as DuckDB hands them to JavaScript
query() {
    local cols sel=""
    cols=$(duck query "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('$1'))")
    while IFS=$'\t' read -r name type; do
        [ -n "$sel" ] && sel="$sel, "
        if [ "$type" = VARCHAR ]; then sel="${sel}hex(\"$name\")"; else sel="${sel}\"$name\""; fi
    done <<<"$cols"
    duck query "SELECT $sel FROM read_parquet('$1', file_row_number = true) ORDER BY file_row_number"
}

# check_vs_csv PARQUET CSV PREC WHAT: DuckDB's values of PARQUET equal the
# CSV output's, bit for bit at PREC (f64/f32), with NULL where CSV is empty
# (a bad row's scores; never its id or kept text)
check_vs_csv() {
    query "$1" >"$T/duck.tsv"
    "$MS_PYTHON" - "$T/duck.tsv" "$2" "$3" "$4" <<'PY'
import csv, struct, sys
tsv, csvp, prec, what = sys.argv[1:5]
with open(csvp, newline="") as f:
    rows = list(csv.reader(f))
hdr, data = rows[0], rows[1:]
duck = [l.rstrip("\n").split("\t") for l in open(tsv, encoding="utf-8")]
if len(duck) != len(data):
    sys.exit(f"{what}: DuckDB reads {len(duck)} rows, the CSV output has {len(data)}")
def bits(x):
    return struct.pack("<d", x) if prec == "f64" else struct.pack("<f", x)
nulls = 0
for i, (d, c) in enumerate(zip(duck, data)):
    for j, name in enumerate(hdr):
        got, want = d[j], c[j]
        if name in ("id", "note"):
            if bytes.fromhex(got).decode() != want:
                sys.exit(f"{what}: row {i + 1} {name}: {got!r} != {want!r}")
        elif name == "label":  # a string label (VARCHAR, so hex)
            if (got == "NULL") != (want == "") or (want and bytes.fromhex(got).decode() != want):
                sys.exit(f"{what}: row {i + 1} label {got} != {want!r}")
        else:
            if want == "":
                if got != "NULL":
                    sys.exit(f"{what}: row {i + 1} {name}: {got} where the CSV has no value")
                nulls += 1
                continue
            if bits(float(got)) != bits(float(want)):
                sys.exit(f"{what}: row {i + 1} {name}: {got} != {want}")
print(f"{what}: {len(data)} rows, {nulls} null scores, every value as the CSV output's")
PY
}

mpis 0 run "${run[@]}" --output "$T/ref.csv" 2>/dev/null
mpis 0 run "${run[@]}" --output "$T/ref.parquet" --row-group-rows 3000 2>/dev/null
if msg=$(check_vs_csv "$T/ref.parquet" "$T/ref.csv" f64 "float64 scores"); then ok "$msg"; else bad "$msg"; fi
types=$(duck query "SELECT column_name || ' ' || column_type FROM (DESCRIBE SELECT * FROM read_parquet('$T/ref.parquet'))" | tr '\n' ',')
[ "$types" = "id VARCHAR,note VARCHAR,p_no DOUBLE,p_yes DOUBLE,label VARCHAR," ] &&
    ok "types: $types" || bad "types: $types"
rg=$(duck query "SELECT count(DISTINCT row_group_id), min(row_group_num_rows), max(row_group_num_rows) FROM parquet_metadata('$T/ref.parquet')")
[ "$rg" = "$(printf '7\t2000\t3000')" ] && ok "--row-group-rows 3000: 7 row groups, the last of 2000 rows" ||
    bad "row groups: $rg"
nbad=$(duck query "SELECT count(*) FROM read_parquet('$T/ref.parquet') WHERE p_no IS NULL AND label IS NULL AND id IS NOT NULL")
[ "$nbad" = "$(($(wc -l <"$T/ref.csv.errors.csv") - 1))" ] && ok "$nbad bad rows: null scores, id kept" ||
    bad "bad rows: $nbad null, errors file $(wc -l <"$T/ref.csv.errors.csv")"

# the footer names the model and this program
kv=$(duck query "SELECT decode(key) || '=' || decode(value) FROM parquet_kv_metadata('$T/ref.parquet') ORDER BY 1")
sha=$(sha256sum "$M" | cut -d' ' -f1)
ver=$("$MPISCORE" --version | cut -d' ' -f2)
want_kv=$(printf 'mpiscore.model=%s\nmpiscore.model_sha256=%s\nmpiscore.model_source=%s\nmpiscore.version=%s' \
    "$M" "$sha" "$("$MS_PYTHON" -c 'import h5py,sys; print(h5py.File(sys.argv[1])["/"].attrs["source"])' "$M")" "$ver")
[ "$kv" = "$want_kv" ] && ok "key_value_metadata: model, sha256, source, version" || bad "kv: $kv != $want_kv"

# float32 scores; an integer-labelled regressor-free model: BIGINT labels
mpis 0 run "${run[@]}" --output "$T/f32.csv" --precision float32 2>/dev/null
mpis 0 run "${run[@]}" --output "$T/f32.parquet" --precision float32 2>/dev/null
if msg=$(check_vs_csv "$T/f32.parquet" "$T/f32.csv" f32 "float32 scores"); then ok "$msg"; else bad "$msg"; fi
t32=$(duck query "SELECT column_type FROM (DESCRIBE SELECT * FROM read_parquet('$T/f32.parquet')) WHERE column_name = 'p_no'")
[ "$t32" = FLOAT ] && ok "--precision float32: FLOAT columns" || bad "float32 type: $t32"
"$MS_PYTHON" "$MS_SRC/scripts/make_dataset.py" synthetic --rows 3000 --features 8 --out "$T/syn" \
    --format csv >/dev/null
mpis 0 run --model "$T/syn/model.h5" --input "$T/syn/data.csv" --id-column row_id --output "$T/syn.csv"
mpis 0 run --model "$T/syn/model.h5" --input "$T/syn/data.csv" --id-column row_id --output "$T/syn.parquet"
lt=$(duck query "SELECT column_type FROM (DESCRIBE SELECT * FROM read_parquet('$T/syn.parquet')) WHERE column_name = 'label'")
[ "$lt" = BIGINT ] && ok "integer class labels: a BIGINT label column" || bad "label type: $lt"
sed -i '1s/row_id/id/' "$T/syn.csv"
duck query "SELECT hex(row_id), p_0, p_1, label FROM read_parquet('$T/syn.parquet', file_row_number = true) ORDER BY file_row_number" >"$T/duck.tsv"
if msg=$("$MS_PYTHON" - "$T/duck.tsv" "$T/syn.csv" <<'PY'
import csv, struct, sys
duck = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
rows = list(csv.reader(open(sys.argv[2], newline="")))[1:]
assert len(duck) == len(rows) == 3000
for d, c in zip(duck, rows):
    assert bytes.fromhex(d[0]).decode() == c[0] and d[3] == c[3], (d, c)
    for j in (1, 2):
        assert struct.pack("<d", float(d[j])) == struct.pack("<d", float(c[j])), (d, c)
print("XGBoost-style synthetic model: ids, scores and integer labels as the CSV output's")
PY
); then ok "$msg"; else bad "synthetic model: $msg"; fi

# Parquet input's typed columns keep their types: an INT64 id, INT64,
# DOUBLE, FLOAT, BOOLEAN and STRING kept columns with nulls, equal value
# for value (DuckDB compares them as typed values) and in file order
duck write "$T/typed.parquet" "SELECT i AS iid, 'id' || i::VARCHAR AS sid, (i * 0.37 % 3)::DOUBLE AS a,
    ((i * 7) % 11 / 3.0)::DOUBLE AS b, (i % 5 - 2.5)::DOUBLE AS c,
    CASE WHEN i % 4 = 0 THEN NULL ELSE i * 10 - 7000 END AS n, i % 2 = 0 AS flag,
    CASE WHEN i % 9 = 0 THEN NULL ELSE (i / 7.0)::FLOAT END AS f, (i * 1e-3 + 1e300 * (i % 2))::DOUBLE AS d,
    CASE WHEN i % 3 = 0 THEN NULL ELSE 'v,' || i::VARCHAR || '\"' END AS t
    FROM range(3000) r(i)" "compression snappy, row_group_size 700"
for n in 1 3; do
    mpis "$n" run --model "$M" --input "$T/typed.parquet" --output "$T/typed_$n.parquet" --id-column iid \
        --keep-columns n,flag,f,d,t,sid --mini-batch-rows 333
done
same "$T/typed_1.parquet" "$T/typed_3.parquet" "typed columns: -n 1 and -n 3 byte-identical"
types=$(duck query "SELECT string_agg(column_name || ' ' || column_type, ',') FROM (DESCRIBE SELECT * FROM read_parquet('$T/typed_1.parquet'))")
[ "$types" = "iid BIGINT,n BIGINT,flag BOOLEAN,f FLOAT,d DOUBLE,t VARCHAR,sid VARCHAR,p_no DOUBLE,p_yes DOUBLE,label VARCHAR" ] &&
    ok "typed columns keep their types: $types" || bad "typed columns: $types"
same_rows=$(duck query "SELECT count(*) FROM
    read_parquet('$T/typed.parquet', file_row_number = true) a JOIN
    read_parquet('$T/typed_1.parquet', file_row_number = true) b USING (file_row_number)
    WHERE a.iid = b.iid AND a.n IS NOT DISTINCT FROM b.n AND a.flag IS NOT DISTINCT FROM b.flag
      AND a.f IS NOT DISTINCT FROM b.f AND a.d IS NOT DISTINCT FROM b.d AND a.t IS NOT DISTINCT FROM b.t
      AND a.sid = b.sid")
nulls=$(duck query "SELECT count(*) FILTER (WHERE n IS NULL), count(*) FILTER (WHERE f IS NULL), count(*) FILTER (WHERE t IS NULL) FROM read_parquet('$T/typed_1.parquet')")
[ "$same_rows" = 3000 ] && [ "$nulls" = "$(printf '750\t334\t1000')" ] &&
    ok "typed columns: 3000 rows equal value for value and in order, nulls kept ($nulls)" ||
    bad "typed columns: $same_rows rows equal, nulls $nulls"

# byte-identical for -n 1/2/3 and any batch size
for n in 1 2 3; do
    for rows in 7 1000 65536; do
        mpis "$n" run "${run[@]}" --output "$T/n${n}_$rows.parquet" --row-group-rows 3000 \
            --mini-batch-rows "$rows" 2>/dev/null
        cmp -s "$T/ref.parquet" "$T/n${n}_$rows.parquet" || bad "-n $n --mini-batch-rows $rows: differs"
    done
done
ok "byte-identical Parquet for -n 1/2/3 and batches of 7, 1000, 65536 rows"

# every codec: the same values; the codec recorded per column chunk
query "$T/ref.parquet" >"$T/ref.tsv"
for codec in snappy zstd gzip lz4 none; do
    mpis 2 run "${run[@]}" --output "$T/c_$codec.parquet" --compression "$codec" --mini-batch-rows 999 2>/dev/null
    query "$T/c_$codec.parquet" >"$T/c.tsv"
    got=$(duck query "SELECT DISTINCT compression FROM parquet_metadata('$T/c_$codec.parquet')")
    want=$(case $codec in none) echo UNCOMPRESSED ;; lz4) echo LZ4_RAW ;; *) tr a-z A-Z <<<"$codec" ;; esac)
    if cmp -s "$T/ref.tsv" "$T/c.tsv" && [ "$got" = "$want" ]; then
        ok "--compression $codec: $got, every value the same"
    else
        bad "--compression $codec: codec $got, values $(cmp "$T/ref.tsv" "$T/c.tsv" 2>&1 | head -n 1)"
    fi
done
cmp -s "$T/c_snappy.parquet" <(mpis 0 run "${run[@]}" --output "$T/dflt.parquet" 2>/dev/null; cat "$T/dflt.parquet") &&
    ok "snappy by default" || bad "the default differs from --compression snappy"

# --resume: interrupted runs (SIGTERM to mpirun, kill -9 of mpirun and its
# ranks) resume to the bytes of a clean run. Batches of 7 rows rarely line
# up with the row groups of 1000, so resumes start inside a row group.
slow=(--model "$M" --input "$T/long.csv" --id-column id --keep-columns note --on-error continue
    --mini-batch-rows 7 --row-group-rows 1000 --journal-every 0.05)
mpis 2 run "${slow[@]}" --output "$T/clean.parquet" 2>/dev/null
start_run() {
    rm -f "$1" "$1".*
    mpirun -n 2 "$MPISCORE" run "${slow[@]}" --output "$1" >/dev/null 2>"$T/run.err" &
    pid=$!
}
resume_and_check() {
    local out=$1 what=$2
    [ -e "$out" ] && { bad "$what: final output exists after the interruption"; return; }
    [ -e "$out.partial" ] || { bad "$what: no partial output to resume"; return; }
    mpis 2 run "${slow[@]}" --output "$out" --resume 2>"$T/resume.err" ||
        { bad "$what: resume failed: $(cat "$T/resume.err")"; return; }
    local at
    at=$(grep -o "resuming after [0-9]* rows" "$T/resume.err" | grep -o "[0-9][0-9]*")
    if [ -z "$at" ] || [ "$at" = 0 ]; then
        bad "$what: did not resume: $(cat "$T/resume.err")"
    elif [ $((at % 1000)) != 0 ]; then
        ok "$what: resumed at row $at, inside row group $((at / 1000 + 1))"
    fi
    same "$T/clean.parquet" "$out" "$what: resumed Parquet byte-identical to a clean run"
    same "$T/clean.parquet.errors.csv" "$out.errors.csv" "$what: errors file identical"
    [ ! -e "$out.journal" ] && [ ! -e "$out.partial" ] && ok "$what: journal and partial removed" ||
        bad "$what: journal or partial left behind"
}
start_run "$T/term.parquet"
wait_rows "$T/term.parquet" 5000 || bad "SIGTERM: run made no progress"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" != 0 ] && grep -q "interrupted by signal 15 after [0-9]* rows; continue with --resume" "$T/run.err" &&
    ok "SIGTERM: exit $rc" || bad "SIGTERM: exit $rc, $(cat "$T/run.err")"
resume_and_check "$T/term.parquet" "SIGTERM"
start_run "$T/k9.parquet"
wait_rows "$T/k9.parquet" 9000 || bad "kill -9: run made no progress"
ranks=$(pgrep -P "$pid" || true)
kill -9 "$pid" $ranks 2>/dev/null || true
wait "$pid" || true
for _ in $(seq 1 100); do
    alive=0
    for r in $ranks; do kill -0 "$r" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
done
resume_and_check "$T/k9.parquet" "kill -9 of mpirun and its ranks"
# a resume that changes how the file is written is refused
start_run "$T/chg.parquet"
wait_rows "$T/chg.parquet" 3000 || bad "change: run made no progress"
kill -TERM "$pid"
wait "$pid" || true
expect_fail 2 'chg\.parquet\.journal: .*(options|--compression)' \
    mpis 0 run "${slow[@]}" --output "$T/chg.parquet" --resume --compression zstd

# refused options: one line, no output
expect_fail 1 '^mpiscore run: --compression lzo: expected snappy, zstd, gzip, lz4 or none \(see mpiscore run --help\)$' \
    mpis 0 run "${run[@]}" --output "$T/x.parquet" --compression lzo
expect_fail 1 '^mpiscore run: --row-group-rows 0: expected a whole number from 1 to 67108864' \
    mpis 0 run "${run[@]}" --output "$T/x.parquet" --row-group-rows 0
expect_fail 1 '^mpiscore: error: --compression: only for Parquet output \(.*/x\.csv is not\)$' \
    mpis 0 run "${run[@]}" --output "$T/x.csv" --compression zstd
expect_fail 1 '^mpiscore: error: --format orc: expected csv, hdf5 or parquet$' \
    mpis 0 run "${run[@]}" --output "$T/x.parquet" --format orc
ls "$T"/x.* >/dev/null 2>&1 && bad "a refused run left $(ls "$T"/x.*)" || ok "refused runs leave no output"
finish
