"""Fidelity of tree ensembles (Bagging of decision trees too) and MLPs: train with scikit-learn here, export,
score with `mpirun -n 2 mpiscore run` under every ISA, CSV and HDF5 in and
out, and compare with scikit-learn's own predict_proba / predict on every
row: |diff| <= 1e-5, labels equal wherever the top two probabilities are
more than 1e-5 apart. Each exported container is also evaluated with the
numpy reference (container_ref.py) against scikit-learn (|diff| <= 1e-6), so
a failure says whether the exporter or mpiscore is wrong.

Also: HistGradientBoosting with missing values (empty CSV fields, NaN in
HDF5) routes them as scikit-learn does; scikit-learn trees (which cannot
take NaN) make such rows bad rows: the run stops naming the row, or with
--on-error continue keeps them in place with empty values.

Usage: fidelity_trees.py WORKDIR   (env MPISCORE = binary, MS_SRC = source tree)
Prints one line per check and ends with "N passed, M failed".
"""
import os
import re
import subprocess
import sys

# HistGradientBoosting trains with one OpenMP thread per core; on a loaded
# 2-core machine the threads thrash (10x slower). Set before sklearn loads.
os.environ["OMP_NUM_THREADS"] = "1"

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import (BaggingClassifier, BaggingRegressor,  # noqa: E402
                              ExtraTreesClassifier, ExtraTreesRegressor,
                              GradientBoostingClassifier, GradientBoostingRegressor,
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "tests"))
from checks import finish, isas, report  # noqa: E402
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "scripts"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import container_ref  # noqa: E402
from export_sklearn import export  # noqa: E402

TOL = 1e-5
REF_TOL = 1e-6
work = sys.argv[1]
mpiscore = os.environ["MPISCORE"]


def write_inputs(name, x, names, h5_dtype=np.float64):
    """CSV (NaN as empty fields, %.17g: every value reads back exactly at
    float64 too, which float64 models such as HistGradientBoosting parse
    into) and HDF5 (NaN as NaN) copies of x, with an id column."""
    csv = os.path.join(work, name + ".csv")
    df = pd.DataFrame(x, columns=names)
    df.insert(0, "id", [f"r{i}" for i in range(len(x))])
    df.to_csv(csv, index=False, float_format="%.17g", na_rep="")
    h5 = os.path.join(work, name + ".h5")
    with h5py.File(h5, "w") as f:
        d = f.create_dataset("features", data=x.astype(h5_dtype))
        d.attrs["feature_names"] = names
        f.create_dataset("ids", data=np.arange(len(x), dtype=np.int64))
    return csv, h5


def run(model, inp, out, isa, extra=(), ranks=2):
    """mpiscore run under mpirun -n RANKS (0: without mpirun); (exit code, stderr)."""
    env = dict(os.environ, MPISCORE_ISA=isa)
    launch = ["mpirun", "-n", str(ranks)] if ranks else []
    cmd = [*launch, mpiscore, "run", "--model", model, "--input", inp, "--output",
           out, "--overwrite", "--id-column", "id" if inp.endswith(".csv") else "ids",
           "--mini-batch-rows", "173", *extra]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return r.returncode, r.stderr


def read_output(path, n_out, has_label):
    """(values rows x n_out with NaN for empty fields, labels or None); a bad
    row's label is "" (CSV: empty field; HDF5: class index -1)."""
    if path.endswith(".csv"):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        cells = df.iloc[:, 1:1 + n_out].to_numpy()
        vals = np.array([[float(c) if c != "" else np.nan for c in row] for row in cells],
                        dtype=np.float64).reshape(len(df), n_out)
        labels = df["label"].to_numpy(dtype=str) if has_label else None
        return vals, labels
    with h5py.File(path, "r") as f:
        vals = f["predictions"][...].astype(np.float64)
        labels = None
        if has_label:
            cl = [c.decode() if isinstance(c, bytes) else str(c)
                  for c in f["labels"].attrs["class_labels"]]
            labels = np.array(["" if i < 0 else cl[i] for i in f["labels"][...]])
        return vals, labels


def label_rows(expected):
    """Rows whose label is decided: top-2 outputs more than TOL apart."""
    if expected.shape[1] < 2:
        return np.ones(len(expected), dtype=bool)
    s = np.sort(expected, axis=1)
    return s[:, -1] - s[:, -2] > TOL


