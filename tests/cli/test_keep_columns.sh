#!/usr/bin/env bash
# --keep-columns: input columns copied to the output as written, after the
# id and in the order given. CSV output quotes them per RFC 4180 (commas,
# quotes, line breaks) and leaves every other byte as it was; HDF5 output
# has a string dataset per kept column; bad rows keep their id and kept
# columns; outputs are byte-identical for -n 1/2/3 and any batch size;
# refusals are one line naming the column.
source "$MS_SRC/tests/lib.sh"
make_fixtures
M=$T/model.h5

# A file with every awkward kept cell: blanks kept around unquoted text,
# quoted commas, quotes, line breaks, empty cells, a bad value (row r3),
# a short record (r5: its missing kept cells are empty).
cat >"$T/k.csv" <<'EOF'
id,a,b,note,c,grp
r1,0.5,1.0, hello ,2.0,A
r2,1.5,-1.0,"with,comma",0.1,B
r3,x,2.0,"say ""hi""",1.0,
r4,0.1,0.2,,0.3,"multi
line"
r5,1,2
r6,0.25,0.5,plain "inner" quote,0.75,C
EOF

# kept: the columns as Python's csv module reads the input (RFC 4180, blanks
# kept), in the order given; the rest of each row: what a run without
# --keep-columns writes, unchanged.
check_csv() { # OUT NOKEEP INPUT KEEP_LIST WHAT
    "$MS_PYTHON" - "$@" <<'PY'
import csv, sys
out, nokeep, inp, keep, what = sys.argv[1:6]
keep = keep.split(",")
with open(inp, newline="") as f:
    rows = list(csv.reader(f))
hdr, data = rows[0], rows[1:]
with open(out, newline="") as f:
    got = list(csv.reader(f))
with open(nokeep, newline="") as f:
    ref = list(csv.reader(f))
want_hdr = [ref[0][0]] + keep + ref[0][1:]
if got[0] != want_hdr:
    sys.exit(f"{what}: header {got[0]} != {want_hdr}")
if len(got) != len(data) + 1 or len(ref) != len(got):
    sys.exit(f"{what}: {len(got) - 1} rows, input has {len(data)}")
for i, (g, r, d) in enumerate(zip(got[1:], ref[1:], data)):
    kept = [d[hdr.index(k)] if hdr.index(k) < len(d) else "" for k in keep]
    if g[1:1 + len(keep)] != kept:
        sys.exit(f"{what}: row {i + 1}: kept {g[1:1 + len(keep)]} != input {kept}")
    if [g[0]] + g[1 + len(keep):] != r:
        sys.exit(f"{what}: row {i + 1}: {g} does not extend {r}")
print(f"{what}: {len(data)} rows, kept columns as the input holds them")
PY
}

mpis 0 run --model "$M" --input "$T/k.csv" --output "$T/nokeep.csv" --id-column id \
    --on-error continue 2>/dev/null
mpis 0 run --model "$M" --input "$T/k.csv" --output "$T/keep.csv" --id-column id \
    --keep-columns grp,note --on-error continue 2>/dev/null
if msg=$(check_csv "$T/keep.csv" "$T/nokeep.csv" "$T/k.csv" grp,note "CSV"); then ok "$msg"; else bad "$msg"; fi
# the exact bytes: RFC 4180 quoting only where needed, blanks kept, a bad
# row (r3) and a short one (r5) with their id and kept cells, empty scores
grep -qxF 'r1,A, hello ' <(cut -d, -f1-3 "$T/keep.csv") && ok "unquoted text with blanks kept as is" ||
    bad "r1: $(grep '^r1' "$T/keep.csv")"
grep -qxF 'r3,,"say ""hi""",,,' "$T/keep.csv" && ok "bad row keeps id and kept cells: quotes doubled" ||
    bad "r3: $(grep '^r3' "$T/keep.csv")"
grep -qxF 'r5,,,,,' "$T/keep.csv" && ok "short row: empty kept cells" || bad "r5: $(grep '^r5' "$T/keep.csv")"
grep -qF 'r2,B,"with,comma",' "$T/keep.csv" && ok "comma quoted" || bad "r2: $(grep '^r2' "$T/keep.csv")"
grep -qF 'r6,C,"plain ""inner"" quote",' "$T/keep.csv" && ok "inner quotes of an unquoted field" ||
    bad "r6: $(grep '^r6' "$T/keep.csv")"
awk 'NR==5' "$T/keep.csv" | grep -qxF 'r4,"multi' && ok "line break quoted" || bad "r4: $(sed -n 5,6p "$T/keep.csv")"

# no id column: kept columns come first; @FILE and JSON lists name them too
printf 'note\ngrp\n' >"$T/names.txt"
mpis 0 run --model "$M" --input "$T/k.csv" --output "$T/noid.csv" --keep-columns @"$T/names.txt" \
    --on-error continue 2>/dev/null
mpis 0 run --model "$M" --input "$T/k.csv" --output "$T/noid_json.csv" --keep-columns '["note","grp"]' \
    --on-error continue 2>/dev/null
same "$T/noid.csv" "$T/noid_json.csv" "@FILE and JSON list give the same output"
head -n 1 "$T/noid.csv" | grep -qx 'note,grp,p_no,p_yes,label' && ok "no id: kept columns first" ||
    bad "header $(head -n 1 "$T/noid.csv")"
