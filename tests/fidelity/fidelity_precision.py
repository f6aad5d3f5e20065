"""Library-exact precision (issue 11, "Inputs at the library's precision"):
train with scikit-learn here, export, score with `mpirun -n 2 mpiscore run`
on every ISA, CSV and HDF5 in, and hold the numbers to what the library's
own precision allows:

- HistGradientBoosting on decimal data (the issue's `lat` case): every row
  equal to predict when printed at float64 (float64 inputs against float64
  thresholds; float32 parsing put 1% of rows on the wrong side of a split);
- LinearRegression on house prices of 1e5..2e6: within 1e-12 relative;
- LogisticRegression predict_proba and an MLP: within 1e-12;
- RandomForest (a float32 model): predict rounded to float32, exactly;
- --precision float32 on a float64 model prints float32 text.

Usage: fidelity_precision.py WORKDIR   (env MPISCORE, MS_SRC)
"""
import os
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor

sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "tests"))
from checks import finish, isas, report  # noqa: E402
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "scripts"))
from export_sklearn import export  # noqa: E402

work = sys.argv[1]
mpiscore = os.environ["MPISCORE"]


def write_inputs(name, texts, names):
    """texts: rows of cell texts; the HDF5 copy holds their float64 values."""
    csv = os.path.join(work, name + ".csv")
    with open(csv, "w") as f:
        f.write("id," + ",".join(names) + "\n")
        for i, row in enumerate(texts):
            f.write(f"r{i}," + ",".join(row) + "\n")
    x = np.array([[float(v) for v in row] for row in texts], dtype=np.float64)
    h5 = os.path.join(work, name + ".h5")
    with h5py.File(h5, "w") as f:
        d = f.create_dataset("features", data=x)
        d.attrs["feature_names"] = names
        f.create_dataset("ids", data=np.arange(len(x), dtype=np.int64))
    return x, csv, h5


def run(model, inp, out, isa, extra=()):
    env = dict(os.environ, MPISCORE_ISA=isa)
    cmd = ["mpirun", "-n", "2", mpiscore, "run", "--model", model, "--input", inp, "--output",
           out, "--overwrite", "--id-column", "id" if inp.endswith(".csv") else "ids",
           "--mini-batch-rows", "1000", *extra]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")


def read_output(path, n_out):
    if path.endswith(".csv"):
        # round_trip: pandas' default float parser is not correctly rounded
        df = pd.read_csv(path, keep_default_na=False, float_precision="round_trip",
                         dtype={"label": str})
        return df.iloc[:, 1:1 + n_out].to_numpy(dtype=np.float64), df
    with h5py.File(path, "r") as f:
        return f["predictions"][...].astype(np.float64), f["predictions"].dtype


def check(name, est, texts, names, expect, rel=0.0, absol=0.0, extra=(), want_dtype="<f8"):
    model = os.path.join(work, name + "_model.h5")
    export(est, model, feature_names=names)
    x, csv, h5 = write_inputs(name, texts, names)
    exp = expect(x)
    for isa in isas():
        for inp, ext in ((csv, "csv"), (h5, "h5")):
            out = os.path.join(work, f"{name}_{isa}_out.{ext}")
            what = f"{name} [{isa}, {ext} in/out]"
            try:
                run(model, inp, out, isa, extra)
                vals, meta = read_output(out, exp.shape[1])
            except Exception as e:  # noqa: BLE001 - reported as a failure with its text
                report(False, f"{what}: {e}")
                continue
            if ext == "csv" and want_dtype == "<f4":
                # float32 text: the shortest decimal of a float32, read as one
                vals = vals.astype(np.float32).astype(np.float64)
            if vals.shape != exp.shape:
                report(False, f"{what}: shape {vals.shape}, expected {exp.shape}")
                continue
            err = np.abs(vals - exp)
            bad = int(np.sum(err > absol + rel * np.abs(exp)))
            ok = bad == 0 and (ext == "csv" or str(meta) == str(np.dtype(want_dtype)))
            report(ok, f"{what}: {bad} of {exp.size} values off, max |diff| = {err.max():.3g}"
                       f" (max rel {np.max(err / np.maximum(np.abs(exp), 1e-300)):.3g})"
                       + ("" if ext == "csv" else f", dtype {meta}"))