def compare(vals, labels, expected, expected_labels, bad=None):
    """None if the output matches, else what differs (rows named 0-based)."""
    if vals.shape != expected.shape:
        return f"output shape {vals.shape}, expected {expected.shape}"
    bad = np.zeros(len(expected), dtype=bool) if bad is None else bad
    problems = []
    not_empty = np.flatnonzero(bad & ~np.all(np.isnan(vals), axis=1))
    if not_empty.size:
        problems.append(f"bad rows with values: {not_empty[:5].tolist()}")
    good = ~bad
    diff = np.abs(vals - expected)
    diff[bad] = 0.0
    off = np.flatnonzero(good & ~np.all(diff <= TOL, axis=1))  # NaN counts as off
    if off.size:
        r = off[np.argmax(np.nan_to_num(diff[off], nan=np.inf).max(axis=1))]
        problems.append(f"{off.size} rows off by > {TOL:g} (first {off[:5].tolist()}); worst row "
                        f"{r}: got {vals[r].tolist()}, expected {expected[r].tolist()}")
    if expected_labels is not None:
        exp_l = np.array([str(v) for v in expected_labels])
        exp_l[bad] = ""
        decided = label_rows(np.nan_to_num(expected)) | bad
        wrong = np.flatnonzero(decided & (labels != exp_l))
        if wrong.size:
            r = wrong[0]
            problems.append(f"{wrong.size} labels differ (first row {r}: {labels[r]!r}, "
                            f"expected {exp_l[r]!r})")
    return "; ".join(problems) or None


def max_diff(vals, expected):
    d = np.abs(vals - expected)
    d = d[~np.isnan(expected)]
    return float(np.max(d)) if d.size else 0.0


def check(name, est, x, names, expected, expected_labels=None, h5_dtype=np.float64):
    expected = np.asarray(expected, dtype=np.float64).reshape(len(x), -1)
    model = os.path.join(work, name + "_model.h5")
    export(est, model, feature_names=names)
    # the exporter alone, judged by the numpy reference of the container format
    ref, ref_labels = container_ref.predict(container_ref.load(model), x)
    problem = compare(ref, ref_labels if expected_labels is not None else None, expected,
                      expected_labels) if ref.shape == expected.shape else "shape"
    ok = problem is None and max_diff(ref, expected) <= REF_TOL
    report(ok, f"{name} [export, numpy reference]: max |diff| = {max_diff(ref, expected):.2e}"
           + (f": {problem}" if problem else ""))
    csv, h5 = write_inputs(name, x, names, h5_dtype)
    # The best ISA under mpirun -n 2 with CSV and HDF5; the other ISAs in one
    # process on HDF5 (test_trees/test_mlp compare the kernels themselves;
    # this keeps the test's 100-odd runs from each paying MPI start-up).
    all_isas = isas()
    for isa in all_isas:
        best = isa == all_isas[-1]
        for inp, ext in ((csv, "csv"), (h5, "h5")) if best else ((h5, "h5"),):
            out = os.path.join(work, f"{name}_{isa}_out.{ext}")
            what = f"{name} [{isa}, {ext} in/out{', mpirun -n 2' if best else ', one process'}]"
            rc, err = run(model, inp, out, isa, ranks=2 if best else 0)
            if rc != 0:
                report(False, f"{what}: exit {rc}: {err.strip().splitlines()[:1]}")
                continue
            vals, labels = read_output(out, expected.shape[1], expected_labels is not None)
            problem = compare(vals, labels, expected, expected_labels)
            report(problem is None, f"{what}: max |diff| = {max_diff(vals, expected):.2e}"
                   + (f": {problem}" if problem else ""))


