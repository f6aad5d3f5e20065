"""Fidelity of XGBoost imports: train with XGBoost here, save_model(".json")
(or ".ubj", UBJSON),
`mpiscore model import xgboost`, score with `mpirun -n 2 mpiscore run`, and
compare every row with XGBoost's own inplace_predict (predict for
multi:softmax labels, the scikit-learn wrapper's predict_proba/predict):
|diff| <= 1e-5, labels equal, and identity-link scores bit-identical.

Also checks, per model, that the container's base_score plus XGBoost's own
leaves (pred_leaf) summed in float32 in tree order gives XGBoost's margin bit
for bit (so base_score -> margin and the accumulation order are exact), and
that real XGBoost models the importer must refuse (dart, gblinear, an
unknown objective, a bad --iteration-range) are refused with the documented
exit code and message, leaving no output file. Categorical splits have
their own test (fidelity_categorical.py).

Data: a grid of float32 values (k/64) so split thresholds are hit exactly,
with and without missing values (NaN). Every (ISA, CSV|HDF5) pair the
machine has runs on the first two cases; later cases take turns through the
pairs (each MPI start-up costs about a second).

Usage: fidelity_xgb.py WORKDIR   (env MPISCORE = binary)
Prints one line per check and ends with "N passed, M failed".
"""
import concurrent.futures
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import xgboost as xgb

sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "tests"))
from checks import finish, isas, report  # noqa: E402

TOL = 1e-5
work = sys.argv[1]
mpiscore = os.environ["MPISCORE"]
jobs = []  # (what, model, input, output, isa, expected, labels, exact), run by score_all
rng = np.random.default_rng(11)


ISAS = isas()
PAIRS = [(isa, fmt) for isa in ISAS for fmt in ("csv", "h5")]
pair_turn = 0


def write_inputs(name, x, names):
    csv = os.path.join(work, name + ".csv")
    # %.9g round-trips float32; NaN becomes an empty field (missing)
    df = pd.DataFrame(x.astype(np.float64), columns=names)
    df.insert(0, "id", [f"r{i}" for i in range(len(x))])
    df.to_csv(csv, index=False, float_format="%.9g", na_rep="")
    h5 = os.path.join(work, name + ".h5")
    with h5py.File(h5, "w") as f:
        d = f.create_dataset("features", data=x.astype(np.float32))
        d.attrs["feature_names"] = names
        f.create_dataset("ids", data=np.arange(len(x), dtype=np.int64))
    return {"csv": csv, "h5": h5}