# a kept column may be a feature too: its text as written
mpis 0 run --model "$M" --input "$T/good.csv" --output "$T/feat.csv" --id-column id --keep-columns b,extra
mpis 0 run --model "$M" --input "$T/good.csv" --output "$T/feat0.csv" --id-column id
if msg=$(check_csv "$T/feat.csv" "$T/feat0.csv" "$T/good.csv" b,extra "feature kept (no quote: fast path)"); then ok "$msg"; else bad "$msg"; fi

# HDF5 output: /NAME string datasets, in row order, the order recorded
mpis 0 run --model "$M" --input "$T/k.csv" --output "$T/keep.h5" --id-column id \
    --keep-columns grp,note --on-error continue 2>/dev/null
if msg=$("$MS_PYTHON" - "$T/keep.h5" "$T/k.csv" <<'PY'
import csv, sys
import h5py, numpy as np
h5, inp = sys.argv[1:3]
with open(inp, newline="") as f:
    rows = list(csv.reader(f))
hdr, data = rows[0], rows[1:]
f = h5py.File(h5, "r")
order = [x.decode() if isinstance(x, bytes) else x for x in f.attrs["kept_columns"]]
assert order == ["grp", "note"], order
for k in order:
    got = [x.decode() for x in f[k][:]]
    want = [d[hdr.index(k)] if hdr.index(k) < len(d) else "" for d in data]
    assert got == want, (k, got, want)
ids = [x.decode() for x in f["ids"][:]]
assert ids == [d[0] for d in data], ids
pred = f["predictions"][:]
assert np.isnan(pred[2]).all() and np.isnan(pred[4]).all() and not np.isnan(pred[0]).any()
print("HDF5: /grp and /note as the input holds them, bad rows NaN with their kept text")
PY
); then ok "$msg"; else bad "HDF5 kept columns: $msg"; fi

# many rows of awkward text: identical for -n 1/2/3 and any batch size
"$MS_PYTHON" - "$T/big.csv" <<'PY'
import csv, random, sys
random.seed(7)
parts = ["a", "b,c", 'q"q', " sp ", "", "x\ny", "é", "1.5", "'", ";"]
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "t1", "a", "b", "t2", "c"])
    for i in range(5000):
        t1 = "".join(random.choice(parts) for _ in range(random.randint(0, 3)))
        t2 = "".join(random.choice(parts) for _ in range(random.randint(0, 2)))
        a = "oops" if i % 997 == 5 else f"{random.gauss(0, 1):.6f}"
        w.writerow([f"r{i}", t1, a, f"{random.gauss(0, 1):.6f}", t2, f"{random.gauss(0, 1):.6f}"])
PY
for fmt in csv h5; do
    for n in 1 2 3; do
        for rows in 7 1000; do
            mpis "$n" run --model "$M" --input "$T/big.csv" --output "$T/big_${n}_$rows.$fmt" \
                --id-column id --keep-columns t2,t1 --mini-batch-rows "$rows" --on-error continue 2>/dev/null
        done
    done
    for f in "$T"/big_{1,2,3}_{7,1000}."$fmt"; do
        cmp -s "$T/big_1_1000.$fmt" "$f" || bad "$fmt: $(basename "$f") differs from -n 1"
        cmp -s "$T/big_1_1000.$fmt.errors.csv" "$f.errors.csv" ||
            bad "$fmt: $(basename "$f").errors.csv differs from -n 1"
    done
    ok "$fmt: kept columns byte-identical for -n 1/2/3 and batches of 7 and 1000 rows"
done
mpis 0 run --model "$M" --input "$T/big.csv" --output "$T/big_nokeep.csv" --id-column id \
    --on-error continue 2>/dev/null
if msg=$(check_csv "$T/big_2_7.csv" "$T/big_nokeep.csv" "$T/big.csv" t2,t1 "5000 awkward rows"); then ok "$msg"; else bad "$msg"; fi

# refusals: one line naming the column, no output left
expect_fail 2 '^mpiscore: error: .*/k\.csv: column "nope" \(--keep-columns\) is not in the header$' \
    mpis 0 run --model "$M" --input "$T/k.csv" --output "$T/x.csv" --keep-columns grp,nope
expect_fail 1 '^mpiscore: error: --keep-columns: "grp" is given twice$' \
    mpis 0 run --model "$M" --input "$T/k.csv" --output "$T/x.csv" --keep-columns grp,note,grp
expect_fail 1 '^mpiscore: error: --keep-columns: "id" is the --id-column, already in the output$' \
    mpis 0 run --model "$M" --input "$T/k.csv" --output "$T/x.csv" --id-column id --keep-columns id
expect_fail 1 '^mpiscore run: --keep-columns: element 1 is an empty name' \
    mpis 0 run --model "$M" --input "$T/k.csv" --output "$T/x.csv" --keep-columns '[""]'
printf 'id,a,b,c,p_yes,ids\n1,1,2,3,x,y\n' >"$T/clash.csv"
expect_fail 1 '^mpiscore: error: --keep-columns: "p_yes" is also an output column of the model$' \
    mpis 0 run --model "$M" --input "$T/clash.csv" --output "$T/x.csv" --keep-columns p_yes
expect_fail 1 '^mpiscore: error: --keep-columns: "ids" cannot be a dataset of the HDF5 output \(reserved name, or holds '"'/'"'\)$' \
    mpis 0 run --model "$M" --input "$T/clash.csv" --output "$T/x.h5" --keep-columns ids
ls "$T"/x.* >/dev/null 2>&1 && bad "a refused run left $(ls "$T"/x.*)" || ok "refused runs leave no output"
help=$("$MPISCORE" run --help)
grep -q -- '--keep-columns A,B,...' <<<"$help" && ok "--help names --keep-columns" ||
    bad "--help lacks --keep-columns"
finish
