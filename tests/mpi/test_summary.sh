#!/usr/bin/env bash
# --summary: the JSON is byte-identical for no mpirun and -n 1, 2, 3 and two
# mini-batch sizes, and agrees with numpy on the full per-row output of the
# same run (counts, min, max exact; mean, std to 1e-12 relative; quantiles
# within the stated relative error; histogram and label counts), for a
# binary logistic, a multi-class and a regression model; failed rows
# (--on-error continue) count as failed. --summary-only writes only the
# summary, to --output. After --resume the summary is still exact.
source "$MS_SRC/tests/lib.sh"
"$MS_PYTHON" "$MS_SRC/scripts/make_dataset.py" synthetic --rows 5000 --features 6 --classes 2 \
    --out "$T/bin" --format csv >/dev/null
"$MS_PYTHON" "$MS_SRC/scripts/make_dataset.py" synthetic --rows 5000 --features 6 --classes 3 \
    --out "$T/multi" --format csv >/dev/null
mkdir "$T/reg"
"$MS_PYTHON" - "$T" <<'PY'
import os, sys
import numpy as np
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "scripts"))
from export_sklearn import export
from sklearn.linear_model import LinearRegression
t = sys.argv[1]
names = open(os.path.join(t, "bin", "data.csv")).readline().strip().split(",")[1:]
x = np.loadtxt(os.path.join(t, "bin", "data.csv"), delimiter=",", skiprows=1,
               usecols=range(1, len(names) + 1), max_rows=2000)
y = x @ np.arange(1, len(names) + 1) * 37.0 - 11.0   # negative and positive values
export(LinearRegression().fit(x, y), os.path.join(t, "reg", "model.h5"), feature_names=names)
# the same data with two unparsable rows, for --on-error continue
lines = open(os.path.join(t, "bin", "data.csv")).read().splitlines(True)
lines[10] = lines[10].split(",")[0] + ",oops" + "," * (len(names) - 1) + "\n"
lines[4000] = lines[4000].split(",")[0] + ",x" + "," * (len(names) - 1) + "\n"
open(os.path.join(t, "bad.csv"), "w").writelines(lines)
PY
cp "$T/bin/data.csv" "$T/reg/data.csv"

check() { # check WHAT SUMMARY OUTPUT.csv
    if "$MS_PYTHON" - "$2" "$3" <<'PY'; then ok "$1: matches numpy"; else bad "$1: differs from numpy"; fi
import json, sys
import numpy as np
import pandas as pd
s = json.load(open(sys.argv[1]))
df = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False)
fail = []
def want(cond, what):
    if not cond:
        fail.append(what)
okrows = df[df.columns[1]] != ""
want(s["rows"] == len(df), "rows")
want(s["rows_ok"] == int(okrows.sum()) and s["rows_failed"] == int((~okrows).sum()), "ok/failed")
alpha = s["quantile_relative_error"]
want(alpha == 0.001, "stated bound")
labelled = "label" in df.columns
cols = [c for c in df.columns[1:] if c != "label"]
want([c["name"] for c in s["columns"]] == cols, "column names")
for c in s["columns"]:
    v = df.loc[okrows, c["name"]].astype(np.float32).to_numpy().astype(np.float64)
    n = len(v)
    want(c["count"] == n and c["nan"] == 0, c["name"] + " count")
    want(c["min"] == v.min() and c["max"] == v.max(), c["name"] + " min/max")
    want(abs(c["mean"] - v.mean()) <= 1e-12 * abs(v.mean()), c["name"] + " mean")
    want(abs(c["std"] - v.std()) <= 1e-12 * v.std(), c["name"] + " std")
    srt = np.sort(v)
    for p in (1, 5, 25, 50, 75, 95, 99):
        exact = srt[(n - 1) * p // 100]
        want(abs(c["quantiles"]["p%d" % p] - exact) <= alpha * abs(exact), "%s p%d" % (c["name"], p))
    h = c["histogram"]
    want(sum(h["counts"]) == n and len(h["counts"]) == h["bins"] == 20, c["name"] + " histogram total")
    if h["bins_from"] == "fixed":
        b = np.minimum(np.floor(v * 20), 19).astype(int)
        want(h["counts"] == np.bincount(b, minlength=20).tolist(), c["name"] + " fixed histogram")
    else:
        # each value lands in its own bin unless it is within alpha of an edge
        lo, hi = h["lo"], h["hi"]
        want(lo == v.min() and hi == v.max(), c["name"] + " histogram range")
        edges = lo + (hi - lo) * np.arange(21) / 20
        for i in range(20):
            a, z = edges[i], edges[i + 1]
            inner = ((v >= a + alpha * np.abs(v)) & (v < z - alpha * np.abs(v))).sum()
            outer = ((v >= a - alpha * np.abs(v)) & (v <= z + alpha * np.abs(v))).sum()
            want(inner <= h["counts"][i] <= outer, "%s histogram bin %d" % (c["name"], i))
if labelled:
    counts = df.loc[okrows, "label"].value_counts()
    want({l["label"]: l["count"] for l in s["label_counts"]} ==
         {k: int(counts.get(k, 0)) for k in [l["label"] for l in s["label_counts"]]}, "label counts")
    want(sum(l["count"] for l in s["label_counts"]) == int(okrows.sum()), "label total")
else:
    want("label_counts" not in s, "no label counts for a regression")
if fail:
    print("mismatch:", fail, file=sys.stderr)
    sys.exit(1)
PY
}

