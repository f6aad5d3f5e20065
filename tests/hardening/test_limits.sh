#!/usr/bin/env bash
# Limits: absurd option values are usage errors (exit 1, one line); more
# ranks than batches and the extreme batch sizes give the same bytes as one
# process; an input with no rows gives a valid empty output (CSV header,
# HDF5 datasets with 0 rows); one row of 10,000 features and a one-feature
# model score as scikit-learn does (limits_models.py).
source "$MS_SRC/tests/lib.sh"
make_fixtures
M="$T/model.h5"
cd "$T"

# --- absurd option values -----------------------------------------------------
# every rank parses the options; only rank 0 prints
expect_fail 1 "^mpiscore run: --mini-batch-rows 0: expected a whole number from 1 to 16777216 \(see mpiscore run --help\)$" \
    mpis 2 run --model "$M" --input good.csv --output o.csv --mini-batch-rows 0
[ "$(grep -c '^mpiscore run:' "$T/err.txt")" = 1 ] && ok "under mpirun -n 2 the error is printed once" ||
    bad "error lines: $(cat "$T/err.txt")"
for v in -1 1000000000000 18446744073709551617 abc ""; do
    expect_fail 1 "^mpiscore run: --mini-batch-rows $v: expected a whole number from 1 to 16777216 \(see mpiscore run --help\)$" \
        mpis 0 run --model "$M" --input good.csv --output o.csv --mini-batch-rows "$v"
done
for v in 0 4097; do
    expect_fail 1 "^mpiscore run: --window $v: expected a whole number from 1 to 4096" \
        mpis 0 run --model "$M" --input good.csv --output o.csv --window "$v"
done
for v in -1 nan; do
    expect_fail 1 "^mpiscore run: --journal-every $v: expected seconds from 0 to 3600" \
        mpis 0 run --model "$M" --input good.csv --output o.csv --journal-every "$v"
done
expect_fail 1 "^mpiscore run: --mini-batch-rows needs a value \(see mpiscore run --help\)$" \
    mpis 0 run --model "$M" --input good.csv --output o.csv --mini-batch-rows
[ ! -e o.csv ] && [ ! -e o.csv.partial ] && ok "usage errors write nothing" || bad "usage error left output"

# --- batch sizes and more ranks than batches ------------------------------------
mpis 0 run --model "$M" --input good.csv --output ref.csv --id-column id
mpis 0 run --model "$M" --input good.csv --output ref.h5 --id-column id
for b in 1 16777216; do
    mpis 2 run --model "$M" --input good.csv --output "b$b.csv" --id-column id --mini-batch-rows "$b"
    same ref.csv "b$b.csv" "--mini-batch-rows $b: same output"
done
# 3 rows: one batch by default, three with --mini-batch-rows 1
head -n 4 good.csv >three.csv
mpis 0 run --model "$M" --input three.csv --output three_ref.csv --id-column id
mpis 0 run --model "$M" --input three.csv --output three_ref.h5 --id-column id
[ "$(wc -l <three_ref.csv)" = 4 ] || bad "3-row reference has $(wc -l <three_ref.csv) lines"
for nbe in "3 1 csv" "4 65536 csv" "4 65536 h5" "4 1 csv" "4 1 h5"; do
    read -r n b ext <<<"$nbe"
    mpis "$n" run --model "$M" --input three.csv --output "three_${n}_$b.$ext" --id-column id \
        --mini-batch-rows "$b" --metrics "m_${n}_$b.json"
    same "three_ref.$ext" "three_${n}_$b.$ext" "3 rows, -n $n, --mini-batch-rows $b, $ext: same as one process"
done
# the ranks left without a batch still report in
"$MS_PYTHON" -c "import json,sys; m=json.load(open(sys.argv[1])); assert len(m['per_rank']) == 4 and m['rows'] == 3, m" \
    m_4_65536.json && ok "-n 4, one batch: every rank in the metrics, 3 rows" || bad "-n 4 metrics: $(cat m_4_65536.json)"

# --- no rows ----------------------------------------------------------------------
printf 'id,a,b,c\n' >header_only.csv
printf 'id,a,b,c\n\n  \n\r\n' >header_blank.csv
"$MS_PYTHON" - <<'EOF'
import h5py, numpy as np
with h5py.File("empty_in.h5", "w") as f:
    d = f.create_dataset("features", data=np.zeros((0, 3)))
    d.attrs["feature_names"] = ["a", "b", "c"]
    f.create_dataset("id", data=np.zeros((0,), dtype=np.int64))
EOF
for input in header_only.csv header_blank.csv empty_in.h5; do
    rm -f e.csv
    mpis 3 run --model "$M" --input "$input" --output e.csv --id-column id
    [ "$(cat e.csv)" = "id,p_no,p_yes,label" ] && ok "0 rows ($input, -n 3): CSV output is the header" ||
        bad "0 rows ($input, -n 3): $(cat e.csv)"
done
for nin in "0 header_only.csv" "3 header_blank.csv" "3 empty_in.h5"; do
    read -r n input <<<"$nin"
    rm -f e.h5
    mpis "$n" run --model "$M" --input "$input" --output e.h5 --id-column id --metrics e.json
    "$MS_PYTHON" - e.h5 e.json <<'EOF' && ok "0 rows ($input, n=$n): HDF5 datasets with 0 rows, metrics rows 0" ||
import h5py, json, sys
with h5py.File(sys.argv[1], "r") as f:
    # the fixture is a scikit-learn logistic regression: a float64 model
    assert f["predictions"].shape == (0, 2) and f["predictions"].dtype == "float64", f["predictions"]
    assert f["labels"].shape == (0,) and f["ids"].shape == (0,)
    assert list(f["predictions"].attrs["output_names"]) == ["p_no", "p_yes"]
m = json.load(open(sys.argv[2]))
assert m["status"] == "ok" and m["rows"] == 0 and m["batches"] == 0, m
EOF
        bad "0 rows ($input, n=$n): HDF5 output or metrics wrong"
done

# --- 10,000 features, 1 feature (against scikit-learn) ------------------------------
if "$MS_PYTHON" "$MS_SRC/tests/hardening/limits_models.py" "$T" >models.txt 2>&1; then
    ok "$(tail -n 1 models.txt) (10,000 features, 1 feature)"
else
    cat models.txt >&2
    bad "limits_models.py: $(tail -n 1 models.txt)"
fi
grep -E '^(ok|FAIL):' models.txt
finish