def missing_rows_are_bad(name, est, x, names, expected, expected_labels):
    """est cannot take NaN: rows of x with one NaN each are bad rows."""
    model = os.path.join(work, name + "_model.h5")
    export(est, model, feature_names=names)
    bad = np.isnan(x).any(axis=1)
    csv, h5 = write_inputs(name, x, names)
    header = ["id", *names]
    for inp, ext in ((csv, "csv"), (h5, "h5")):
        # default --on-error abort: exit 2 naming a bad row, no output left
        out = os.path.join(work, f"{name}_abort.{ext}")
        rc, err = run(model, inp, out, "scalar")
        first = err.strip().splitlines()[0] if err.strip() else ""
        m = re.match(r'mpiscore: error: (\S+):(\d+):(\d+): column "([^"]+)": missing value$',
                     first)
        ok = rc == 2 and m is not None and m.group(1) == inp
        if ok:
            line, col, cname = int(m.group(2)), int(m.group(3)), m.group(4)
            # CSV: physical line (header = 1) and column of the file, id first;
            # HDF5: 1-based row and column of /features
            row = line - 2 if ext == "csv" else line - 1
            cols = header if ext == "csv" else names
            ok = (0 <= row < len(x) and 1 <= col <= len(cols) and cols[col - 1] == cname
                  and np.isnan(x[row, names.index(cname)]))
        left = [p for p in (out, out + ".partial") if os.path.exists(p)]
        report(ok and not left, f"{name} [{ext}, abort]: exit {rc}, {first!r}"
               + (f", left behind: {left}" if left else ""))
        # --on-error continue: bad rows keep their place, empty; the rest scores
        out = os.path.join(work, f"{name}_continue.{ext}")
        errors = out + ".errors.csv"
        rc, err = run(model, inp, out, "scalar", ("--on-error", "continue"))
        if rc != 0:
            report(False, f"{name} [{ext}, continue]: exit {rc}: {err.strip()}")
            continue
        vals, labels = read_output(out, expected.shape[1], True)
        problem = compare(vals, labels, expected, expected_labels, bad)
        report(problem is None, f"{name} [{ext}, continue]: {bad.sum()} bad rows kept empty, "
               f"others max |diff| = {max_diff(vals[~bad], expected[~bad]):.2e}"
               + (f": {problem}" if problem else ""))
        e = pd.read_csv(errors, dtype=str, keep_default_na=False)
        first_line = 2 if ext == "csv" else 1
        want = [(os.path.basename(inp), str(r + first_line),
                 f'column "{names[int(np.flatnonzero(np.isnan(x[r]))[0])]}": missing value')
                for r in np.flatnonzero(bad)]
        got = [(os.path.basename(f), ln, reason) for f, ln, reason in
               zip(e["file"], e["line"], e["reason"])]
        report(got == want, f"{name} [{ext}, continue]: errors file lists the {len(want)} rows "
               "with a missing value" + ("" if got == want else f": got {got[:3]}, expected "
                                         f"{want[:3]}"))


# --- data -------------------------------------------------------------------
# Every value is a float32 (what mpiscore reads) kept in float64 (what
# scikit-learn is given). "tight" holds neighbouring float32 values 1 + k
# ulp: its split thresholds are float64 midpoints no float32 can hold, so a
# kernel that rounds thresholds to nearest misroutes rows. "grid" is integer.
rng = np.random.default_rng(2024)
N = 2500
names = ["a", "b", "c", "d", "tight", "grid"]
x = np.column_stack([
    rng.normal(size=N),
    rng.normal(size=N) * 3 + 1,
    rng.uniform(-2, 2, size=N),
    rng.exponential(size=N),
    1.0 + rng.integers(0, 8, size=N) * 2.0 ** -23,
    rng.integers(0, 6, size=N),
]).astype(np.float32).astype(np.float64)
tight = (x[:, 4] - 1.0) * 2.0 ** 23  # 0..7
z = x[:, 0] + 0.5 * x[:, 1] * x[:, 2] - x[:, 3] + 0.4 * (tight - 3.5) + 0.3 * x[:, 5]
noise = rng.normal(size=N)
y_bin = (z + noise > 0).astype(int)
y_multi = np.array(["low", "mid", "high", "top"])[np.digitize(z + 0.5 * noise, [-1.5, 0, 1.5])]
y_multi3 = np.digitize(z + 0.5 * noise, [-0.7, 0.7])
y_reg = np.clip(z + 0.3 * noise, -8, 8)  # |scores| < 10: float32 output keeps 1e-5
y_reg2 = np.column_stack([y_reg, np.sin(x[:, 0]) * 3 + x[:, 5]])


def proba(est, xx):
    return est.predict_proba(xx), est.predict(xx)


# --- scikit-learn trees and forests: split x <= threshold, no missing values
dt = DecisionTreeClassifier(max_depth=8, random_state=0).fit(x, y_multi)
check("decision_tree_classifier", dt, x, names, *proba(dt, x))
dtr = DecisionTreeRegressor(max_depth=10, random_state=0).fit(x, y_reg)
check("decision_tree_regressor", dtr, x, names, dtr.predict(x))
rf = RandomForestClassifier(n_estimators=50, max_depth=6, random_state=0).fit(x, y_bin)
check("random_forest_binary", rf, x, names, *proba(rf, x))
rfr = RandomForestRegressor(n_estimators=50, max_depth=6, random_state=0).fit(x, y_reg2)
check("random_forest_regressor_2_outputs", rfr, x, names, rfr.predict(x))
et = ExtraTreesClassifier(n_estimators=50, max_depth=6, random_state=0).fit(x, y_multi)
check("extra_trees_multiclass", et, x, names, *proba(et, x))
etr = ExtraTreesRegressor(n_estimators=50, max_depth=6, random_state=0).fit(x, y_reg)
check("extra_trees_regressor", etr, x, names, etr.predict(x))
# bagged trees: each reads its own subset of the columns (mapped back)
bag = BaggingClassifier(n_estimators=12, max_features=0.7, random_state=0).fit(x, y_multi)
check("bagging_classifier_feature_subsets", bag, x, names, *proba(bag, x))
bagr = BaggingRegressor(n_estimators=12, max_features=0.6, bootstrap_features=True,
                        random_state=0).fit(x, y_reg)