def import_model(js, out, extra=()):
    r = subprocess.run([mpiscore, "model", "import", "xgboost", js, "-o", out, *extra],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"import {js} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout.strip()


def run(model, inp, out, isa):
    env = dict(os.environ, MPISCORE_ISA=isa)
    cmd = ["mpirun", "-n", "2", mpiscore, "run", "--model", model, "--input", inp, "--output",
           out, "--overwrite", "--id-column", "id" if inp.endswith(".csv") else "ids",
           "--mini-batch-rows", "37"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")


def read_output(path, n_out):
    """Outputs as float32 (CSV text is the shortest float32 repr) and labels as str."""
    if path.endswith(".csv"):
        df = pd.read_csv(path, keep_default_na=False, dtype={"label": str})
        vals = df.iloc[:, 1:1 + n_out].to_numpy(dtype=np.float64).astype(np.float32)
        labels = df["label"].astype(str).to_numpy() if "label" in df else None
        return vals, labels
    with h5py.File(path, "r") as f:
        vals = f["predictions"][...].astype(np.float32)
        labels = None
        if "labels" in f:
            cl = [c.decode() if isinstance(c, bytes) else str(c)
                  for c in f["labels"].attrs["class_labels"]]
            labels = np.array([cl[i] for i in f["labels"][...]])
        return vals, labels


def check_margin(name, js, model_h5, bst, x, begin, end, missing=np.nan):
    """Container base_score + XGBoost's own leaves in float32 == XGBoost's margin."""
    with h5py.File(model_h5, "r") as f:
        base = f["trees/base_score"][...]
    j = json.load(open(js))
    gb = j["learner"]["gradient_booster"]["model"]
    trees = {t["id"]: t for t in gb["trees"]}
    info = gb["tree_info"]
    d = xgb.DMatrix(x, feature_names=bst.feature_names, missing=missing)
    # pred_leaf only takes ranges from round 0: drop the leading trees
    leaves = bst.predict(d, pred_leaf=True, iteration_range=(0, end))
    leaves = leaves.reshape(len(x), -1).astype(np.int64)
    margin = bst.predict(d, output_margin=True, iteration_range=(begin, end))
    margin = margin.reshape(len(x), -1).astype(np.float32)
    groups = margin.shape[1]
    layer = leaves.shape[1] // end
    acc = np.tile(base.astype(np.float32), (len(x), 1))
    for t in range(begin * layer, end * layer):
        vals = np.array(trees[t]["split_conditions"], dtype=np.float32)
        acc[:, info[t]] += vals[leaves[:, t]]
    ok = acc.shape == margin.shape and np.array_equal(acc, margin)
    report(ok, f"{name}: base_score {base[0]!r} + leaves in float32 = XGBoost margin "
               f"({groups} group(s), {(end - begin) * layer} trees)")


def case(name, bst, x, names, expected, labels=None, exact=False, pairs=None, extra=(),
         begin=0, end=None, missing=np.nan, saver=None, ubj=False):
    """Import bst's JSON (its UBJSON with ubj), score x, compare. expected:
    rows x outputs (float32)."""
    global pair_turn
    js = os.path.join(work, name + ".json")
    (saver or bst).save_model(js)  # saver: an XGBClassifier, whose JSON has its parameters
    src = js
    if ubj:
        src = os.path.join(work, name + ".ubj")
        (saver or bst).save_model(src)
    model = os.path.join(work, name + "_model.h5")
    try:
        summary = import_model(src, model, extra)
        report(True, f"{name}: import: {summary}")
    except Exception as e:  # noqa: BLE001 - reported with its text
        report(False, f"{name}: {e}")
        return
    check_margin(name, js, model, bst, x, begin, end or bst.num_boosted_rounds(), missing)
    inputs = write_inputs(name, x, names)
    if pairs is None:
        pairs = [PAIRS[pair_turn % len(PAIRS)]]
        pair_turn += 1
    expected = np.asarray(expected, dtype=np.float32).reshape(len(x), -1)
    for isa, fmt in pairs:
        out = os.path.join(work, f"{name}_{isa}_out.{fmt}")
        jobs.append((f"{name} [{isa}, {fmt} in/out]", model, inputs[fmt], out, isa, expected,
                     labels, exact))


def score_all():
    """Run every queued job, three at a time (each is mostly MPI start-up),
    and compare its output with what XGBoost predicted."""
    def one(job):
        what, model, inp, out, isa, expected, labels, exact = job
        run(model, inp, out, isa)
        return read_output(out, expected.shape[1])

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(one, job) for job in jobs]
        for fut, job in zip(futures, jobs):
            what, _, _, _, _, expected, labels, exact = job
            try:
                vals, got_labels = fut.result()
            except Exception as e:  # noqa: BLE001
                report(False, f"{what}: {e}")
                continue
            if vals.shape != expected.shape:
                report(False, f"{what}: shape {vals.shape}, expected {expected.shape}")
                continue
            diff = np.abs(vals.astype(np.float64) - expected.astype(np.float64))
            nan_ok = np.array_equal(np.isnan(vals), np.isnan(expected))
            ok = nan_ok and bool(np.all(diff <= TOL))
            same = int(np.sum(vals == expected))
            note = f"max |diff| = {np.max(diff):.2e}, {same}/{vals.size} bit-identical"
            if exact:
                ok = ok and np.array_equal(vals, expected)
            if labels is not None:
                want = np.array([str(v) for v in labels])
                lab_ok = got_labels is not None and np.array_equal(got_labels, want)
                if not lab_ok:
                    bad = np.nonzero(got_labels != want)[0][:5] if got_labels is not None else []
                    note += f", labels differ at rows {list(bad)}"
                ok = ok and lab_ok
            report(ok, f"{what}: {note}")


def expect_refusal(what, args, code, text, out):
    r = subprocess.run([mpiscore, *args], capture_output=True, text=True)
    first = r.stderr.strip().split("\n")[0] if r.stderr.strip() else ""
    ok = r.returncode == code and text in first and not os.path.exists(out)
    report(ok, f"{what}: exit {r.returncode}: {first}")


# ---- data -------------------------------------------------------------------
n, p = 1500, 6
X = (np.round(rng.normal(size=(n, p)) * 64) / 64).astype(np.float32)
XM = X.copy()
XM[rng.random(size=X.shape) < 0.15] = np.nan
NAMES = [f"f{i}" for i in range(p)]
lin = X[:, 0] - 0.5 * X[:, 1] + 0.25 * X[:, 2] * X[:, 3]
ybin = (lin + rng.normal(size=n) * 0.3 > 0).astype(int)
ymulti = np.digitize(lin, [-1, 0, 1])
ycount = rng.poisson(np.exp(lin / 2))


def train(params, x, y, rounds=10, **kw):
    return xgb.train({"seed": 1, **params}, xgb.DMatrix(x, label=y), rounds, **kw)


def margin_labels(m):
    return (m > 0).astype(int)


# binary:logistic with missing values: every ISA, CSV and HDF5
b = train({"objective": "binary:logistic", "max_depth": 4}, XM, ybin)
pr = b.inplace_predict(XM)
case("binary_logistic_nan", b, XM, NAMES, np.stack([1 - pr, pr], 1), (pr > 0.5).astype(int),
     pairs=PAIRS)

# multi:softprob, 4 classes, missing values: every ISA, CSV and HDF5
b = train({"objective": "multi:softprob", "num_class": 4, "max_depth": 3}, XM, ymulti)
pr = b.inplace_predict(XM)
case("multi_softprob_nan", b, XM, NAMES, pr, np.argmax(pr, 1), pairs=PAIRS)

# scikit-learn wrapper, DataFrame feature names, early stopping (best_iteration
# < last round, honoured by XGBClassifier.predict and by the import)
cols = ["age", "income", "tenure", "score", "visits", "region_code"]
dfx = pd.DataFrame(X, columns=cols)
clf = xgb.XGBClassifier(n_estimators=200, max_depth=3, learning_rate=0.3,
                        early_stopping_rounds=3, random_state=0)
clf.fit(dfx[:1000], ybin[:1000], eval_set=[(dfx[1000:], ybin[1000:])], verbose=False)
bst = clf.get_booster()
report(clf.best_iteration + 1 < bst.num_boosted_rounds(),
       f"early stopping: best_iteration {clf.best_iteration} of {bst.num_boosted_rounds()} rounds")
case("sklearn_early_stopping", bst, X, cols, clf.predict_proba(dfx), clf.predict(dfx),
     pairs=[PAIRS[-1], PAIRS[0]], end=clf.best_iteration + 1)

# the same model with --iteration-range overriding best_iteration
rng_b, rng_e = 2, 5
pr = bst.inplace_predict(X, iteration_range=(rng_b, rng_e))
case("iteration_range_2_5", bst, X, cols, np.stack([1 - pr, pr], 1), (pr > 0.5).astype(int),
     extra=("--iteration-range", f"{rng_b}:{rng_e}"), begin=rng_b, end=rng_e)
pr = bst.inplace_predict(X, iteration_range=(0, 0))
case("iteration_range_all", bst, X, cols, np.stack([1 - pr, pr], 1), (pr > 0.5).astype(int),
     extra=("--iteration-range", "0:0"))

# binary:logitraw: the margin as "score", label = score > 0 (bit-identical)
b = train({"objective": "binary:logitraw", "max_depth": 3}, XM, ybin)
pr = b.inplace_predict(XM)
case("binary_logitraw", b, XM, NAMES, pr, margin_labels(pr), exact=True)

# reg:logistic: one probability, no classes
b = train({"objective": "reg:logistic", "max_depth": 3}, XM, 1 / (1 + np.exp(-lin)))
case("reg_logistic", b, XM, NAMES, b.inplace_predict(XM))

# reg:squarederror, hist (thresholds on data values), deeper trees: bit-identical
b = train({"objective": "reg:squarederror", "tree_method": "hist", "max_depth": 6}, XM, lin * 3,
          rounds=15)
case("reg_squarederror_hist", b, XM, NAMES, b.inplace_predict(XM), exact=True)

# the other identity-link regressions
for obj, y in (("reg:squaredlogerror", np.abs(lin)), ("reg:pseudohubererror", lin),
               ("reg:absoluteerror", lin)):
    b = train({"objective": obj, "max_depth": 3}, XM, y)
    case(obj.replace(":", "_"), b, XM, NAMES, b.inplace_predict(XM), exact=True)

# log-link regressions: base_score -> log(base_score)
b = train({"objective": "count:poisson", "max_depth": 3, "base_score": 2.7}, XM, ycount)
case("count_poisson", b, XM, NAMES, b.inplace_predict(XM))
for obj, y in (("reg:gamma", np.exp(lin / 2) + 0.1), ("reg:tweedie", ycount * 1.5)):
    b = train({"objective": obj, "max_depth": 3}, XM, y)
    case(obj.replace(":", "_"), b, XM, NAMES, b.inplace_predict(XM))

# logistic with a user base_score: -log(1/b - 1) in float
b = train({"objective": "binary:logistic", "max_depth": 3, "base_score": 0.3}, X, ybin)
pr = b.inplace_predict(X)
case("binary_logistic_base_score", b, X, NAMES, np.stack([1 - pr, pr], 1), (pr > 0.5).astype(int))

# multi:softmax: XGBoost's predict gives the label; probabilities from its margins
b = train({"objective": "multi:softmax", "num_class": 3, "max_depth": 3}, XM,
          np.digitize(lin, [-0.5, 0.5]))
mg = b.predict(xgb.DMatrix(XM), output_margin=True).astype(np.float64)
e = np.exp(mg - mg.max(1, keepdims=True))
case("multi_softmax", b, XM, NAMES, e / e.sum(1, keepdims=True),
     b.predict(xgb.DMatrix(XM)).astype(int))

# num_parallel_tree > 1 (boosted random forest), binary and multi-class
b = train({"objective": "binary:logistic", "num_parallel_tree": 3, "subsample": 0.7,
           "colsample_bynode": 0.8, "max_depth": 3}, XM, ybin, rounds=4)
pr = b.inplace_predict(XM)
case("parallel_trees_binary", b, XM, NAMES, np.stack([1 - pr, pr], 1), (pr > 0.5).astype(int))
b = train({"objective": "multi:softprob", "num_class": 4, "num_parallel_tree": 2,
           "subsample": 0.7, "max_depth": 3}, XM, ymulti, rounds=4)
pr = b.inplace_predict(XM)
case("parallel_trees_multi", b, XM, NAMES, pr, np.argmax(pr, 1))

# pruned trees: the exact method with gamma leaves deleted nodes in the JSON
b = train({"objective": "reg:squarederror", "tree_method": "exact", "max_depth": 5,
           "gamma": 2.0}, X, lin * 3)
b.save_model(os.path.join(work, "probe.json"))
deleted = sum(int(t["tree_param"]["num_deleted"]) for t in json.load(
    open(os.path.join(work, "probe.json")))["learner"]["gradient_booster"]["model"]["trees"])
report(deleted > 0, f"pruned model has {deleted} deleted nodes")
case("pruned_trees", b, X, NAMES, b.inplace_predict(X), exact=True)

# a model without feature names, imported with --feature-names
b = train({"objective": "reg:squarederror", "max_depth": 3}, XM, lin)
case("feature_names_option", b, XM, ["a", "b", "c", "d", "e", "g"], b.inplace_predict(XM),
     exact=True, extra=("--feature-names", "a,b,c,d,e,g"))

# A `missing` sentinel (issue 12 of the tracker: -999 used to score as a
# number): the scikit-learn wrapper records it in the JSON; a Booster trained
# through DMatrix(missing=...) cannot, so the import takes --missing.
XS = X.copy()
XS[rng.random(size=X.shape) < 0.15] = -999
clf = xgb.XGBClassifier(n_estimators=8, max_depth=3, missing=-999, random_state=0)
clf.fit(XS, ybin)
case("sklearn_missing_sentinel", clf.get_booster(), XS, NAMES, clf.predict_proba(XS),
     clf.predict(XS), pairs=[PAIRS[-1], PAIRS[0]], missing=-999, saver=clf)
b = xgb.train({"objective": "reg:squarederror", "max_depth": 4, "seed": 1},
              xgb.DMatrix(XS, label=lin, missing=-999), 8)
case("dmatrix_missing_option", b, XS, NAMES, b.inplace_predict(XS, missing=-999), exact=True,
     extra=("--missing", "-999"), missing=-999)
report(not np.array_equal(b.inplace_predict(XS, missing=-999), b.inplace_predict(XS)),
       "the sentinel changes XGBoost's own predictions (the cases above can fail)")

# UBJSON (save_model("m.ubj")): the same model as its JSON, bit for bit,
# including the scikit-learn wrapper's parameters and missing values
b = train({"objective": "binary:logistic", "max_depth": 4}, XM, ybin)
pr = b.inplace_predict(XM)
case("ubjson_binary_nan", b, XM, NAMES, np.stack([1 - pr, pr], 1), (pr > 0.5).astype(int),
     ubj=True, pairs=[PAIRS[0], PAIRS[-1]])
b = train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, XM, ymulti % 3)
pr = b.inplace_predict(XM)
case("ubjson_multi", b, XM, NAMES, pr, np.argmax(pr, 1), ubj=True)
case("ubjson_sklearn_missing_sentinel", clf.get_booster(), XS, NAMES, clf.predict_proba(XS),
     clf.predict(XS), missing=-999, saver=clf, ubj=True)

