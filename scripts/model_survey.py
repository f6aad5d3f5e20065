#!/usr/bin/env python3
"""Survey of ordinary tabular models: does mpiscore score what data
scientists fit every day?

Trains a broad set of scikit-learn / XGBoost models (bare and in Pipelines
with a ColumnTransformer of imputers, scalers and encoders) on a mixed-type
table (numbers with blanks, string categoricals, a numeric category), then
for each one: exports it (scripts/export_sklearn.py), runs `mpiscore run` on
the raw CSV of a scoring table and compares every output column with the
library's own predict_proba / decision_function / predict, and the label
column with predict. Each model is classified:

  ok        every value within tolerance (float64 models: 1e-9 relative,
            float32 models: 1e-5 relative, as the library's float32 sums
            round; in practice far closer, see tests/fidelity), labels equal
  refused   the exporter or `mpiscore run` refuses it with a message (or
            refuses rows with a message naming them)
  WRONG     scores or labels differ: a defect (none allowed)
  crash     an exception that is not a refusal (a defect too)

Usage: /usr/bin/python3 scripts/model_survey.py [--fast] [--work DIR]
       [--markdown FILE] [--goal 80]
  (env MPISCORE = the mpiscore binary, else build/mpiscore)
Exit status 1 when any model is WRONG or crashes, or fewer than --goal
percent score ok. --markdown writes the table for docs/models.md.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_sklearn import ExportError, export  # noqa: E402

warnings.filterwarnings("ignore")

CATS = {
    "gender": ["Female", "Male"],
    "Contract": ["Month-to-month", "One year", "Two year"],
    "InternetService": ["DSL", "Fiber optic", "No"],
    "PaymentMethod": ["Electronic check", "Mailed check", "Bank transfer (automatic)",
                      "Credit card (automatic)"],
}
NUMS = ["tenure", "MonthlyCharges", "TotalCharges"]


def table(n, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({c: pd.Series(rng.choice(v, n), dtype=object) for c, v in CATS.items()})
    df["SeniorCitizen"] = rng.integers(0, 2, n)
    df["tenure"] = rng.integers(0, 73, n).astype(np.float64)
    df["MonthlyCharges"] = np.round(rng.uniform(18.25, 118.75, n), 2)
    df["TotalCharges"] = np.round(df["tenure"] * df["MonthlyCharges"] * rng.uniform(0.9, 1.1, n),
                                  2)
    df.loc[rng.uniform(size=n) < 0.04, "TotalCharges"] = np.nan
    df.loc[rng.uniform(size=n) < 0.04, "PaymentMethod"] = np.nan
    z = (0.8 * (df["Contract"] == "Month-to-month") + 0.6 * (df["InternetService"] == "Fiber optic")
         - 0.03 * df["tenure"] + 0.01 * df["MonthlyCharges"] - 0.5)
    y = {
        "binary": (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int),
        "multiclass": np.digitize(z + rng.normal(0, 0.5, n), [-0.5, 0.5]),
        "regression": 20 + 3 * z + rng.normal(0, 1, n),
        "positive": np.exp(0.3 * z + rng.normal(0, 0.2, n)),
    }
    return df, y


def prep(scale=True):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    return ColumnTransformer([
        ("num", make_pipeline(*num), NUMS),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), list(CATS)),
        ("pass", "passthrough", ["SeniorCitizen"]),
    ])


def pipe(est, scale=True):
    from sklearn.pipeline import Pipeline

    return Pipeline([("prep", prep(scale)), ("model", est)])


def cases(fast):
    """(name, task, builder, input): input "table" is the mixed table,
    "category" it with pandas categoricals, "numeric" its number columns
    (NaN kept), "filled" them without NaN."""
    from sklearn import discriminant_analysis as da
    from sklearn import ensemble as en
    from sklearn import linear_model as lm
    from sklearn import naive_bayes as nb
    from sklearn import neighbors as nbr
    from sklearn import svm, tree
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder
    import xgboost as xgb

    n_trees = 10 if fast else 50
    rs = 0
    hgb_cat = Pipeline([
        ("ord", ColumnTransformer([("cat", OrdinalEncoder(), list(CATS))],
                                  remainder="passthrough")),
        ("model", en.HistGradientBoostingClassifier(max_iter=n_trees, random_state=rs,
                                                    categorical_features=[0, 1, 2, 3]))])
    return [
        # classifiers
        ("LogisticRegression", "binary", lambda: pipe(lm.LogisticRegression(max_iter=1000)),
         "table"),
        ("LogisticRegression (3 classes)", "multiclass",
         lambda: pipe(lm.LogisticRegression(max_iter=1000)), "table"),
        ("LogisticRegression (bare)", "binary", lambda: lm.LogisticRegression(max_iter=1000),
         "filled"),
        ("GridSearchCV(LogisticRegression)", "binary",
         lambda: GridSearchCV(pipe(lm.LogisticRegression(max_iter=1000)),
                              {"model__C": [0.1, 1.0]}, cv=2), "table"),
        ("RidgeClassifier", "binary", lambda: pipe(lm.RidgeClassifier()), "table"),
        ("SGDClassifier (log_loss)", "binary",
         lambda: pipe(lm.SGDClassifier(loss="log_loss", random_state=rs)), "table"),
        ("SGDClassifier (hinge)", "binary", lambda: pipe(lm.SGDClassifier(random_state=rs)),
         "table"),
        ("LinearSVC", "binary", lambda: pipe(svm.LinearSVC(dual=False)), "table"),
        ("Perceptron", "binary", lambda: pipe(lm.Perceptron(random_state=rs)), "table"),
        ("DecisionTreeClassifier", "binary",
         lambda: pipe(tree.DecisionTreeClassifier(max_depth=6, random_state=rs), False), "table"),
        ("RandomForestClassifier", "binary",
         lambda: pipe(en.RandomForestClassifier(n_estimators=n_trees, random_state=rs), False),
         "table"),
        ("RandomForestClassifier (bare)", "multiclass",
         lambda: en.RandomForestClassifier(n_estimators=n_trees, random_state=rs), "filled"),
        ("ExtraTreesClassifier", "binary",
         lambda: pipe(en.ExtraTreesClassifier(n_estimators=n_trees, random_state=rs), False),
         "table"),
        ("GradientBoostingClassifier", "binary",
         lambda: pipe(en.GradientBoostingClassifier(n_estimators=n_trees, random_state=rs),
                      False), "table"),
        ("GradientBoostingClassifier (3 classes)", "multiclass",
         lambda: pipe(en.GradientBoostingClassifier(n_estimators=n_trees, random_state=rs),
                      False), "table"),
        ("HistGradientBoostingClassifier", "binary",
         lambda: pipe(en.HistGradientBoostingClassifier(max_iter=n_trees, random_state=rs),
                      False), "table"),
        ("HistGradientBoostingClassifier (3 classes)", "multiclass",
         lambda: pipe(en.HistGradientBoostingClassifier(max_iter=n_trees, random_state=rs),
                      False), "table"),
        ("HistGradientBoostingClassifier (bare, NaN)", "binary",
         lambda: en.HistGradientBoostingClassifier(max_iter=n_trees, random_state=rs), "numeric"),
        ("HistGradientBoostingClassifier (categorical_features)", "binary", lambda: hgb_cat,
         "table"),
        ("MLPClassifier (3 classes)", "multiclass",
         lambda: pipe(MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=rs)),
         "table"),
        ("MLPClassifier", "binary",
         lambda: pipe(MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=rs)),
         "table"),
        ("XGBClassifier", "binary",
         lambda: pipe(xgb.XGBClassifier(n_estimators=n_trees, max_depth=4, random_state=rs),
                      False), "table"),
        ("XGBClassifier (3 classes)", "multiclass",
         lambda: pipe(xgb.XGBClassifier(n_estimators=n_trees, max_depth=4, random_state=rs),
                      False), "table"),
        ("XGBClassifier (enable_categorical)", "binary",
         lambda: xgb.XGBClassifier(n_estimators=n_trees, max_depth=4, random_state=rs,
                                   tree_method="hist", enable_categorical=True), "category"),
        ("XGBClassifier (bare, NaN)", "binary",
         lambda: xgb.XGBClassifier(n_estimators=n_trees, max_depth=4, random_state=rs),
         "numeric"),
        ("LinearDiscriminantAnalysis", "binary", lambda: pipe(da.LinearDiscriminantAnalysis()),
         "table"),
        ("GaussianNB", "binary", lambda: pipe(nb.GaussianNB()), "table"),
        ("BernoulliNB", "binary", lambda: pipe(nb.BernoulliNB()), "table"),
        ("KNeighborsClassifier", "binary", lambda: pipe(nbr.KNeighborsClassifier()), "table"),
        ("SVC (rbf)", "binary", lambda: pipe(svm.SVC()), "table"),
        ("AdaBoostClassifier", "binary",
         lambda: pipe(en.AdaBoostClassifier(n_estimators=n_trees, random_state=rs)), "table"),
        ("BaggingClassifier", "binary",
         lambda: pipe(en.BaggingClassifier(n_estimators=5, random_state=rs)), "table"),
        ("CalibratedClassifierCV(LinearSVC)", "binary",
         lambda: pipe(CalibratedClassifierCV(svm.LinearSVC(dual=False), cv=2)), "table"),
        # regressors
        ("LinearRegression", "regression", lambda: pipe(lm.LinearRegression()), "table"),
        ("LinearRegression (bare)", "regression", lambda: lm.LinearRegression(), "filled"),
        ("Ridge", "regression", lambda: pipe(lm.Ridge()), "table"),
        ("Lasso", "regression", lambda: pipe(lm.Lasso(alpha=0.01)), "table"),
        ("ElasticNet", "regression", lambda: pipe(lm.ElasticNet(alpha=0.01)), "table"),
        ("HuberRegressor", "regression", lambda: pipe(lm.HuberRegressor(max_iter=500)), "table"),
        ("BayesianRidge", "regression", lambda: pipe(lm.BayesianRidge()), "table"),
        ("SGDRegressor", "regression", lambda: pipe(lm.SGDRegressor(random_state=rs)), "table"),
        ("LinearSVR", "regression", lambda: pipe(svm.LinearSVR(dual=True, max_iter=5000,
                                                               random_state=rs)), "table"),
        ("PoissonRegressor", "positive", lambda: pipe(lm.PoissonRegressor()), "table"),
        ("GammaRegressor", "positive", lambda: pipe(lm.GammaRegressor()), "table"),
        ("TweedieRegressor", "positive", lambda: pipe(lm.TweedieRegressor(power=1.5,
                                                                          link="log")), "table"),
        ("DecisionTreeRegressor", "regression",
         lambda: pipe(tree.DecisionTreeRegressor(max_depth=6, random_state=rs), False), "table"),
        ("RandomForestRegressor", "regression",
         lambda: pipe(en.RandomForestRegressor(n_estimators=n_trees, random_state=rs), False),
         "table"),
        ("ExtraTreesRegressor", "regression",
         lambda: pipe(en.ExtraTreesRegressor(n_estimators=n_trees, random_state=rs), False),
         "table"),
        ("GradientBoostingRegressor", "regression",
         lambda: pipe(en.GradientBoostingRegressor(n_estimators=n_trees, random_state=rs), False),
         "table"),
        ("HistGradientBoostingRegressor", "regression",
         lambda: pipe(en.HistGradientBoostingRegressor(max_iter=n_trees, random_state=rs), False),
         "table"),
        ("HistGradientBoostingRegressor (poisson)", "positive",
         lambda: pipe(en.HistGradientBoostingRegressor(loss="poisson", max_iter=n_trees,
                                                       random_state=rs), False), "table"),
        ("MLPRegressor", "regression",
         lambda: pipe(MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=rs)),
         "table"),
        ("XGBRegressor", "regression",
         lambda: pipe(xgb.XGBRegressor(n_estimators=n_trees, max_depth=4, random_state=rs),
                      False), "table"),
        ("XGBRegressor (bare, NaN)", "regression",
         lambda: xgb.XGBRegressor(n_estimators=n_trees, max_depth=4, random_state=rs), "numeric"),
        ("XGBRanker (bare, NaN)", "rank",
         lambda: xgb.XGBRanker(n_estimators=n_trees, max_depth=4, random_state=rs), "numeric"),
        ("TransformedTargetRegressor(log/exp)", "positive",
         lambda: pipe(TransformedTargetRegressor(lm.Ridge(), func=np.log, inverse_func=np.exp)),
         "table"),
        ("KNeighborsRegressor", "regression", lambda: pipe(nbr.KNeighborsRegressor()), "table"),
        ("SVR (rbf)", "regression", lambda: pipe(svm.SVR()), "table"),
        ("KernelRidge", "regression", lambda: pipe(KernelRidge()), "table"),
    ]


def frame(df, kind):
    if kind == "table":
        return df
    if kind == "category":  # pandas categoricals, as XGBoost's enable_categorical takes them
        out = df.copy()
        for c, v in CATS.items():
            out[c] = pd.Categorical(out[c], categories=v)
        return out
    num = df[NUMS + ["SeniorCitizen"]]
    return num.fillna(0.0) if kind == "filled" else num


def reference(est, X, cols):
    """What the library says for the output columns mpiscore wrote."""
    out = {}
    final = est
    if hasattr(est, "best_estimator_"):
        final = est.best_estimator_
    if hasattr(final, "steps"):
        final = final.steps[-1][1]
    if any(c.startswith("p_") for c in cols):
        proba = est.predict_proba(X)
        for i, c in enumerate(c for c in cols if c.startswith("p_")):
            out[c] = proba[:, i]
    if any(c.startswith("decision") for c in cols):
        d = np.asarray(est.decision_function(X))
        d = d.reshape(len(X), -1)
        for i, c in enumerate(c for c in cols if c.startswith("decision")):
            out[c] = d[:, i]
    if any(c.startswith("score") for c in cols):
        p = np.asarray(est.predict(X), dtype=np.float64).reshape(len(X), -1)
        for i, c in enumerate(c for c in cols if c.startswith("score")):
            out[c] = p[:, i]
    labels = [str(v) for v in est.predict(X)] if "label" in cols else None
    return out, labels, final


def term_scale(est, final, X):
    """A linear model's scores are sums of terms; two summation orders of
    float64 terms differ by up to ~n ulp of the largest term, not of the
    sum (an ill-conditioned LinearRegression on collinear one-hot columns
    has weights of 1e13 that cancel). Per row: |intercept| + |X| @ |coef|
    for the scores of a linear model, else 1."""
    coef = getattr(final, "coef_", None)
    if coef is None or not hasattr(final, "intercept_"):
        return 1.0
    if hasattr(est, "best_estimator_"):
        est = est.best_estimator_
    xt = est[:-1].transform(X) if hasattr(est, "steps") else X
    xt = np.abs(np.asarray(xt.toarray() if hasattr(xt, "toarray") else xt, dtype=np.float64))
    coef = np.abs(np.atleast_2d(np.asarray(coef, dtype=np.float64)))
    return np.max(xt @ coef.T, axis=1) + np.max(np.abs(np.atleast_1d(final.intercept_)))


def close(got, want, tol, scale=1.0):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return bool(np.all(np.abs(got - want) <= tol * np.maximum(scale, np.abs(want))))


def survey_one(name, task, build, kind, data, work, mpiscore):
    train, ytr, score = data
    Xtr, Xsc = frame(train, kind), frame(score, kind)
    y = ytr["binary" if task == "rank" else task]
    est = build()
    if task == "rank":
        qid = np.arange(len(Xtr)) // 20
        est.fit(Xtr, (y + (Xtr["tenure"].fillna(0) > 36)).astype(int), qid=qid)
    else:
        est.fit(Xtr, y)
    model = os.path.join(work, "model.h5")
    try:
        export(est, model)
    except ExportError as e:
        return "refused", f"export: {e}"
    with h5py.File(model, "r") as f:
        prec = f.attrs.get("precision", "float32")
        prec = prec.decode() if isinstance(prec, bytes) else str(prec)
    inp, out = os.path.join(work, "in.csv"), os.path.join(work, "out.csv")
    Xsc.to_csv(inp, index=False)
    r = subprocess.run([mpiscore, "run", "--model", model, "--input", inp, "--output", out,
                        "--overwrite", "--precision", "float64", "--on-error", "continue",
                        "--max-errors", "100%"], capture_output=True, text=True)
    if r.returncode != 0:
        msg = r.stderr.strip().splitlines()
        return "refused", f"run: {msg[-1] if msg else r.returncode}"
    res = pd.read_csv(out, keep_default_na=False, dtype=str)
    if len(res) != len(Xsc):
        return "WRONG", f"{len(res)} output rows for {len(Xsc)}"
    cols = list(res.columns)
    want, labels, final = reference(est, Xsc, cols)
    vals = res[list(want)].replace("", "nan").to_numpy(dtype=np.float64)
    bad = np.isnan(vals).all(axis=1)
    if bad.any():
        return "refused", f"run: {int(bad.sum())} rows refused with a message (errors file)"
    tol = 1e-9 if prec == "float64" else 1e-5
    for i, c in enumerate(want):
        scale = 1.0 if c.startswith("p_") else np.maximum(1.0, term_scale(est, final, Xsc))
        if not close(vals[:, i], want[c], tol, scale):
            j = int(np.argmax(np.abs(vals[:, i] - want[c])))
            return "WRONG", f"{c} row {j + 1}: {vals[j, i]!r} != {want[c][j]!r}"
    if labels is not None:
        diff = [i for i, (a, b) in enumerate(zip(res["label"], labels)) if a != b]
        # a tie between class scores within the tolerance may pick either
        diff = [i for i in diff if np.sort(vals[i])[-2:].ptp() > tol * 10] if vals.shape[1] > 1 \
            else [i for i in diff if abs(vals[i, 0]) > tol * 10 and abs(vals[i, 0] - 0.5) > tol]
        if diff:
            return "WRONG", f"label row {diff[0] + 1}: {res['label'][diff[0]]} != {labels[diff[0]]}"
    return "ok", f"{prec}, {len(want)} output column(s) and labels" if labels else \
        f"{prec}, {len(want)} output column(s)"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fast", action="store_true", help="small tables and ensembles (the test)")
    ap.add_argument("--work", help="scratch folder (default: a temporary one)")
    ap.add_argument("--markdown", help="write the result table here (docs/models.md section)")
    ap.add_argument("--goal", type=float, default=80.0, help="percent that must score ok")
    a = ap.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    mpiscore = os.environ.get("MPISCORE", os.path.join(here, "build", "mpiscore"))
    os.environ.setdefault("MPISCORE", mpiscore)  # the XGBoost import runs it
    n_train, n_score = (600, 200) if a.fast else (3000, 1000)
    train, ytr = table(n_train, 1)
    score, _ = table(n_score, 2)
    work = a.work or tempfile.mkdtemp(prefix="model_survey.")
    os.makedirs(work, exist_ok=True)
    rows, t0 = [], time.time()
    for name, task, build, kind in cases(a.fast):
        try:
            verdict, why = survey_one(name, task, build, kind, (train, ytr, score), work,
                                      mpiscore)
        except Exception as e:  # noqa: BLE001 - a crash is a finding, reported
            verdict, why = "crash", f"{type(e).__name__}: {e}"
        rows.append((name, task, verdict, " ".join(str(why).split())))
        print(f"{verdict:8} {name:55} {rows[-1][3][:150]}", flush=True)
    n = len(rows)
    count = {v: sum(1 for r in rows if r[2] == v) for v in ("ok", "refused", "WRONG", "crash")}
    pct = 100.0 * count["ok"] / n
    print(f"\n{n} models: {count['ok']} ok ({pct:.1f}%), {count['refused']} refused, "
          f"{count['WRONG']} WRONG, {count['crash']} crash ({time.time() - t0:.0f} s)")
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(f"{n} models: **{count['ok']} score within tolerance ({pct:.1f}%)**, "
                    f"{count['refused']} refused with a message, {count['WRONG']} wrong, "
                    f"{count['crash']} crashed.\n\n| model | task | result | detail |\n"
                    "| --- | --- | --- | --- |\n")
            for name, task, verdict, why in rows:
                f.write(f"| {name} | {task} | {verdict} | {why.replace('|', '/')[:200]} |\n")
    ok = count["WRONG"] == 0 and count["crash"] == 0 and pct >= a.goal
    print(f"{count['ok'] + count['refused']} passed, {count['WRONG'] + count['crash']} failed")
    if pct < a.goal:
        print(f"FAIL: {pct:.1f}% score ok, below the goal of {a.goal:.0f}%")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