check("bagging_regressor_bootstrap_features", bagr, x, names, bagr.predict(x))

# --- gradient boosting: init score + learning_rate * leaves ------------------
gb = GradientBoostingClassifier(n_estimators=100, random_state=0).fit(x, y_bin)
check("gradient_boosting_binary", gb, x, names, *proba(gb, x))
gbe = GradientBoostingClassifier(n_estimators=60, loss="exponential", random_state=0).fit(x, y_bin)
check("gradient_boosting_exponential", gbe, x, names, *proba(gbe, x))
gbm = GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=0).fit(x, y_multi3)
check("gradient_boosting_multiclass", gbm, x, names, *proba(gbm, x))
gbr = GradientBoostingRegressor(n_estimators=100, loss="huber", random_state=0).fit(x, y_reg)
check("gradient_boosting_regressor", gbr, x, names, gbr.predict(x))

# --- histogram gradient boosting, with missing values ------------------------
# Training NaNs in a, c and tight; scoring NaNs in every column, also in d,
# which had none in training (scikit-learn then sends them to the child that
# got more samples). The HDF5 copy is float32 here.
xn = x.copy()
xn[:, [0, 2, 4]] = np.where(rng.random((N, 3)) < 0.08, np.nan, xn[:, [0, 2, 4]])
xt = xn.copy()
xt[rng.random((N, 6)) < 0.05] = np.nan
hgb = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(xn, y_bin)
check("hist_gradient_boosting_binary_nan", hgb, xt, names, *proba(hgb, xt), h5_dtype=np.float32)
hgbm = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(xn, y_multi)
check("hist_gradient_boosting_multiclass_nan", hgbm, xt, names, *proba(hgbm, xt))
hgbr = HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(xn, y_reg)
check("hist_gradient_boosting_regressor_nan", hgbr, xt, names, hgbr.predict(xt),
      h5_dtype=np.float32)
hgbp = HistGradientBoostingRegressor(max_iter=100, loss="poisson", random_state=0).fit(
    xn, np.exp(y_reg / 4))
check("hist_gradient_boosting_poisson_nan", hgbp, xt, names, hgbp.predict(xt))

# --- MLPs, one per hidden activation; inputs standardised --------------------
import warnings  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)
xs = (x - x.mean(axis=0)) / x.std(axis=0)
xs = xs.astype(np.float32).astype(np.float64)
mlp = MLPClassifier((16,), activation="relu", max_iter=200, random_state=0).fit(xs, y_bin)
check("mlp_binary_relu", mlp, xs, names, *proba(mlp, xs))
mlpt = MLPClassifier((16, 8), activation="tanh", max_iter=200, random_state=0).fit(xs, y_multi)
check("mlp_multiclass_tanh", mlpt, xs, names, *proba(mlpt, xs))
mlpl = MLPClassifier((12,), activation="logistic", max_iter=200, random_state=0).fit(xs, y_multi3)
check("mlp_multiclass_logistic", mlpl, xs, names, *proba(mlpl, xs))
mlpr = MLPRegressor((16,), activation="identity", max_iter=200, random_state=0).fit(xs, y_reg2)
check("mlp_regressor_identity_2_outputs", mlpr, xs, names, mlpr.predict(xs))

# --- scikit-learn trees cannot take NaN: such rows are bad rows --------------
xb = x[:400].copy()
for r in range(3, 400, 37):
    xb[r, r % 6] = np.nan  # one missing value per bad row, in every column in turn
rfb = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(x, y_multi)
xb0 = np.nan_to_num(xb)  # expected values of the good rows; bad rows are not compared
missing_rows_are_bad("random_forest_missing", rfb, xb, names, rfb.predict_proba(xb0),
                     rfb.predict(xb0))

finish()