rng = np.random.default_rng(11)

# HistGradientBoosting on lat, exactly as in issue 11
lat = np.round(rng.uniform(47.15, 47.78, 20000), 4)
price = 4e5 + 3e5 * np.sin((lat - 47.15) * 40) + rng.normal(0, 2e4, lat.size)
hgb = HistGradientBoostingRegressor(random_state=0).fit(lat.reshape(-1, 1), price)
grid = [[f"{47.15 + k * 0.0001:.4f}"] for k in range(6301)]
check("hgb_lat", hgb, grid, ["lat"], lambda x: hgb.predict(x).reshape(-1, 1))

# house prices of 1e5..2e6
n = 5000
sqft = np.round(rng.uniform(400, 6000, n), 0)
beds = rng.integers(1, 7, n).astype(float)
age = np.round(rng.uniform(0, 120, n), 1)
dist = np.round(rng.uniform(0.1, 40, n), 3)
xh = np.stack([sqft, beds, age, dist], axis=1)
yh = np.clip(90 * sqft + 15000 * beds - 800 * age - 9000 * dist + 2e5 + rng.normal(0, 3e4, n),
             1e5, 2e6)
lin = LinearRegression().fit(xh, yh)
texts_h = [[f"{v:.0f}", f"{b:.0f}", f"{a:.1f}", f"{d:.3f}"] for v, b, a, d in xh]
check("linear_house_prices", lin, texts_h, ["sqft", "beds", "age", "dist"],
      lambda x: lin.predict(x).reshape(-1, 1), rel=1e-12)

# logistic regression and MLPs on decimal data
xc = np.round(rng.normal(size=(3000, 8)) * 10, 3)
yc = (xc[:, 0] - 0.5 * xc[:, 3] + xc[:, 5] * 0.2 + rng.normal(0, 2, 3000) > 0).astype(int)
names_c = [f"x{i}" for i in range(8)]
texts_c = [[f"{v:.3f}" for v in row] for row in xc]
lr = LogisticRegression(max_iter=3000).fit(xc, yc)
check("logreg_proba", lr, texts_c, names_c, lambda x: lr.predict_proba(x), absol=1e-12)
mlp = MLPClassifier(hidden_layer_sizes=(32, 16), activation="tanh", max_iter=300,
                    random_state=0).fit(xc / 10, yc)
texts_m = [[f"{v / 10:.4f}" for v in row] for row in xc]
check("mlp_classifier_tanh", mlp, texts_m, names_c, lambda x: mlp.predict_proba(x), absol=1e-12)
mlpr = MLPRegressor(hidden_layer_sizes=(24,), activation="relu", max_iter=300,
                    random_state=0).fit(xc / 10, xc[:, 0] * 3 + xc[:, 1])
check("mlp_regressor_relu", mlpr, texts_m, names_c, lambda x: mlpr.predict(x).reshape(-1, 1),
      rel=1e-12, absol=1e-12)

# a float32 model stays exact at float32: sklearn's trees see float32 X
rf = RandomForestRegressor(n_estimators=20, max_depth=8, random_state=0).fit(xh, yh)
check("random_forest_f32", rf, texts_h, ["sqft", "beds", "age", "dist"],
      lambda x: rf.predict(x).astype(np.float32).astype(np.float64).reshape(-1, 1),
      want_dtype="<f4")

# --precision float32 on a float64 model: float32 text and dtype
check("linear_as_float32", lin, texts_h, ["sqft", "beds", "age", "dist"],
      lambda x: lin.predict(x).astype(np.float32).astype(np.float64).reshape(-1, 1),
      extra=("--precision", "float32"), want_dtype="<f4")

finish()
