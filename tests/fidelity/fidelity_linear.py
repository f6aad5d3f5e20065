"""Fidelity of linear models: train with scikit-learn here, export, score with
`mpirun -n 2 mpiscore run`, compare with scikit-learn's own predict_proba /
predict / decision_function on every row: |diff| <= 1e-12, labels equal.

Usage: fidelity_linear.py WORKDIR   (env MPISCORE = binary, MS_SRC = source tree)
Prints one line per case and ends with "N passed, M failed".
"""
import os
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.linear_model import (LinearRegression, LogisticRegression, Ridge, SGDClassifier,
                                  SGDRegressor)
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "tests"))
from checks import finish, isas, report  # noqa: E402
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "scripts"))
from export_sklearn import export  # noqa: E402

# scikit-learn linear models are float64 models: read, computed and written
# in double, so they agree to the last bits, not to float32 (was 1e-5)
TOL = 1e-12
work = sys.argv[1]
mpiscore = os.environ["MPISCORE"]


def write_inputs(name, x, names):
    csv = os.path.join(work, name + ".csv")
    df = pd.DataFrame(x, columns=names)
    df.insert(0, "id", [f"r{i}" for i in range(len(x))])
    # repr precision: the file holds the float64 values scikit-learn scores
    df.to_csv(csv, index=False, float_format="%.17g")
    h5 = os.path.join(work, name + ".h5")
    with h5py.File(h5, "w") as f:
        d = f.create_dataset("features", data=x.astype(np.float64))
        d.attrs["feature_names"] = names
        f.create_dataset("ids", data=np.arange(len(x), dtype=np.int64))
    return csv, h5


def run(model, inp, out, isa, extra=()):
    env = dict(os.environ, MPISCORE_ISA=isa)
    cmd = ["mpirun", "-n", "2", mpiscore, "run", "--model", model, "--input", inp, "--output",
           out, "--overwrite", "--id-column", "id" if inp.endswith(".csv") else "ids",
           "--mini-batch-rows", "37", *extra]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")


def read_output(path, n_out, has_label):
    if path.endswith(".csv"):
        df = pd.read_csv(path, keep_default_na=False, dtype={"label": str})
        vals = df.iloc[:, 1:1 + n_out].to_numpy(dtype=np.float64)
        labels = df["label"].astype(str).to_numpy() if has_label else None
        return vals, labels
    with h5py.File(path, "r") as f:
        vals = f["predictions"][...].astype(np.float64)
        labels = None
        if has_label:
            cl = [c.decode() if isinstance(c, bytes) else str(c) for c in f["labels"].attrs["class_labels"]]
            labels = np.array([cl[i] for i in f["labels"][...]])
        return vals, labels


def check(name, est, x, names, expected, expected_labels=None, rel=0.0):
    """rel: extra tolerance relative to |expected|, only for raw decision
    values (not probabilities or predictions), whose magnitude float32 output
    cannot hold to 1e-5 absolute."""
    model = os.path.join(work, name + "_model.h5")
    export(est, model, feature_names=names)
    csv, h5 = write_inputs(name, x, names)
    for isa in isas():
        for inp, ext in ((csv, "csv"), (h5, "h5")):
            out = os.path.join(work, f"{name}_{isa}_out.{ext}")
            what = f"{name} [{isa}, {ext} in/out]"
            try:
                run(model, inp, out, isa)
                vals, labels = read_output(out, expected.shape[1], expected_labels is not None)
            except Exception as e:  # noqa: BLE001 - reported as a failure with its text
                report(False, f"{what}: {e}")
                continue
            diff = np.max(np.abs(vals - expected)) if vals.shape == expected.shape else np.inf
            ok = vals.shape == expected.shape and np.all(
                np.abs(vals - expected) <= TOL + rel * np.abs(expected))
            if expected_labels is not None:
                ok = ok and np.array_equal(labels, np.array([str(v) for v in expected_labels]))
            report(ok, f"{what}: max |diff| = {diff:.2e}")


