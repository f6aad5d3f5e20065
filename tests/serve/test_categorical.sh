#!/usr/bin/env bash
# String categoricals through the endpoint: a Pipeline (OneHotEncoder over
# text columns with spaces and parentheses, a scaler over numbers) answers
# exactly as `mpiscore run` does on the same rows and as scikit-learn's
# predict_proba: /score as CSV byte for byte, split JSON and OIP infer with
# BYTES inputs value for value (float64); an unseen category under
# handle_unknown="error" is a 400 naming the row and column.
. "$MS_SRC/tests/lib.sh"
. "$MS_SRC/tests/serve/serve_lib.sh"
"$MS_PYTHON" - "$T" "$MS_SRC" <<'PY'
import os, pickle, subprocess, sys
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
t, src = sys.argv[1:3]
rng = np.random.default_rng(3)
n = 600
df = pd.DataFrame({
    "contract": rng.choice(["Month-to-month", "One year", "Two year"], n),
    "payment": rng.choice(["Credit card (automatic)", "Electronic check", "Mailed check"], n),
    "tenure": rng.integers(0, 72, n).astype(float),
    "charges": np.round(rng.uniform(18, 120, n), 2),
})
y = (((df["contract"] == "Month-to-month") & (df["charges"] > 70)) | (rng.random(n) < 0.1)).astype(int)
pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="error"), ["contract", "payment"]),
                         ("num", StandardScaler(), ["tenure", "charges"])])
p = Pipeline([("pre", pre), ("lr", LogisticRegression(max_iter=500))]).fit(df, y)
pickle.dump(p, open(f"{t}/p.pkl", "wb"))
subprocess.check_call([sys.executable, f"{src}/scripts/export_sklearn.py", f"{t}/p.pkl", f"{t}/p.h5"],
                      stdout=subprocess.DEVNULL)
rows = df.iloc[:200].copy()
rows.insert(0, "id", [f"c{i}" for i in range(len(rows))])
rows.to_csv(f"{t}/rows.csv", index=False)
np.savetxt(f"{t}/ref.txt", p.predict_proba(df.iloc[:200])[:, 1])
PY
new_endpoint cats
"$MPISCORE" model register churn "$T/p.h5" >/dev/null
"$MPISCORE" endpoint update cats --deployment blue=churn:1 --traffic blue=100 >/dev/null
start_server cats

"$MPISCORE" run --model "$T/p.h5" --input "$T/rows.csv" --output "$T/run.csv" --id-column id 2>"$T/run.err" ||
    bad "run: $(cat "$T/run.err")"
"$MS_PYTHON" - "$T" <<'PY' && ok "run on the raw table equals scikit-learn's predict_proba (1e-12)" || bad "run differs from scikit-learn"
import sys, numpy as np, pandas as pd
t = sys.argv[1]
got = pd.read_csv(f"{t}/run.csv")["p_1"].to_numpy()
assert np.max(np.abs(got - np.loadtxt(f"{t}/ref.txt"))) < 1e-12
PY
curl -s -o "$T/serve.csv" -H "Authorization: Bearer $PKEY" -H "Content-Type: text/csv" \
    --data-binary @"$T/rows.csv" "$URL/score"
same "$T/run.csv" "$T/serve.csv" "/score text/csv with string categoricals is byte-identical to run's output"

"$MS_PYTHON" - "$URL" "$PKEY" "$T" <<'PY' && ok "split JSON and OIP infer (BYTES) answers equal run's, bit for bit" || bad "JSON answers with string categoricals differ from run"
import csv, json, sys
import requests
url, key, t = sys.argv[1:4]
h = {"Authorization": "Bearer " + key}
rows = list(csv.reader(open(f"{t}/rows.csv")))
head, rows = rows[0], rows[1:]
run = list(csv.reader(open(f"{t}/run.csv")))[1:]
data = [[r[0], r[1], r[2], float(r[3]), float(r[4])] for r in rows]
r = requests.post(url + "/score", headers=h, json={"columns": head, "data": data})
assert r.status_code == 200, r.text
for got, want in zip(r.json()["data"], run):
    assert got[0] == want[0] and float(got[2]) == float(want[2]) and str(got[3]) == want[3], (got, want)
ins = [{"name": "contract", "datatype": "BYTES", "shape": [len(rows)], "data": [r[1] for r in rows]},
       {"name": "payment", "datatype": "BYTES", "shape": [len(rows)], "data": [r[2] for r in rows]},
       {"name": "tenure", "datatype": "FP64", "shape": [len(rows)], "data": [float(r[3]) for r in rows]},
       {"name": "charges", "datatype": "FP64", "shape": [len(rows)], "data": [float(r[4]) for r in rows]}]
r = requests.post(url + "/v2/models/blue/infer", headers=h, json={"inputs": ins})
assert r.status_code == 200, r.text
o = {x["name"]: x["data"] for x in r.json()["outputs"]}
assert [float(v) for v in o["p_1"]] == [float(w[2]) for w in run]
PY
http POST /score -H "Authorization: Bearer $PKEY" -H "Content-Type: application/json" \
    --data '{"columns":["contract","payment","tenure","charges"],"data":[["One year","Mailed check",3,50.5],["Three year","Mailed check",3,50.5]]}'
expect_code 400 "an unseen category under handle_unknown=error"
grep -q 'row 1, column \\"contract\\": unknown category' "$T/body" && ok "the 400 names the row and column" ||
    bad "unknown-category answer: $(cat "$T/body")"
http POST /score -H "Authorization: Bearer $PKEY" -H "Content-Type: application/json" \
    --data '{"columns":["contract","payment","tenure","charges"],"data":[["One year","Mailed check",3,50.5]]}'
[ "$CODE" = 200 ] && ok "still serving after the refusal" || bad "after the refusal: $CODE $(cat "$T/body")"
finish
