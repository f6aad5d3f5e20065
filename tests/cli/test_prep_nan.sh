#!/usr/bin/env bash
# A preprocessing program can compute a missing or infinite value from
# present ones (log of a negative or of zero). scikit-learn's estimator then
# refuses the whole predict; mpiscore refuses that row like a bad cell,
# naming its file, line and the estimator's feature: exit 2 under --on-error abort, and
# with continue the row keeps its place with empty values, the errors file
# names it, and every other row equals scikit-learn's predict_proba. A
# tree model that routes missing values scores the row as sklearn does.
source "$MS_SRC/tests/lib.sh"
cd "$T"
"$MS_PYTHON" - <<'PY'
import os, pickle, subprocess, sys
import numpy as np, pandas as pd
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import HistGradientBoostingClassifier
rng = np.random.default_rng(4)
x = pd.DataFrame(rng.uniform(0.1, 5, size=(300, 3)), columns=["a", "b", "c"])
y = (np.log(x["a"]) - np.log(x["b"]) > 0).astype(int)
exp = os.environ["MS_SRC"] + "/scripts/export_sklearn.py"
for name, est in (("lr", LogisticRegression()), ("hgb", HistGradientBoostingClassifier(max_iter=20))):
    p = make_pipeline(FunctionTransformer(np.log), est).fit(x, y)
    pickle.dump(p, open(f"{name}.pkl", "wb"))
    subprocess.check_call([sys.executable, exp, f"{name}.pkl", f"{name}.h5"], stdout=subprocess.DEVNULL)
t = x.iloc[:6].copy()
t.loc[2, "a"] = -1.0   # log(-1) = nan: line 4 of the file
t.loc[4, "b"] = 0.0    # log(0) = -inf: line 6
t.insert(0, "id", [f"r{i}" for i in range(6)])
t.to_csv("t.csv", index=False, float_format="%.17g")
lr = pickle.load(open("lr.pkl", "rb"))
good = [0, 1, 3, 5]
np.savetxt("lr_ref.txt", lr.predict_proba(t.iloc[good][["a", "b", "c"]])[:, 1])
import warnings
warnings.simplefilter("ignore")
hgb = pickle.load(open("hgb.pkl", "rb"))
try:
    np.savetxt("hgb_ref.txt", hgb.predict_proba(t[["a", "b", "c"]])[:, 1])
except ValueError as e:  # sklearn refuses -inf: compare the NaN row only
    np.savetxt("hgb_ref.txt", hgb.predict_proba(t.iloc[:4][["a", "b", "c"]])[:, 1])
PY

expect_fail 2 '^mpiscore: error: t\.csv:4: preprocessing gives a missing or infinite value for feature "f0", which the estimator cannot score$' \
    mpis 2 run --model lr.h5 --input t.csv --output out.csv --id-column id
[ ! -e out.csv ] && ok "no output after the refusal" || bad "output left behind"

mpis 2 run --model lr.h5 --input t.csv --output out.csv --id-column id --on-error continue \
    --mini-batch-rows 2 2>err.txt || bad "continue run failed: $(cat err.txt)"
"$MS_PYTHON" - <<'PY' && ok "refused rows keep their place, the others equal predict_proba" || bad "continue output"
import numpy as np, pandas as pd
o = pd.read_csv("out.csv", keep_default_na=False)
assert list(o["id"]) == [f"r{i}" for i in range(6)], o
assert (o.loc[[2, 4], "p_1"] == "").all(), o
got = o.loc[[0, 1, 3, 5], "p_1"].astype(float).to_numpy()
ref = np.loadtxt("lr_ref.txt")
assert np.max(np.abs(got - ref)) < 1e-12, (got, ref)
e = pd.read_csv("out.csv.errors.csv")
assert list(e["line"]) == [4, 6] and list(e["column"]) == ["f0", "f1"], e
assert e["reason"].str.contains("preprocessing gives a missing or infinite value").all(), e
PY
# a model that routes missing values scores the NaN row as sklearn does
mpis 2 run --model hgb.h5 --input t.csv --output hgb.csv --id-column id --on-error continue 2>err.txt ||
    bad "hgb run failed: $(cat err.txt)"
"$MS_PYTHON" - <<'PY' && ok "HistGradientBoosting scores the NaN row as scikit-learn" || bad "hgb output"
import numpy as np, pandas as pd
o = pd.read_csv("hgb.csv", keep_default_na=False)
ref = np.loadtxt("hgb_ref.txt")
got = o["p_1"].iloc[:len(ref)].astype(float).to_numpy()
assert np.max(np.abs(got - ref)) < 1e-12, (got, ref)
PY
finish