for m in bin multi reg; do
    mpis 0 run --model "$T/$m/model.h5" --input "$T/$m/data.csv" --output "$T/$m.csv" \
        --id-column row_id --summary "$T/$m.json"
    check "$m model" "$T/$m.json" "$T/$m.csv"
    for n in 1 2 3; do
        for b in 333 65536; do
            mpis "$n" run --model "$T/$m/model.h5" --input "$T/$m/data.csv" \
                --output "$T/${m}_${n}_$b.csv" --id-column row_id --mini-batch-rows "$b" \
                --summary "$T/${m}_${n}_$b.json"
            same "$T/$m.json" "$T/${m}_${n}_$b.json" "$m summary, -n $n, mini-batch $b"
        done
    done
done

# --summary-only: the same summary as the output, and no per-row file
for n in 0 3; do
    mpis "$n" run --model "$T/multi/model.h5" --input "$T/multi/data.csv" \
        --output "$T/only_$n.json" --id-column row_id --summary-only --mini-batch-rows 700
    same "$T/multi.json" "$T/only_$n.json" "--summary-only, -n $n"
done
mpis 2 run --model "$T/multi/model.h5" --input "$T/multi/data.csv" --output "$T/only_fmt" \
    --summary-only --format json
same "$T/multi.json" "$T/only_fmt" "--summary-only --format json"
left=$(find "$T" -maxdepth 1 -name 'only_*' ! -name '*.json' ! -name only_fmt | wc -l)
[ "$left" = 0 ] && ok "--summary-only leaves no other file" || bad "--summary-only left files"
expect_fail 1 "needs a .json name or --format json" mpis 0 run --model "$T/multi/model.h5" \
    --input "$T/multi/data.csv" --output "$T/only.csv" --summary-only
expect_fail 4 "already exists \(use --overwrite" mpis 0 run --model "$T/multi/model.h5" \
    --input "$T/multi/data.csv" --output "$T/only_0.json" --summary-only
mpis 0 run --model "$T/multi/model.h5" --input "$T/multi/data.csv" --output "$T/only_0.json" \
    --summary-only --overwrite && same "$T/multi.json" "$T/only_0.json" "--summary-only --overwrite"
expect_fail 4 "nodir/x.json.partial: No such file" mpis 0 run --model "$T/multi/model.h5" \
    --input "$T/multi/data.csv" --output "$T/nodir/x.json" --summary-only

# failed rows are counted as failed, never as values
for n in 0 3; do
    mpis "$n" run --model "$T/bin/model.h5" --input "$T/bad.csv" --output "$T/bad_$n.csv" \
        --id-column row_id --on-error continue --mini-batch-rows 500 \
        --summary "$T/bad_$n.json" 2>/dev/null
