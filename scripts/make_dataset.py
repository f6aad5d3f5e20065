#!/usr/bin/env python3
"""Make the datasets mpiscore's demo, tests and benchmarks use.

  make_dataset.py sample DIR
      The checked-in real sample: scikit-learn's copy of the UCI handwritten
      digits (1797 images, 8x8 pixels) as DIR/digits.csv with an `image_id`
      column, and a multinomial LogisticRegression trained on it exported to
      DIR/digits_logreg.h5.

  make_dataset.py synthetic --rows N --features F --out DIR [--format csv|hdf5|both]
                            [--classes K] [--seed S] [--files M]
      N rows x F float features drawn from a fixed random linear model, as
      DIR/data.csv (id column `row_id`) and/or DIR/data.h5 (/features with a
      feature_names attribute, /ids), written in chunks so 10M+ rows fit in
      little memory; --files M splits the CSV into DIR/part-XXX.csv instead.
      A LogisticRegression trained on the first 100k rows goes to
      DIR/model.h5 (and pickled to DIR/model.pkl for the benchmark's peer).

Run with Debian's interpreter (/usr/bin/python3), which has scikit-learn.
"""
import argparse
import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_sklearn import export  # noqa: E402


def sample(outdir):
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    os.makedirs(outdir, exist_ok=True)
    d = load_digits()
    names = [f"pixel_{i // 8}_{i % 8}" for i in range(64)]
    x = d.data.astype(np.float64)
    with open(os.path.join(outdir, "digits.csv"), "w") as f:
        f.write("image_id," + ",".join(names) + ",digit\n")
        for i, (row, y) in enumerate(zip(x, d.target)):
            f.write(f"img-{i:04d}," + ",".join(str(int(v)) for v in row) + f",{y}\n")
    clf = LogisticRegression(max_iter=5000, C=0.1)
    clf.fit(x, d.target)
    export(clf, os.path.join(outdir, "digits_logreg.h5"), feature_names=names)
    print(f"wrote {outdir}/digits.csv ({len(x)} rows) and {outdir}/digits_logreg.h5")


def fmt_rows(ids, x):
    # x holds the float64 values of 9-digit decimals, so %.9g writes them back
    # exactly: the CSV and HDF5 copies hold equal values at float32 and float64
    cols = [ids] + [np.char.mod("%.9g", x[:, j]) for j in range(x.shape[1])]
    return "\n".join(",".join(r) for r in zip(*cols)) + "\n"


def synthetic(a):
    from sklearn.linear_model import LogisticRegression

    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    names = [f"f{j}" for j in range(a.features)]
    w = rng.normal(size=(a.features, a.classes if a.classes > 2 else 1)) / np.sqrt(a.features)
    chunk = 200_000
    h5 = None
    csv_files = []
    if a.format in ("csv", "both"):
        n_files = max(1, a.files)
        for k in range(n_files):
            p = os.path.join(a.out, "data.csv" if a.files <= 1 else f"part-{k:03d}.csv")
            f = open(p, "w")
            f.write("row_id," + ",".join(names) + "\n")
            csv_files.append(f)
    if a.format in ("hdf5", "both"):
        import h5py

        h5 = h5py.File(os.path.join(a.out, "data.h5"), "w")
        feats = h5.create_dataset("/features", (a.rows, a.features), dtype="f8",
                                  chunks=(min(a.rows, 65536), a.features))
        feats.attrs["feature_names"] = names
        ids = h5.create_dataset("/ids", (a.rows,), dtype="i8")
    train_x, train_y = [], []
    per_file = -(-a.rows // max(1, len(csv_files))) if csv_files else a.rows
    for start in range(0, a.rows, chunk):
        n = min(chunk, a.rows - start)
        x = rng.normal(size=(n, a.features)).astype(np.float32)
        # the numbers the CSV holds: 9 significant digits (a float32 reads
        # back from them), as doubles, so float64 models see the same values
        # in the CSV and the HDF5 copy
        x = np.char.mod("%.9g", x).astype(np.float64)
        logits = x.astype(np.float64) @ w
        if a.classes > 2:
            y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
        else:
            y = (logits[:, 0] + rng.logistic(size=n) > 0).astype(int)
        if sum(len(t) for t in train_y) < 100_000:
            train_x.append(x)
            train_y.append(y)
        rid = np.arange(start, start + n)
        if csv_files:
            # a chunk may straddle two parts; split it by global row index
            for k in range(start // per_file, min(len(csv_files), (start + n - 1) // per_file + 1)):
                lo = max(start, k * per_file) - start
                hi = min(start + n, (k + 1) * per_file) - start
                if hi > lo:
                    csv_files[k].write(fmt_rows(rid[lo:hi].astype(str), x[lo:hi]))
        if h5 is not None:
            feats[start:start + n] = x
            ids[start:start + n] = rid
    for f in csv_files:
        f.close()
    if h5 is not None:
        h5.close()
    tx = np.concatenate(train_x)[:100_000]
    ty = np.concatenate(train_y)[:100_000]
    clf = LogisticRegression(max_iter=1000)
    clf.fit(tx.astype(np.float64), ty)
    export(clf, os.path.join(a.out, "model.h5"), feature_names=names)
    with open(os.path.join(a.out, "model.pkl"), "wb") as f:
        pickle.dump(clf, f)
    print(f"wrote {a.rows} rows x {a.features} features to {a.out}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("dir")
    g = sub.add_parser("synthetic")
    g.add_argument("--rows", type=int, required=True)
    g.add_argument("--features", type=int, required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--format", choices=["csv", "hdf5", "both"], default="both")
    g.add_argument("--classes", type=int, default=2)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--files", type=int, default=1)
    a = p.parse_args()
    if a.cmd == "sample":
        sample(a.dir)
    else:
        if a.rows < 1 or a.features < 1 or a.classes < 2:
            p.error("--rows, --features must be >= 1 and --classes >= 2")
        synthetic(a)


if __name__ == "__main__":
    main()
