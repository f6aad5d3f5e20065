#!/usr/bin/env python3
"""Categorical-split benchmark: what a categorical split costs in mpiscore,
against XGBoost's own predictor and against a numeric model of the same
size, same machine, same run.

  bench_categorical.py --mpiscore BUILD/mpiscore [--rows 300000] [--rounds 200]
                       [--depth 6] [--work DIR] [--repeat 3]

1. Generates ROWS rows: two text categoricals (60 and 8 categories, 2%
   blank) and six float32 numbers; trains on the first 50,000 rows a
   binary:logistic XGBoost model with enable_categorical (partition splits)
   and, as the numeric peer, the same model on the category codes taken as
   numbers; imports both (the first twice: integer codes, and text with
   --categories).
2. Kernel cost, ns per tree x row on one core: XGBoost inplace_predict
   (nthread=1) on the codes in memory; mpiscore -n 1 on HDF5 codes (kernel
   seconds from --metrics) for the categorical model (trees_cat.c) and
   the numeric one (SIMD kernels).
3. End to end on the text CSV: mpiscore -n 2 (--categories model) against
   pandas.read_csv + the training categories + XGBoost predict (nthread=2)
   + to_csv. Outputs are checked against XGBoost (|diff| <= 1e-5) first.
Prints the figures and their ratios (no pass/fail).
"""
import argparse
import json
import os
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd
import xgboost as xgb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_trees import best, sh  # noqa: E402  the same runner and timer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpiscore", required=True)
    ap.add_argument("--rows", type=int, default=300000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--work")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="bench-cat-")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    rng = np.random.default_rng(3)
    n = a.rows
    big = np.array([f"city_{i}" for i in range(60)], dtype=object)
    small = np.array([f"plan_{i}" for i in range(8)], dtype=object)
    c1 = big[rng.integers(0, 60, n)]
    c2 = small[rng.integers(0, 8, n)]
    c1[rng.random(n) < 0.02] = ""
    num = rng.normal(size=(n, 6)).astype(np.float32)
    names = ["c1", "c2"] + [f"x{j}" for j in range(6)]
    cats = {"c1": sorted(set(big)), "c2": sorted(set(small))}
    codes = np.stack([pd.Categorical(np.where(c1 == "", None, c1), categories=cats["c1"]).codes,
                      pd.Categorical(c2, categories=cats["c2"]).codes], 1).astype(np.float32)
    codes[codes < 0] = np.nan
    xc = np.concatenate([codes, num], 1)
    effect = rng.normal(size=60)
    y = (effect[np.nan_to_num(codes[:, 0], nan=0).astype(int)] + num[:, 0] +
         (codes[:, 1] % 3 == 0) + rng.normal(size=n) * 0.5 > 0.5).astype(int)
    tr = slice(0, min(n, 50000))
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": a.depth,
              "eta": 0.1, "max_cat_to_onehot": 1, "nthread": 2, "seed": 0}
    dcat = xgb.DMatrix(xc[tr], label=y[tr], feature_names=names,
                       feature_types=["c", "c"] + ["q"] * 6, enable_categorical=True)
    bcat = xgb.train(params, dcat, a.rounds)
    bnum = xgb.train(params, xgb.DMatrix(xc[tr], label=y[tr], feature_names=names), a.rounds)
    paths = {k: os.path.join(work, k) for k in ("cat.json", "num.json", "cats.json", "cat.h5",
                                                "cat_text.h5", "num.h5", "codes.h5", "text.csv")}
    bcat.save_model(paths["cat.json"])
    bnum.save_model(paths["num.json"])
    json.dump(cats, open(paths["cats.json"], "w"))
    sh([a.mpiscore, "model", "import", "xgboost", paths["cat.json"], "-o", paths["cat.h5"]])
    sh([a.mpiscore, "model", "import", "xgboost", paths["cat.json"], "-o", paths["cat_text.h5"],
        "--categories", paths["cats.json"]])
    sh([a.mpiscore, "model", "import", "xgboost", paths["num.json"], "-o", paths["num.h5"]])
    with h5py.File(paths["codes.h5"], "w") as f:
        f.create_dataset("features", data=xc).attrs["feature_names"] = names
    text = pd.DataFrame({"c1": c1, "c2": c2, **{names[2 + j]: num[:, j] for j in range(6)}})
    text.to_csv(paths["text.csv"], index=False, float_format="%.9g")

    res = {}
    for key, bst in (("cat", bcat), ("num", bnum)):
        bst.set_param({"nthread": 1})
        res[f"xgb_{key}"] = best(lambda: bst.inplace_predict(xc), a.repeat)
        model = paths[f"{key}.h5"]
        out, met = os.path.join(work, f"{key}_out.h5"), os.path.join(work, f"{key}_met.json")
        cmd = ["mpirun", "-n", "1", a.mpiscore, "run", "--model", model, "--input",
               paths["codes.h5"], "--output", out, "--overwrite", "--metrics", met]
        best(lambda: sh(cmd, env), a.repeat)
        m = json.load(open(met))
        res[f"ms_{key}"] = sum(r["score_s"] for r in m["per_rank"])
        res["isa"] = m["isa"]
        with h5py.File(out, "r") as f:
            diff = np.max(np.abs(f["predictions"][:, 1] - bst.inplace_predict(xc)))
        if diff > 1e-5:
            sys.exit(f"bench_categorical: {key}: outputs disagree with XGBoost ({diff:.2e})")

    peer_out = os.path.join(work, "peer.csv")

    def peer():
        df = pd.read_csv(paths["text.csv"], keep_default_na=False, na_values=[""])
        for c in cats:
            df[c] = pd.Categorical(df[c], categories=cats[c])
        bcat.set_param({"nthread": 2})
        p = bcat.predict(xgb.DMatrix(df, enable_categorical=True))
        pd.DataFrame({"p_0": 1 - p, "p_1": p, "label": (p > 0.5).astype(int)}).to_csv(
            peer_out, index=False)

    res["e2e_peer"] = best(peer, a.repeat)
    ms_out = os.path.join(work, "ms_text.csv")
    cmd = ["mpirun", "-n", "2", a.mpiscore, "run", "--model", paths["cat_text.h5"], "--input",
           paths["text.csv"], "--output", ms_out, "--overwrite"]
    res["e2e_ms"] = best(lambda: sh(cmd, env), a.repeat)
    diff = np.max(np.abs(pd.read_csv(ms_out)["p_1"].to_numpy() -
                         pd.read_csv(peer_out)["p_1"].to_numpy()))
    if diff > 1e-5:
        sys.exit(f"bench_categorical: text CSV: outputs disagree with XGBoost ({diff:.2e})")

    trees = n * a.rounds
    ns = {k: res[k] / trees * 1e9 for k in ("xgb_cat", "xgb_num", "ms_cat", "ms_num")}
    print(f"{n} rows, {a.rounds} trees of depth {a.depth}, mpiscore ISA {res['isa']}")
    print(f"ns per tree x row, one core: XGBoost categorical {ns['xgb_cat']:.2f}, numeric "
          f"{ns['xgb_num']:.2f}; mpiscore categorical (row-block walk) {ns['ms_cat']:.2f}, "
          f"numeric (SIMD) {ns['ms_num']:.2f}")
    print(f"mpiscore vs XGBoost, categorical model: {ns['xgb_cat'] / ns['ms_cat']:.2f}x; "
          f"mpiscore categorical vs numeric model: {ns['ms_cat'] / ns['ms_num']:.2f}x the time")
    print(f"text CSV end to end: pandas + XGBoost {res['e2e_peer']:.2f} s, mpiscore -n 2 "
          f"{res['e2e_ms']:.2f} s ({res['e2e_peer'] / res['e2e_ms']:.2f}x)")


if __name__ == "__main__":
    main()