# binary:hinge: XGBoost predicts 0/1 (margin > 0); label = that class
b = train({"objective": "binary:hinge", "max_depth": 3}, XM, ybin)
pr = b.inplace_predict(XM)
report(set(np.unique(pr)) <= {0.0, 1.0} and len(np.unique(pr)) == 2, "binary:hinge predicts 0 and 1")
case("binary_hinge", b, XM, NAMES, pr, pr.astype(int), exact=True, pairs=[PAIRS[0], PAIRS[-1]])

# learning to rank: the prediction is the margin, bit-identical
qid = np.repeat(np.arange(len(X) // 20), 20)[:len(X)]
rel = np.clip(np.round(lin - lin.min()), 0, 4).astype(int)
for obj in ("rank:pairwise", "rank:ndcg", "rank:map"):
    yr = rel if obj != "rank:map" else (rel > 2).astype(int)
    d = xgb.DMatrix(XM, label=yr, qid=qid)
    b = xgb.train({"objective": obj, "max_depth": 4, "seed": 1}, d, 8)
    case(obj.replace(":", "_"), b, XM, NAMES, b.inplace_predict(XM), exact=True,
         ubj=obj == "rank:ndcg")

score_all()

# ---- refusals of real XGBoost output -------------------------------------------
out = os.path.join(work, "refused.h5")
b = train({"booster": "dart", "objective": "binary:logistic", "rate_drop": 0.3}, X, ybin, rounds=3)
b.save_model(os.path.join(work, "dart.json"))
expect_refusal("dart", ["model", "import", "xgboost", os.path.join(work, "dart.json"), "-o", out],
               3, 'booster "dart" is not supported', out)
b = train({"booster": "gblinear", "objective": "reg:squarederror"}, X, lin, rounds=3)
b.save_model(os.path.join(work, "gblinear.json"))
expect_refusal("gblinear",
               ["model", "import", "xgboost", os.path.join(work, "gblinear.json"), "-o", out],
               3, 'booster "gblinear" is not supported', out)
b = train({"objective": "survival:cox", "max_depth": 2}, X, np.abs(lin) + 1, rounds=2)
b.save_model(os.path.join(work, "cox.json"))
expect_refusal("unknown objective",
               ["model", "import", "xgboost", os.path.join(work, "cox.json"), "-o", out],
               3, 'objective "survival:cox" is not supported', out)
expect_refusal("iteration range beyond the rounds",
               ["model", "import", "xgboost", os.path.join(work, "binary_logitraw.json"), "-o",
                out, "--iteration-range", "0:99"], 1,
               "iteration range 0:99 does not fit the model's 10 boosting rounds", out)
expect_refusal("feature names contradicting the model's",
               ["model", "import", "xgboost", os.path.join(work, "sklearn_early_stopping.json"),
                "-o", out, "--feature-names", "age,income,tenure,score,visits,region"], 1,
               'given feature name 6 "region" differs from the model\'s "region_code"', out)
# usage errors of the command itself
js = os.path.join(work, "binary_logitraw.json")
expect_refusal("unknown format", ["model", "import", "lightgbm", js, "-o", out], 1,
               'unknown format "lightgbm" (supported: xgboost)', out)
expect_refusal("no -o", ["model", "import", "xgboost", js], 1, "-o OUT.h5 is required", out)
expect_refusal("bad --iteration-range", ["model", "import", "xgboost", js, "-o", out,
                                         "--iteration-range", "3"], 1,
               "--iteration-range 3: expected BEGIN:END", out)
expect_refusal("-o is the input", ["model", "import", "xgboost", js, "-o", js], 1,
               "would replace the model being imported", out)
expect_refusal("missing file", ["model", "import", "xgboost", os.path.join(work, "none.json"),
                                "-o", out], 4, "No such file or directory", out)

finish()
