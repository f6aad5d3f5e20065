#!/usr/bin/env bash
# Answers of mpiscore serve equal `mpiscore run` on the same rows bit for
# bit: linear, tree ensemble (with missing values) and MLP models, through
# /score as CSV (byte-identical output), as split JSON and through OIP infer.
. "$MS_SRC/tests/lib.sh"
. "$MS_SRC/tests/serve/serve_lib.sh"
"$MS_PYTHON" - "$T" "$MS_SRC" <<'PY'
import os, sys
import numpy as np
t, src = sys.argv[1:3]
sys.path.insert(0, os.path.join(src, "scripts"))
from export_sklearn import export
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
rng = np.random.default_rng(7)
x = rng.normal(size=(400, 4))
y = (x @ [1.0, -2.0, 0.5, 0.3] + rng.normal(size=400) > 0).astype(int)
names = ["f_a", "f_b", "f_c", "f_d"]
export(LogisticRegression().fit(x, y), f"{t}/linear.h5", feature_names=names)
export(GradientBoostingClassifier(n_estimators=30, max_depth=3).fit(x, y), f"{t}/trees.h5", feature_names=names)
xm = x.copy()
xm[rng.random(xm.shape) < 0.1] = np.nan
export(HistGradientBoostingRegressor(max_iter=20).fit(xm, x[:, 0] * 3 + y), f"{t}/hgb.h5", feature_names=names)
export(MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=300, random_state=0).fit(x, y), f"{t}/mlp.h5", feature_names=names)
# rows with every kind of text the CSV reader takes: long digit strings, exponents, integers
r = rng.normal(size=(1000, 4)) * rng.choice([1e-3, 1, 1e3], size=(1000, 4))
with open(f"{t}/rows.csv", "w") as f, open(f"{t}/rows_missing.csv", "w") as g:
    f.write("id,f_a,f_b,f_c,f_d\n")
    g.write("id,f_a,f_b,f_c,f_d\n")
    for i, v in enumerate(r):
        cells = [repr(float(v[0])), f"{v[1]:.3e}", f"{v[2]:.9f}", str(int(v[3] * 100))]
        f.write(f"r{i}," + ",".join(cells) + "\n")
        gm = [c if rng.random() > 0.15 else "" for c in cells]
        g.write(f"r{i}," + ",".join(gm) + "\n")
PY
new_endpoint fid
for m in linear trees hgb mlp; do
    "$MPISCORE" model register "$m" "$T/$m.h5" >/dev/null
done
"$MPISCORE" endpoint update fid --deployment linear=linear:1 --deployment trees=trees:1 \
    --deployment hgb=hgb:1 --deployment mlp=mlp:1 --traffic linear=100 >/dev/null
start_server fid

for m in linear trees hgb mlp; do
    rows=rows.csv
    [ "$m" = hgb ] && rows=rows_missing.csv
    "$MPISCORE" run --model "$T/$m.h5" --input "$T/$rows" --output "$T/run_$m.csv" --id-column id 2>"$T/run.err" ||
        bad "run $m: $(cat "$T/run.err")"
    curl -s -o "$T/serve_$m.csv" -H "Authorization: Bearer $PKEY" -H "mpiscore-deployment: $m" \
        -H "Content-Type: text/csv" --data-binary @"$T/$rows" "$URL/score"
    same "$T/run_$m.csv" "$T/serve_$m.csv" "$m: /score text/csv answer is byte-identical to run's output"
    "$MS_PYTHON" - "$URL" "$PKEY" "$m" "$T/$rows" "$T/run_$m.csv" <<'PY' && ok "$m: split JSON and OIP infer answers equal run's, bit for bit" || bad "$m: JSON answers differ from run"
import csv, json, sys
import numpy as np
import requests
url, key, dep, rows_path, run_path = sys.argv[1:6]
h = {"Authorization": "Bearer " + key, "azureml-model-deployment": dep, "Content-Type": "application/json"}
rows = list(csv.reader(open(rows_path)))
head, rows = rows[0], rows[1:]
run = list(csv.reader(open(run_path)))
run_head, run = run[0], run[1:]
outs = [c for c in run_head[1:] if c != "label"]
def f32(s):
    return np.float32(s).view(np.uint32) if s != "" else None
# the numbers as written in the CSV, as JSON number tokens (null when empty)
def tok(s):
    return s if s != "" else "null"
body = '{"columns":' + json.dumps(head) + ',"data":[' + ",".join(
    "[" + json.dumps(r[0]) + "," + ",".join(tok(c) for c in r[1:]) + "]" for r in rows) + "]}"
r = requests.post(url + "/score", headers=h, data=body)
assert r.status_code == 200, r.text
d = r.json()
assert d["columns"] == run_head, (d["columns"], run_head)
for got, want in zip(d["data"], run):
    assert got[0] == want[0]
    for k in range(len(outs)):
        assert f32(repr(got[1 + k])) == f32(want[1 + k]), (got, want)
    if "label" in run_head:
        assert str(got[-1]) == want[-1], (got, want)
# OIP: one [rows, 4] tensor of the same tokens
body = '{"inputs":[{"name":"x","datatype":"FP64","shape":[%d,4],"data":[' % len(rows) + ",".join(
    "[" + ",".join(tok(c) for c in r[1:]) + "]" for r in rows) + "]}]}"
r = requests.post(url + "/v2/models/" + dep + "/infer", headers=h, data=body)
assert r.status_code == 200, r.text
o = {x["name"]: x for x in r.json()["outputs"]}
for k, name in enumerate(outs):
    col = o[name]["data"]
    for i, want in enumerate(run):
        assert f32(repr(col[i])) == f32(want[1 + k]), (name, i, col[i], want)
if "label" in run_head:
    assert [str(v) for v in o["label"]["data"]] == [w[-1] for w in run]
# short requests (the tree kernels take their scalar path below 8 rows): the same lines
raw = open(rows_path).read().splitlines()
out = open(run_path).read().splitlines()
s = requests.Session()
for k in (1, 2, 3, 7, 8, 9):
    for i in range(0, 60, k):
        body = "\n".join([raw[0]] + raw[1 + i:1 + i + k]) + "\n"
        r = s.post(url + "/score", headers={**h, "Content-Type": "text/csv"}, data=body)
        assert r.status_code == 200, r.text
        assert r.text == "\n".join([out[0]] + out[1 + i:1 + i + k]) + "\n", (k, i, r.text)
PY
done
finish