done
same "$T/bad_0.json" "$T/bad_3.json" "summary with failed rows, -n 3"
check "with 2 failed rows" "$T/bad_0.json" "$T/bad_0.csv"
grep -q '"rows_failed": 2,' "$T/bad_0.json" && ok "2 rows failed" || bad "rows_failed is not 2"

# no summary is left by a run that fails
expect_fail 2 "error" mpis 0 run --model "$T/bin/model.h5" --input "$T/bad.csv" \
    --output "$T/fail.csv" --id-column row_id --summary "$T/fail.json"
[ ! -e "$T/fail.json" ] && [ ! -e "$T/fail.json.partial" ] && ok "failed run: no summary" ||
    bad "failed run left a summary"
# --resume: the summary state is saved with every journal record, so a
# resumed run's summary is the uninterrupted run's
rargs=(--model "$T/bin/model.h5" --input "$T/bin/data.csv" --id-column row_id
    --mini-batch-rows 5 --journal-every 0.01)
rm -f "$T"/k.csv*
MPISCORE_FAULT=before-rename mpirun -n 2 "$MPISCORE" run "${rargs[@]}" --output "$T/k.csv" \
    --summary "$T/k.json" >/dev/null 2>&1 && bad "fault injection did not fire"
[ ! -e "$T/k.json" ] && ok "killed run: no summary yet" || bad "killed run left a summary"
# the journal's last record has its summary state on disk
last=$(awk '$1 == "R" { n = $2 } END { print n + 0 }' "$T/k.csv.journal")
[ "$last" -gt 0 ] || bad "the killed run journaled no commit point"
[ -f "$T/k.csv.summary-state.$last" ] && ok "summary state of record $last kept for --resume" ||
    bad "no summary state for journal record $last"
mpis 2 run "${rargs[@]}" --output "$T/k.csv" --summary "$T/k.json" --resume 2>/dev/null
same "$T/bin.json" "$T/k.json" "summary after kill -9 and --resume"
same "$T/bin.csv" "$T/k.csv" "output after kill -9 and --resume"
ls "$T"/k.csv.summary-state.* >/dev/null 2>&1 && bad "summary state left after the run" ||
    ok "summary state removed with the journal"
# SIGTERM mid-run (slow input, batches of 5 rows: 1000 batches of >= 2 ms),
# then --resume on another rank count
targs=(--model "$T/bin/model.h5" --input "$T/bin/data.csv" --id-column row_id
    --mini-batch-rows 5 --journal-every 0.01)
rm -f "$T"/t.csv*
MPISCORE_FAULT=slow-input mpirun -n 2 "$MPISCORE" run "${targs[@]}" --output "$T/t.csv" \
    --summary "$T/t.json" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    [ -f "$T/t.csv.journal" ] && [ "$(grep -c '^R' "$T/t.csv.journal")" -gt 3 ] && break
    sleep 0.05
done
kill -TERM "$pid"
wait "$pid" && bad "SIGTERM: the run was not interrupted"
[ ! -e "$T/t.csv" ] && ok "SIGTERM: interrupted mid-run" || bad "SIGTERM came too late"
mpis 3 run "${targs[@]}" --output "$T/t.csv" --summary "$T/t.json" --resume 2>/dev/null ||
    bad "resume after SIGTERM failed"
same "$T/bin.json" "$T/t.json" "summary after SIGTERM and --resume on 3 ranks"
# a journal without summary state: resuming with --summary says so
rm -f "$T"/u.csv*
# journal every batch: the run is over in a few ms, before any 0.01 s tick
MPISCORE_FAULT=before-rename mpis 0 run "${targs[@]}" --journal-every 0 --output "$T/u.csv" \
    >/dev/null 2>&1 || true
[ "$(grep -c '^R' "$T/u.csv.journal")" -gt 0 ] || bad "no journal record to resume from"
expect_fail 2 "summary-state.*interrupted run kept no summary state" mpis 0 run "${targs[@]}" \
    --output "$T/u.csv" --summary "$T/u.json" --resume
expect_fail 1 "--summary-only cannot be resumed" mpis 0 run "${rargs[@]}" \
    --output "$T/v.json" --summary-only --resume
finish
