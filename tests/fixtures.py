"""Small fixtures for the CLI tests, written into DIR:
  model.h5       binary LogisticRegression on features a, b, c (classes no/yes)
  good.csv       id,a,b,c,extra: 50 clean rows (extra is ignored)
  expected.csv   scikit-learn's predict_proba/predict for good.csv, as
                 id,p_no,p_yes,label with probabilities to 17 digits
  wrong_nf.h5    model.h5 with n_features = 4 (shape mismatch)
  notmodel.h5    an HDF5 file that is not a model container
Usage: fixtures.py DIR
"""
import os
import sys

import h5py
import numpy as np
import shutil
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from export_sklearn import export  # noqa: E402

d = sys.argv[1]
rng = np.random.default_rng(1)
x = rng.normal(size=(200, 3))
y = np.where(x @ [1.0, -2.0, 0.5] + rng.normal(size=200) > 0, "yes", "no")
clf = LogisticRegression().fit(x, y)
export(clf, os.path.join(d, "model.h5"), feature_names=["a", "b", "c"])

xs = np.round(x[:50], 6)
with open(os.path.join(d, "good.csv"), "w") as f:
    f.write("id,a,b,c,extra\n")
    for i, r in enumerate(xs):
        f.write(f"id{i},{r[0]!r},{r[1]!r},{r[2]!r},zzz\n")
p = clf.predict_proba(xs)
lab = clf.predict(xs)
with open(os.path.join(d, "expected.csv"), "w") as f:
    f.write("id,p_no,p_yes,label\n")
    for i in range(len(xs)):
        f.write(f"id{i},{p[i, 0]:.17g},{p[i, 1]:.17g},{lab[i]}\n")

shutil.copy(os.path.join(d, "model.h5"), os.path.join(d, "wrong_nf.h5"))
with h5py.File(os.path.join(d, "wrong_nf.h5"), "r+") as f:
    f.attrs["n_features"] = np.int64(4)
# the edit breaks the seal: wipe it, so the loader's verdict on the content
# (not the checksum) is what the tests see
with open(os.path.join(d, "wrong_nf.h5"), "r+b") as f:
    f.write(bytes(64))
with h5py.File(os.path.join(d, "notmodel.h5"), "w") as f:
    f.create_dataset("x", data=np.arange(3))
