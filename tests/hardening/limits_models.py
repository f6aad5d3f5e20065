"""Shape limits against scikit-learn: one row of 10,000 features and models
with a single feature. Trains here, exports, scores with mpiscore (every
ISA the machine has on the CSV input, the HDF5 input on the default one)
and compares with scikit-learn's own predict_proba / predict:
|diff| <= 1e-5, labels equal.

Usage: limits_models.py WORKDIR   (env MPISCORE = binary, MS_SRC = source tree)
Prints one line per case and ends with "N passed, M failed".
"""
import os
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "tests"))
from checks import finish, isas, report  # noqa: E402
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "scripts"))
import export_sklearn  # noqa: E402

TOL = 1e-5
work = sys.argv[1]
mpiscore = os.environ["MPISCORE"]


class FileV108(h5py.File):
    """h5py.File in the HDF5 1.8 object header format, whose attributes may
    exceed 64 KB (stored densely), as 10,000 feature names do. h5py's
    default 1.6 format fails with "object header message is too large"
    above ~4,000 names; mpiscore reads either."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("libver", ("v108", "latest"))
        super().__init__(*args, **kwargs)


def export(est, path, names):
    """export_sklearn.export, writing the 1.8 format (see FileV108)."""
    plain = export_sklearn.h5py.File
    export_sklearn.h5py.File = FileV108
    try:
        export_sklearn.export(est, path, feature_names=names)
    finally:
        export_sklearn.h5py.File = plain


def write_inputs(name, x, names):
    csv = os.path.join(work, name + ".csv")
    df = pd.DataFrame(x, columns=names)
    df.insert(0, "id", [f"r{i}" for i in range(len(x))])
    df.to_csv(csv, index=False, float_format="%.17g")
    h5 = os.path.join(work, name + ".h5")
    with FileV108(h5, "w") as f:
        d = f.create_dataset("features", data=x.astype(np.float64))
        d.attrs["feature_names"] = names
        f.create_dataset("ids", data=np.arange(len(x), dtype=np.int64))
    return csv, h5


def score(model, inp, out, isa, ranks):
    env = dict(os.environ, MPISCORE_ISA=isa)
    cmd = [mpiscore, "run", "--model", model, "--input", inp, "--output", out, "--overwrite",
           "--id-column", "id" if inp.endswith(".csv") else "ids"]
    if ranks:
        cmd = ["mpirun", "-n", str(ranks)] + cmd
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
    return pd.read_csv(out, keep_default_na=False, dtype={"label": str})


def check(name, est, x, names, expected, labels=None, ranks=0):
    model = os.path.join(work, name + "_model.h5")
    export(est, model, names)
    csv, h5 = write_inputs(name, x, names)
    n_out = expected.shape[1]
    # every ISA on the CSV input (10,000 and 1 are corner widths for the
    # SIMD kernels' tails), the HDF5 input on the default one
    for isa, inp in [(isa, csv) for isa in isas()] + [(isas()[-1], h5)]:
        what = f"{name} [{isa}, {os.path.basename(inp)}, -n {ranks or 'none'}]"
        try:
            out = os.path.join(work, f"{name}_{isa}_{os.path.basename(inp)}_out.csv")
            df = score(model, inp, out, isa, ranks)
        except Exception as e:  # noqa: BLE001 - reported as a failure with its text
            report(False, f"{what}: {e}")
            continue
        vals = df.iloc[:, 1:1 + n_out].to_numpy(dtype=np.float64)
        ok = len(df) == len(x) and vals.shape == expected.shape
        diff = np.max(np.abs(vals - expected)) if ok else np.inf
        ok = ok and diff <= TOL
        if labels is not None:
            ok = ok and np.array_equal(df["label"].to_numpy(), np.array([str(v) for v in labels]))
        report(ok, f"{what}: {len(df)} row(s), max |diff| = {diff:.2e}")


rng = np.random.default_rng(11)

# One row of 10,000 features (a ~60 KB header), under mpirun -n 2 so the
# 10,000-column plan crosses ranks. Values are multiples of 1/256: the CSV
# text, float32 and float64 all hold them exactly.
nf = 10000
wide_names = [f"f{i}" for i in range(nf)]
xt = np.round(rng.normal(size=(300, nf)) * 256) / 256
w_true = rng.normal(size=nf) / np.sqrt(nf)
yt = (xt @ w_true + 0.1 * rng.normal(size=300) > 0).astype(int)
row = np.round(rng.normal(size=(1, nf)) * 256) / 256
clf = LogisticRegression(C=0.05, max_iter=500).fit(xt, yt)
check("wide_logistic", clf, row, wide_names, clf.predict_proba(row), clf.predict(row), ranks=2)
reg = Ridge(alpha=10.0).fit(xt, xt @ w_true)
check("wide_ridge", reg, row, wide_names, reg.predict(row).reshape(-1, 1))

# A single feature: a classifier with string labels and a regression, 1,000 rows
x1 = np.round(rng.normal(size=(1000, 1)) * 1024) / 1024
y1 = np.where(x1[:, 0] + 0.3 * rng.normal(size=1000) > 0.2, "hi", "lo")
clf1 = LogisticRegression().fit(x1, y1)
check("one_feature_logistic", clf1, x1, ["x"], clf1.predict_proba(x1), clf1.predict(x1))
lin1 = LinearRegression().fit(x1, 3 * x1[:, 0] - 1 + 0.1 * rng.normal(size=1000))
check("one_feature_linear", lin1, x1, ["x"], lin1.predict(x1).reshape(-1, 1))

finish()