rng = np.random.default_rng(7)

# binary logistic on a real dataset (breast cancer, standardised)
bc = datasets.load_breast_cancer()
xb = StandardScaler().fit_transform(bc.data)
names_b = [f"f{i}" for i in range(xb.shape[1])]
lr = LogisticRegression(max_iter=2000).fit(xb, bc.target)
check("logreg_binary", lr, xb, names_b, lr.predict_proba(xb), lr.predict(xb))

# multinomial and one-vs-rest on iris
iris = datasets.load_iris()
names_i = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
lrm = LogisticRegression(max_iter=2000).fit(iris.data, iris.target)
check("logreg_multinomial", lrm, iris.data, names_i, lrm.predict_proba(iris.data),
      lrm.predict(iris.data))
lro = LogisticRegression(max_iter=2000, multi_class="ovr").fit(iris.data, iris.target)
check("logreg_ovr", lro, iris.data, names_i, lro.predict_proba(iris.data), lro.predict(iris.data))

# string class labels survive
yl = np.array(["setosa", "versicolor", "virginica"])[iris.target]
lrs = LogisticRegression(max_iter=2000).fit(iris.data, yl)
check("logreg_string_labels", lrs, iris.data, names_i, lrs.predict_proba(iris.data),
      lrs.predict(iris.data))

# make_classification, 20 features, 5000 rows
xc, yc = datasets.make_classification(n_samples=5000, n_features=20, n_informative=10,
                                      random_state=3)
names_c = [f"x{i}" for i in range(20)]
lrc = LogisticRegression(max_iter=2000).fit(xc, yc)
check("logreg_make_classification", lrc, xc, names_c, lrc.predict_proba(xc), lrc.predict(xc))

# SGD classifiers: log_loss (OvR probabilities) and hinge (decision function + label)
sgd = SGDClassifier(loss="log_loss", random_state=0).fit(StandardScaler().fit_transform(iris.data), iris.target)
xs = StandardScaler().fit_transform(iris.data)
check("sgd_log_loss_multiclass", sgd, xs, names_i, sgd.predict_proba(xs), sgd.predict(xs))
sgdh = SGDClassifier(loss="hinge", random_state=0).fit(xb, bc.target)
# decision values reach the hundreds: float64 output holds them to 1e-12 too
check("sgd_hinge_binary", sgdh, xb, names_b, sgdh.decision_function(xb).reshape(-1, 1),
      sgdh.predict(xb), rel=1e-14)

# regressions; targets scaled to |y| <= 10
xr, yr = datasets.make_regression(n_samples=3000, n_features=12, noise=0.5, random_state=5)
yr = yr / np.max(np.abs(yr)) * 10
names_r = [f"r{i}" for i in range(12)]
lin = LinearRegression().fit(xr, yr)
check("linear_regression", lin, xr, names_r, lin.predict(xr).reshape(-1, 1))
y2 = np.stack([yr, -0.5 * yr + 1], axis=1)
rid = Ridge(alpha=0.3).fit(xr, y2)
check("ridge_multioutput", rid, xr, names_r, rid.predict(xr))
sgr = SGDRegressor(random_state=0).fit(xr, yr)
check("sgd_regressor", sgr, xr, names_r, sgr.predict(xr).reshape(-1, 1))

# column order in the file differs from the model's: mapped by name
perm = list(reversed(range(len(names_c))))
model = os.path.join(work, "perm_model.h5")
export(lrc, model, feature_names=names_c)
csv, _ = write_inputs("perm", xc[:, perm], [names_c[i] for i in perm])
out = os.path.join(work, "perm_out.csv")
try:
    run(model, csv, out, "scalar")
    vals, labels = read_output(out, 2, True)
    diff = np.max(np.abs(vals - lrc.predict_proba(xc)))
    report(diff <= TOL, f"columns mapped by header name: max |diff| = {diff:.2e}")
except Exception as e:  # noqa: BLE001
    report(False, f"columns mapped by header name: {e}")

finish()
