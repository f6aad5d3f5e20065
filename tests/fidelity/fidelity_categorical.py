"""Fidelity of categorical splits: trained here, scored with `mpirun -n 2
mpiscore run` on every ISA the machine has, compared with the library's own
predictions.

XGBoost (enable_categorical, JSON and UBJSON): margins bit-identical to
Booster.predict(output_margin=True) (binary:logitraw, reg:squarederror),
 - with `--categories` (text columns with blanks and a category never seen
   in training: that row is an error naming its line and column, the others
   are exact; without --on-error continue the run stops with that line);
 - without it, on integer codes, including values XGBoost treats as no
   category (negative, fractional, past the bitset, 2^24 and beyond).
scikit-learn HistGradientBoosting with categorical_features: predict_proba
equal exactly, bare on integer codes (negative, fractional, unknown codes)
and in a Pipeline with an OrdinalEncoder (text, blanks, unknown categories).
Also: `--categories` and hostile containers are refused with one line.

Usage: fidelity_categorical.py WORKDIR   (env MPISCORE = binary, MS_SRC)
"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "tests"))
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "scripts"))
from checks import finish, isas, report  # noqa: E402
from export_sklearn import export  # noqa: E402

work = sys.argv[1]
mpiscore = os.environ["MPISCORE"]
rng = np.random.default_rng(7)
CATS = [f"k{i}" for i in range(40)] + ["a,b", 'say "hi"', "Mon", "x y"]


def path(name):
    return os.path.join(work, name)


def run(model, inp, out, isa, n=2, extra=()):
    env = dict(os.environ, MPISCORE_ISA=isa)
    cmd = ["mpirun", "-n", str(n), mpiscore, "run", "--model", model, "--input", inp,
           "--output", out, "--overwrite", "--mini-batch-rows", "37", *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True)


def outputs(out, n_out, f32):
    """The output values as the model's precision (f32: float32 models,
    whose CSV text is the shortest float32 form)."""
    if out.endswith(".h5"):
        with h5py.File(out, "r") as f:
            v = f["predictions"][...].astype(np.float64)
    else:
        df = pd.read_csv(out, keep_default_na=False, na_values=[""], float_precision="round_trip")
        v = df.iloc[:, 1:1 + n_out].to_numpy(dtype=np.float64)
    return v.astype(np.float32).astype(np.float64) if f32 else v


def compare(what, got, want, rows=None):
    """got/want: rows x outputs; rows: mask of rows that must match (others empty)."""
    rows = np.ones(len(want), bool) if rows is None else rows
    ok = got.shape == want.shape and np.array_equal(got[rows], want[rows])
    ok = ok and bool(np.all(np.isnan(got[~rows])))
    same = int(np.sum(got[rows] == want[rows])) if got.shape == want.shape else 0
    report(ok, f"{what}: {same}/{want[rows].size} equal, {int((~rows).sum())} rows refused")


def every_isa(what, model, inp, want, fmt_out="csv", rows=None, extra=(), f32=False):
    for isa in isas():
        out = path(f"{what}_{isa}.{fmt_out}")
        r = run(model, inp, out, isa, extra=extra)
        if r.returncode != 0:
            report(False, f"{what} [{isa}]: exit {r.returncode}: {r.stderr.strip()}")
            continue
        compare(f"{what} [{isa}, -n 2, {fmt_out}]", outputs(out, want.shape[1], f32), want, rows)


def refused(what, args, code, text, out=None):
    r = subprocess.run([mpiscore, *args], capture_output=True, text=True)
    first = r.stderr.strip().split("\n")[0] if r.stderr.strip() else ""
    ok = r.returncode == code and text in first and (out is None or not os.path.exists(out))
    report(ok, f"{what}: exit {r.returncode}: {first}")


def import_xgb(src, out, extra=()):
    r = subprocess.run([mpiscore, "model", "import", "xgboost", src, "-o", out, *extra],
                       capture_output=True, text=True)
    report(r.returncode == 0, f"import {os.path.basename(src)} {' '.join(extra)}: "
                              f"{(r.stdout or r.stderr).strip()}")


# ---- XGBoost, text categories (--categories) --------------------------------
n = 4000
c1 = rng.choice(CATS, n).astype(object)
c1[rng.random(n) < 0.05] = np.nan
c2 = rng.choice(["lo", "mid", "hi"], n).astype(object)  # few: one-hot splits
x = np.round(rng.normal(size=n) * 64) / 64
x[rng.random(n) < 0.05] = np.nan
train = pd.DataFrame({"c1": pd.Categorical(c1), "x": x, "c2": pd.Categorical(c2)})
signal = pd.Series(c1).isin(CATS[::3]).to_numpy() * 1.0 + np.nan_to_num(x) * 0.5 + (c2 == "hi")
d = xgb.DMatrix(train, label=(signal > 1).astype(int), enable_categorical=True)
bst = xgb.train({"objective": "binary:logitraw", "tree_method": "hist", "max_depth": 5,
                 "max_cat_to_onehot": 4}, d, 12)
cats = {c: list(train[c].cat.categories) for c in ("c1", "c2")}
json.dump(cats, open(path("cats.json"), "w"))
bst.save_model(path("xgb_text.json"))
bst.save_model(path("xgb_text.ubj"))
import_xgb(path("xgb_text.json"), path("xgb_text.h5"), ("--categories", path("cats.json")))
import_xgb(path("xgb_text.ubj"), path("xgb_text_ubj.h5"), ("--categories", path("cats.json")))

m = 600
s1 = rng.choice(CATS + ["purple"], m).astype(object)
s1[rng.random(m) < 0.1] = ""
xs = np.round(rng.normal(size=m) * 64) / 64
xs[rng.random(m) < 0.1] = np.nan
score = pd.DataFrame({"id": [f"r{i}" for i in range(m)], "c1": s1, "x": xs,
                      "c2": rng.choice(["lo", "mid", "hi"], m)})
score.to_csv(path("xgb_text.csv"), index=False, na_rep="")
back = pd.read_csv(path("xgb_text.csv"), keep_default_na=False, na_values=[""],
                   float_precision="round_trip")
q = pd.DataFrame({c: pd.Categorical(back[c], categories=cats[c]) if c in cats else back[c]
                  for c in ("c1", "x", "c2")})
want = bst.predict(xgb.DMatrix(q, enable_categorical=True), output_margin=True)
want = want.astype(np.float32).astype(np.float64).reshape(m, 1)
unseen = (back["c1"] == "purple").to_numpy()
report(unseen.any() and back["c1"].isna().any(), "xgb text: scoring data has blanks and unseen")
cont = ("--id-column", "id", "--on-error", "continue", "--errors-file", path("errors.csv"))
every_isa("xgb_text", path("xgb_text.h5"), path("xgb_text.csv"), want, rows=~unseen, extra=cont, f32=True)
errs = pd.read_csv(path("errors.csv"), keep_default_na=False)
lines = sorted(np.flatnonzero(unseen) + 2)
report(sorted(errs["line"]) == lines and set(errs["column"]) == {"c1"}
       and all(r == 'unknown category "purple" in column "c1"' for r in errs["reason"]),
       f"xgb text: errors file lists the {len(lines)} unseen rows by line and column")
every_isa("xgb_text_ubj", path("xgb_text_ubj.h5"), path("xgb_text.csv"), want, rows=~unseen,
          extra=cont, f32=True)
r = run(path("xgb_text.h5"), path("xgb_text.csv"), path("stop.csv"), "scalar", n=2)
first = r.stderr.strip().split("\n")[0]
report(r.returncode == 2 and f"xgb_text.csv:{lines[0]}:2: unknown category \"purple\" in column "
       "\"c1\"" in first and not os.path.exists(path("stop.csv")),
       f"xgb text, fail fast: exit {r.returncode}: {first}")
one = run(path("xgb_text.h5"), path("xgb_text.csv"), path("n1.csv"), "scalar", n=1, extra=cont)
two = path("xgb_text_scalar.csv")
report(one.returncode == 0 and open(path("n1.csv"), "rb").read() == open(two, "rb").read(),
       "xgb text: -n 1 and -n 2 outputs byte-identical")

model_h5 = path("xgb_text.h5")
for what, cat_json, text in (
        ("numeric feature", {"x": ["a"]}, 'feature "x" is not categorical in the model'),
        ("unknown feature", {"nope": ["a"]}, 'the model has no feature "nope"'),
        ("duplicate", {"c1": ["a", "a"]}, '"c1": category "a" is listed twice'),
        ("mixed", {"c1": ["a", 1]}, '"c1" mixes text and number categories')):
    json.dump(cat_json, open(path("bad_cats.json"), "w"))
    refused(f"--categories {what}", ["model", "import", "xgboost", path("xgb_text.json"), "-o",
                                     path("refused.h5"), "--categories", path("bad_cats.json")],
            1, text, path("refused.h5"))

# ---- XGBoost, integer codes (no --categories) --------------------------------
codes = rng.integers(0, 60, n).astype(np.float32)
codes[rng.random(n) < 0.05] = np.nan
xn = rng.normal(size=n).astype(np.float32)
y = ((np.nan_to_num(codes, nan=1) % 4 == 1) + xn * 0.3 > 0.5).astype(np.float32) + xn * 0.1
d = xgb.DMatrix(np.stack([codes, xn], 1), label=y, feature_names=["code", "x"],
                feature_types=["c", "q"], enable_categorical=True)
bst = xgb.train({"objective": "reg:squarederror", "tree_method": "hist", "max_depth": 4,
                 "max_cat_to_onehot": 1}, d, 10)
bst.save_model(path("xgb_codes.json"))
import_xgb(path("xgb_codes.json"), path("xgb_codes.h5"))
odd = np.array([-1, -0.5, -0.0, 0.5, 1.5, 2.7, 59.9, 60, 63, 64, 100, 1e7, 16777215, 16777216,
                1e30, np.nan], dtype=np.float32)
xc = np.concatenate([codes[:300], np.resize(odd, 200)]).astype(np.float32)
xv = rng.normal(size=len(xc)).astype(np.float32)
X = np.stack([xc, xv], 1)
want = bst.inplace_predict(X, predict_type="margin").astype(np.float64).reshape(-1, 1)
pd.DataFrame({"id": np.arange(len(X)), "code": X[:, 0].astype(np.float64),
              "x": X[:, 1].astype(np.float64)}).to_csv(path("xgb_codes.csv"), index=False,
                                                       float_format="%.9g", na_rep="")
with h5py.File(path("xgb_codes_in.h5"), "w") as f:
    f.create_dataset("features", data=X).attrs["feature_names"] = ["code", "x"]
every_isa("xgb_codes", path("xgb_codes.h5"), path("xgb_codes.csv"), want,
          extra=("--id-column", "id"), f32=True)
every_isa("xgb_codes_h5", path("xgb_codes.h5"), path("xgb_codes_in.h5"), want, fmt_out="h5",
          f32=True)

# ---- HistGradientBoosting, integer codes --------------------------------------
c = rng.integers(0, 40, n).astype(float)
c[rng.random(n) < 0.05] = np.nan
k2 = rng.integers(0, 5, n).astype(float)
xh = rng.normal(size=n)
yh = ((np.nan_to_num(c, nan=1) % 3 == 0) + xh * 0.3 + (k2 == 2) > 0.8).astype(int)
hgb = HistGradientBoostingClassifier(max_iter=15, categorical_features=[0, 2], random_state=0)
hgb.fit(np.stack([c, xh, k2], 1), yh)
export(hgb, path("hgb_codes.h5"), ["c", "x", "k2"])
# 256 and beyond: scikit-learn casts to its uint8 bin type (256 is category 0)
t = np.array([-1, -0.5, -0.0, 0, 0.5, 1, 2.5, 3, 38, 39, 39.5, 40, 41, 100, 255, 256, 259, 300.5,
              511, 2**31 - 1, 2**31 + 5, 1e30, -256, np.nan] * 25)
XH = np.stack([rng.permutation(t), rng.normal(size=len(t)),
               rng.permutation(np.resize([0, 1, 2, 3, 4, 5, -1, np.nan, 2.5, 7], len(t)))], 1)
pd.DataFrame(XH, columns=["c", "x", "k2"]).assign(id=np.arange(len(XH))).to_csv(
    path("hgb_codes.csv"), index=False, float_format="%.17g", na_rep="")
with h5py.File(path("hgb_codes_in.h5"), "w") as f:
    f.create_dataset("features", data=XH).attrs["feature_names"] = ["c", "x", "k2"]
want = hgb.predict_proba(XH)
every_isa("hgb_codes", path("hgb_codes.h5"), path("hgb_codes.csv"), want,
          extra=("--id-column", "id"))
every_isa("hgb_codes_h5", path("hgb_codes.h5"), path("hgb_codes_in.h5"), want, fmt_out="h5")

# ---- HistGradientBoosting in a Pipeline with an OrdinalEncoder ------------------
ct = make_column_transformer(
    (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["c1", "c2"]),
    remainder="passthrough")
frame = pd.DataFrame({"c1": c1, "x": x, "c2": c2})
pipe = make_pipeline(ct, HistGradientBoostingClassifier(max_iter=15, categorical_features=[0, 1],
                                                        random_state=0))
pipe.fit(frame, (signal > 1).astype(int))
export(pipe, path("hgb_pipe.h5"))
raw = score.drop(columns=["id"]).assign(c2=rng.choice(["lo", "mid", "hi", "zzz"], m))
raw.assign(id=score["id"]).to_csv(path("hgb_pipe.csv"), index=False, na_rep="",
                                  float_format="%.17g")
back = pd.read_csv(path("hgb_pipe.csv"), keep_default_na=False, na_values=[""],
                   float_precision="round_trip")
want = pipe.predict_proba(back[["c1", "x", "c2"]])
every_isa("hgb_pipe", path("hgb_pipe.h5"), path("hgb_pipe.csv"), want,
          extra=("--id-column", "id"))

# ---- hostile containers ------------------------------------------------------
def tampered(name, edit, text):
    src, out = path("hgb_codes.h5"), path(f"bad_{name}.h5")
    with h5py.File(src, "r") as f, h5py.File(out, "w") as g:
        for k, v in f.attrs.items():
            g.attrs[k] = v
        for k in f:
            f.copy(k, g)
        edit(g)
    refused(f"hostile container ({name})", ["model", "info", out], 3, text)


def replace(g, name, data):
    del g[name]
    g.create_dataset(name, data=data)


def wide(g):
    off = g["trees/cat_offset"][...]
    first = int(np.flatnonzero(np.diff(off))[0])
    off[first + 1:] += 600000
    replace(g, "trees/cat_offset", off)
    replace(g, "trees/cat_bits", np.zeros(off[-1], np.uint32))


def leaf(g):
    st = g["trees/split_type"][...]
    st[int(np.flatnonzero(g["trees/feature"][...] < 0)[0])] = 1
    replace(g, "trees/split_type", st)


def short(g):
    off = g["trees/cat_offset"][...]
    off[-1] += 5
    replace(g, "trees/cat_offset", off)


tampered("wide bitset", wide, "bitset words (expected 0..524288)")
tampered("leaf", leaf, "a leaf is marked categorical")
tampered("offsets past the words", short, "/trees/cat_offset must run from 0 to")
tampered("bad word", lambda g: replace(g, "trees/cat_bits",
                                       -np.ones(len(g["trees/cat_bits"]), np.int64)),
         "is not a 32-bit word")
tampered("other", lambda g: g.attrs.modify("categorical_other", "right"),
         'attribute categorical_other = "right", expected left or missing')
finish()
