#!/usr/bin/env python3
"""Write the fuzzers' seed corpus into tests/fuzz/corpus/<harness>/.

  /usr/bin/python3 tests/fuzz/make_corpus.py [--mpiscore BUILD/mpiscore]

Seeds are small valid inputs (and a few near misses) in each harness's
input format (see the comment at the top of each tests/fuzz/fuzz_*.c):
  csv        4 configuration bytes + a CSV file: quotes, CRLF, BOM, NA,
             exponents, blank lines, other delimiters, ragged rows
  floatconv  one CSV field each
  model      the build program fuzz_model.c turns into a container, encoded
             here from real containers written by scripts/export_sklearn.py
             (linear, trees, MLP) plus h5py variants (fixed-length strings,
             float32 weights, int32/float attributes)
  model_file a mode byte + a sealed container's bytes as the exporter wrote
             it (fuzz_model_file.c): mode 0 keeps the seal, mode 1 erases it
  xgb        XGBoost JSON models saved by xgboost itself (binary, multi-class,
             regression, a few trees each); also tests/fuzz/xgb.dict, the
             JSON keys and objective names as a libFuzzer dictionary
  journal    journals with the harness's fixed fingerprint (valid records,
             a torn tail, a bad checksum, extreme values) and, with
             --mpiscore, one written by a real run stopped with SIGTERM
Existing files of the same name are replaced; others are left alone (the
journal from a real run stays when --mpiscore is not given).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from export_sklearn import export  # noqa: E402


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- csv -------------------------------------------------------------------


def csv_cfg(delim=0, max_records=2, max_bytes=0, cols=4, id_col=None, missing=False, resume=1,
            ignore=0, reverse=False):
    """The 4 configuration bytes of fuzz_csv.c."""
    b0 = delim | (max_records - 1) << 3 | max_bytes << 6
    b1 = (cols - 1) | (8 if id_col is not None else 0) | (16 if missing else 0) | resume << 5
    b2 = (id_col or 0) | (0x80 if reverse else 0)
    return bytes([b0, b1, b2, ignore])


def csv_seeds():
    seeds = {
        "plain": (csv_cfg(cols=4, id_col=0, ignore=1), "id,a,b,c\n1,0.5,-2,3e5\n2,7,8,9\n"),
        "crlf": (csv_cfg(cols=3, max_bytes=2), "a,b,c\r\n1,2,3\r\n4,5,6\r\n"),
        "bom": (csv_cfg(cols=2), b"\xef\xbb\xbfx,y\n1.25,2.5\n"),
        "missing": (csv_cfg(cols=3, missing=True), "a,b,c\nNA,,nan\n1,NULL,-nan\n"),
        "quotes": (csv_cfg(cols=3, id_col=0, ignore=1),
                   'id,"a","b,c"\n"x ""y""",1.5,"2"\n"multi\nline",3,4\n'),
        "exponents": (csv_cfg(cols=2, max_records=1),
                      "a,b\n1e10,1E-5\n-0.0,+.5\n3.4028235e38,1e-45\n1e39,inf\n"
                      "123456789012345678901234567890,0.000000000000000000000000000000000000000001\n"),
        "blank-lines": (csv_cfg(delim=1, cols=2, max_bytes=1),
                        "a ; b\n\n  \n 1 ; 2 \n\r\n3;4\n\n"),
        "tabs": (csv_cfg(delim=2, cols=3, id_col=2), "a\tb\tid\n1\t2\tx\n\t\t\n3\t4\ty\n"),
        "space-delim": (csv_cfg(delim=3, cols=2), "a b\n1 2\n3  4\n"),
        "pipe": (csv_cfg(delim=4, cols=2, reverse=True), "a|b\n1|2\n"),
        "ragged": (csv_cfg(cols=3), "a,b,c\n1,2\n1,2,3,4\n1,2,3\n"),
        "stray-quote": (csv_cfg(cols=2, id_col=0, max_records=2),
                        'id,x\n"a"b,1\nc,2\n"d",3\n"6" ruler,4\n"He said \\"hi\\"",5\n'
                        'e,"6" "\n"f\nf",7\n"g""",8\n'),
        "pandas-na": (csv_cfg(cols=3, missing=True),
                      "a,b,c\nN/A,#N/A,<NA>\nNone,n/a,#NA\n-1.#IND,1.#QNAN,#N/A N/A\n"),
        "bad-numbers": (csv_cfg(cols=2, id_col=1), "a,id\nabc,1\n1.2.3,2\n1e,3\n0x10,4\n"),
        "unterminated": (csv_cfg(cols=2), 'a,b\n1,2\n3,"4\n5,6\n'),
        "no-final-lf": (csv_cfg(cols=2), "a,b\n1,2"),
        "header-only": (csv_cfg(cols=2), "a,b\n"),
        "duplicate-name": (csv_cfg(cols=2), "a,b,a\n1,2,3\n"),
        "empty-name": (csv_cfg(cols=2), "a,,b\n1,2,3\n"),
        "quoted-spaces": (csv_cfg(cols=2), 'a,b\n  "1"  ,"2" x\n"3"" ",4\n'),
        "lone-cr": (csv_cfg(cols=2), "a,b\n1\r2,3\n4,5\r\n"),
        "invalid-delim": (csv_cfg(delim=7, cols=2), "a,b\n1,2\n"),
    }
    for name, (cfg, text) in seeds.items():
        put("csv", name, cfg + (text.encode() if isinstance(text, str) else text))


def float_seeds():
    fields = ["0", "-0", "1.5", "-2.25e-3", ".5", "5.", "+7", "3.4028235e38", "3.4028236e38",
              "1e39", "1e-45", "7e-46", "1.17549435e-38", "123456789012345678901234567890",
              "0.000000000000000000000000000000000000000000700649232162408535461864791",
              "16777217", "9007199254740993", "1e", "1.2.3", "abc", "NA", "NULL", "null", "nan",
              "-NaN", "inf", "-Infinity", "", "  42  ", "\t1e5\t", "0x10", "1e+", "1e-2147483648",
              "1" * 200, "0." + "0" * 100 + "1", "4.9406564584124654e-324",
              # float64: the ends, a tie, the exact midpoint of 1 and its successor
              "2.2250738585072011e-308", "1.7976931348623158e308", "1.7976931348623159e308",
              "2.4703282292062328e-324", "8.98846567431158e307", "7.2057594037927933e16",
              "1.00000000000000011102230246251565404236316680908203125",
              "0.1000000000000000055511151231257827021181583404541015625",
              "1" + "0" * 900 + "1e-900", "0.73914282,-1.2345678"]
    for i, f in enumerate(fields):
        put("floatconv", "f%02d" % i, f)


# ---- model -----------------------------------------------------------------

# fuzz_model.c's dictionaries, same order (append only there and here).
NAMES = ["format", "format_version", "kind", "link", "n_features", "feature_names",
         "output_names", "class_labels", "source", "/linear/coef", "/linear/intercept",
         "/linear", "split_rule", "missing", "aggregate", "accumulate", "/trees/node_offset",
         "/trees/feature", "/trees/threshold", "/trees/left", "/trees/right",
         "/trees/missing_left", "/trees/value", "/trees/tree_output", "/trees/base_score",
         "/trees", "activation", "n_layers", "/mlp/weight_0", "/mlp/bias_0", "/mlp/weight_1",
         "/mlp/bias_1", "/mlp/weight_2", "/mlp/bias_2", "/mlp", "precision", "/prep",
         "n_inputs", "n_steps", "name", "unknown", "categories", "op", "/prep/outputs",
         "/prep/input_0", "/prep/input_1", "/prep/input_2", "/prep/step_0", "/prep/step_1",
         "/prep/step_2", "/prep/step_0/inputs", "/prep/step_0/outputs", "/prep/step_1/inputs",
         "/prep/step_1/outputs", "/prep/step_2/inputs", "/prep/step_2/outputs"]
STRS = ["mpiscore-model", "linear", "tree_ensemble", "mlp", "identity", "logistic", "softmax",
        "ovr", "exp", "lt", "le", "route", "error", "sum", "mean", "float32", "float64", "relu",
        "tanh", "", "a", "b", "c", "d", "p_0", "p_1", "p_2", "score", "0", "1", "2",
        "scikit-learn 1.2.1", "xgboost 1.7.4", "no", "yes", "score_0", "score_1", "decision",
        "numeric", "categorical", "code", "scale", "impute", "indicator", "onehot", "lookup",
        "bins", "poly", "func", "normalize", "log1p", "l2"]


def enc_text(s, table):
    if s in table:
        return bytes([table.index(s)])
    b = s.encode() if isinstance(s, str) else s
    if len(b) > 127:
        raise ValueError("text too long for the seed format: %r" % (s,))
    return bytes([128 + len(b)]) + b


def enc_object(op, name, dtype, shape, values):
    """One object: op 0 root attribute, 2 dataset; values a numpy array."""
    out = bytes([op]) + enc_text(name, NAMES)
    vlen = h5py.check_string_dtype(dtype)
    if vlen is not None and vlen.length is None:
        typ, param = 0, 1 if vlen.encoding == "utf-8" else 0
    elif dtype.kind == "S":
        if dtype.itemsize > 64:
            raise ValueError("fixed string too long")
        typ, param = 1, (dtype.itemsize - 1) | 1 << 6  # numpy S: NUL-padded
    elif dtype.kind in "iu":
        typ = 2
        param = {1: 0, 2: 1, 4: 2, 8: 3}[dtype.itemsize] | (4 if dtype.kind == "u" else 0)
        param |= 8 if dtype.byteorder == ">" else 0
    elif dtype.kind == "f":
        typ = 3
        param = (1 if dtype.itemsize == 8 else 0) | (2 if dtype.byteorder == ">" else 0)
    else:
        raise ValueError("no seed encoding for %s" % dtype)
    out += bytes([typ, param])
    if shape is None:
        out += bytes([1])
    elif len(shape) == 0:
        out += bytes([0])
    elif len(shape) == 1 and shape[0] < 256:
        out += bytes([2, shape[0]])
    elif len(shape) == 2 and max(shape) < 256:
        out += bytes([3, shape[0], shape[1]])
    else:
        raise ValueError("shape %s too large for a seed" % (shape,))
    flat = np.asarray(values).reshape(-1)
    if typ == 0:
        for v in flat:
            out += enc_text(v.decode() if isinstance(v, bytes) else str(v), STRS)
    else:
        out += np.asarray(flat, dtype=dtype).tobytes()
    return out


def enc_container(path, flags=0):
    """A real container as fuzz_model.c's build program."""
    out = bytes([flags])
    with h5py.File(path, "r") as f:
        for name in f.attrs:
            aid = h5py.h5a.open(f.id, name.encode())
            space = aid.get_space()
            shape = None if space.get_simple_extent_type() == h5py.h5s.NULL else aid.shape
            vals = f.attrs[name] if shape is not None else np.zeros(0)
            out += enc_object(0, name, aid.dtype, shape, vals)
        datasets = []
        f.visititems(lambda n, o: datasets.append(n) if isinstance(o, h5py.Dataset) else None)
        for name in datasets:
            if name.startswith("prep"):
                continue
            d = f[name]
            out += enc_object(2, "/" + name, d.dtype, d.shape, d[()])
        # the preprocessing program: groups with attributes (op 3, then op 1
        # for each attribute of the group just made), then their datasets
        items = []
        if "prep" in f:
            items.append(("prep", f["prep"]))
            f["prep"].visititems(lambda n, o: items.append(("prep/" + n, o)))
        for name, o in items:
            if isinstance(o, h5py.Dataset):
                out += enc_object(2, "/" + name, o.dtype, o.shape, o[()])
                continue
            out += bytes([3]) + enc_text("/" + name, NAMES)
            for a in o.attrs:
                aid = h5py.h5a.open(o.id, a.encode())
                out += enc_object(1, a, aid.dtype, aid.shape, o.attrs[a])
    return out


# whole-file seeds for fuzz_model_file.c: one of each kind, kept small
FILE_SEEDS = ("logistic-binary", "forest-classifier", "hgb-regressor", "mlp-classifier")


def model_seeds(tmp):
    from sklearn.ensemble import (GradientBoostingClassifier, HistGradientBoostingRegressor,
                                  RandomForestClassifier)
    from sklearn.linear_model import LinearRegression, LogisticRegression, SGDClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.tree import DecisionTreeRegressor

    import warnings
    warnings.filterwarnings("ignore")  # an MLP stopped early is a fine seed
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y2 = np.where(x @ [1.0, -2.0, 0.5] > 0, "yes", "no")
    y3 = np.digitize(x[:, 0] + x[:, 1], [-0.5, 0.5])
    yr = np.c_[x @ [1.0, 2.0, 3.0], x @ [-1.0, 0.5, 0.0]]
    names = ["a", "b", "c"]
    models = {
        "logistic-binary": LogisticRegression().fit(x, y2),
        "logistic-softmax": LogisticRegression().fit(x, y3),
        "logistic-ovr": LogisticRegression(multi_class="ovr").fit(x, y3),
        "linear-2-targets": LinearRegression().fit(x, yr),
        "sgd-hinge": SGDClassifier(random_state=0).fit(x, y2),
        "tree-regressor": DecisionTreeRegressor(max_depth=2, random_state=0).fit(x, yr[:, 0]),
        "forest-classifier": RandomForestClassifier(n_estimators=2, max_depth=2,
                                                    random_state=0).fit(x, y3),
        "gbm-binary": GradientBoostingClassifier(n_estimators=2, max_depth=2,
                                                 random_state=0).fit(x, y2),
        "hgb-regressor": HistGradientBoostingRegressor(max_iter=2, max_depth=2).fit(x, yr[:, 0]),
        "mlp-classifier": MLPClassifier(hidden_layer_sizes=(3,), max_iter=50,
                                        random_state=0).fit(x, y3),
        # categorical splits: bitsets, categorical_other, category_cast
        "hgb-categorical": HistGradientBoostingRegressor(
            max_iter=2, max_depth=2, categorical_features=[0]).fit(
                np.c_[np.floor(np.abs(x[:, 0]) * 4), x[:, 1:]],
                np.floor(np.abs(x[:, 0]) * 4) % 2 * 5 + x[:, 1]),
    }
    made = 0
    for i, (name, est) in enumerate(models.items()):
        p = os.path.join(tmp, name + ".h5")
        try:
            export(est, p, feature_names=names)
        except Exception as e:  # the exporter may not support every kind yet
            print("skipped %s: %s" % (name, e), file=sys.stderr)
            continue
        # vary the file-level flags across seeds
        put("model", name, enc_container(p, flags=i % 16))
        if name in FILE_SEEDS:
            with open(p, "rb") as f:
                image = f.read()
            assert image.startswith(b"mpiscore-model-checksum v1 "), name
            put("model_file", name + "-sealed", bytes([0]) + image)
            put("model_file", name + "-unsealed", bytes([1]) + image)
        made += 1

    # h5py variants of the binary logistic model: fixed-length strings,
    # float32 weights, int32 and float attributes
    base = os.path.join(tmp, "logistic-binary.h5")
    if os.path.exists(base):
        with h5py.File(base, "r") as f:
            attrs = {k: f.attrs[k] for k in f.attrs}
            coef, icpt = f["/linear/coef"][()], f["/linear/intercept"][()]
        v = os.path.join(tmp, "variant.h5")
        with h5py.File(v, "w") as f:
            for k, val in attrs.items():
                if isinstance(val, np.ndarray) and val.dtype.kind == "O":
                    f.attrs[k] = np.array([s.encode() for s in val], dtype="S8")
                elif isinstance(val, str):
                    f.attrs[k] = np.bytes_(val.encode())
                elif k == "n_features":
                    f.attrs[k] = np.int32(val)
                elif k == "format_version":
                    f.attrs[k] = np.float64(val)
                else:
                    f.attrs[k] = val
            f["/linear/coef"] = coef.astype(np.float32)
            f["/linear/intercept"] = icpt.astype(">f8")
        put("model", "fixed-strings-float32", enc_container(v, flags=3))
        made += 1
    if made == 0:
        raise SystemExit("no model seed could be made")
    prep_seeds(tmp)


def prep_seeds(tmp):
    """Pipelines: containers with a preprocessing program (/prep)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (KBinsDiscretizer, OneHotEncoder, OrdinalEncoder,
                                       PolynomialFeatures, StandardScaler)

    import warnings
    warnings.filterwarnings("ignore")
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(4)
    df = pd.DataFrame({"a": rng.normal(size=60), "b": rng.choice(["x y", "No (z)", "w"], 60),
                       "c": rng.integers(0, 3, 60)})
    df.loc[::7, "a"] = np.nan
    y = (rng.uniform(size=60) < 0.5).astype(int)
    pipes = {
        "prep-telco": make_pipeline(ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["a"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["b"]),
            ("ord", OrdinalEncoder(), ["c"])]), LogisticRegression()),
        # fuzz_model.c builds at most 64 objects: a short program
        "prep-bins-poly": make_pipeline(ColumnTransformer([
            ("bins", KBinsDiscretizer(n_bins=2, encode="onehot-dense"), ["c"]),
            ("poly", PolynomialFeatures(2), ["c"])]), DecisionTreeClassifier(max_depth=1)),
    }
    for i, (name, pipe) in enumerate(pipes.items()):
        p = os.path.join(tmp, name + ".h5")
        export(pipe.fit(df, y), p)
        put("model", name, enc_container(p, flags=(i * 5) % 16))

    # hand-made near misses, written directly in the program form
    def attr(name, s):
        return enc_object(0, name, h5py.string_dtype("utf-8"), (), np.array(s, dtype=object))

    def iattr(name, v):
        return enc_object(0, name, np.dtype("<i8"), (), np.array(v, dtype="<i8"))

    def sattrs(name, v):
        return enc_object(0, name, h5py.string_dtype("utf-8"), (len(v),), np.array(v, dtype=object))

    common = (attr("format", "mpiscore-model") + iattr("format_version", 1) +
              attr("link", "identity") + iattr("n_features", 2) + sattrs("feature_names", ["a", "b"]) +
              sattrs("output_names", ["score"]))
    tree = (bytes([0]) + common + attr("kind", "tree_ensemble") + attr("split_rule", "lt") +
            attr("missing", "route") + attr("aggregate", "sum") + attr("accumulate", "float32") +
            enc_object(2, "/trees/node_offset", np.dtype("<i8"), (2,), [0, 3]) +
            enc_object(2, "/trees/feature", np.dtype("<i4"), (3,), [1, -1, -1]) +
            enc_object(2, "/trees/threshold", np.dtype("<f8"), (3,), [0.5, 0, 0]) +
            enc_object(2, "/trees/left", np.dtype("<i4"), (3,), [1, -1, -1]) +
            enc_object(2, "/trees/right", np.dtype("<i4"), (3,), [2, -1, -1]) +
            enc_object(2, "/trees/missing_left", np.dtype("<i1"), (3,), [1, 0, 0]) +
            enc_object(2, "/trees/value", np.dtype("<f8"), (3,), [0, -1.5, 2.5]) +
            enc_object(2, "/trees/tree_output", np.dtype("<i4"), (1,), [0]) +
            enc_object(2, "/trees/base_score", np.dtype("<f8"), (1,), [0.5]))
    put("model", "hand-tree", tree)
    cyc = tree.replace(enc_object(2, "/trees/left", np.dtype("<i4"), (3,), [1, -1, -1]),
                       enc_object(2, "/trees/left", np.dtype("<i4"), (3,), [0, -1, -1]))
    put("model", "hand-tree-cycle", cyc)
    mlp = (bytes([8]) + common + attr("kind", "mlp") + attr("activation", "relu") +
           iattr("n_layers", 2) +
           enc_object(2, "/mlp/weight_0", np.dtype("<f4"), (2, 2), [[1, -1], [0.5, 2]]) +
           enc_object(2, "/mlp/bias_0", np.dtype("<f4"), (2,), [0, 1]) +
           enc_object(2, "/mlp/weight_1", np.dtype("<f4"), (1, 2), [[1, 1]]) +
           enc_object(2, "/mlp/bias_1", np.dtype("<f4"), (1,), [0]))
    put("model", "hand-mlp", mlp)
    linear_nan = (bytes([0]) + common + attr("kind", "linear") +
                  enc_object(2, "/linear/coef", np.dtype("<f8"), (1, 2), [[1, np.nan]]) +
                  enc_object(2, "/linear/intercept", np.dtype("<f8"), (1,), [1e300]))
    put("model", "hand-linear-nan", linear_nan)
    put("model", "not-a-model", bytes([0]) + enc_object(2, "/x", np.dtype("<i8"), (3,), [0, 1, 2]))


# ---- xgb -------------------------------------------------------------------


def xgb_seeds(tmp):
    import xgboost as xgb

    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 3))
    x[::17, 1] = np.nan  # missing values: default directions in the trees
    ys = {
        "binary-logistic": ("binary:logistic", (x[:, 0] > 0).astype(int), {}),
        "multi-softprob": ("multi:softprob", np.digitize(x[:, 0], [-0.5, 0.5]), {"num_class": 3}),
        "squarederror": ("reg:squarederror", np.nan_to_num(x[:, 1]) * 2 + x[:, 2], {}),
        "poisson": ("count:poisson", rng.poisson(2, size=300), {}),
    }
    # categorical splits: feature a holds category codes
    ys["categorical"] = ("reg:squarederror", np.floor(np.abs(x[:, 0]) * 4) % 3, {})
    for name, (objective, y, extra) in ys.items():
        params = {"objective": objective, "max_depth": 2, "eta": 0.5, "seed": 0,
                  "tree_method": "exact", **extra}
        xs, types = x, None
        if name == "categorical":
            xs = np.c_[np.floor(np.abs(x[:, 0]) * 4), x[:, 1:]]
            types = ["c", "q", "q"]
            params.update(tree_method="hist", max_cat_to_onehot=1)
        dtrain = xgb.DMatrix(xs, label=y, feature_names=["a", "b", "c"], feature_types=types,
                             enable_categorical=types is not None)
        booster = xgb.train(params, dtrain, num_boost_round=2)
        p = os.path.join(tmp, name + ".json")
        booster.save_model(p)
        with open(p, "rb") as f:
            put("xgb", name, f.read())

    # every key the seeds use, the names the importer knows, JSON's words
    keys = set()

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                keys.add(k)
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    for name in ys:
        with open(os.path.join(HERE, "corpus", "xgb", name)) as f:
            walk(json.load(f))
    words = ["binary:logistic", "binary:logitraw", "count:poisson", "multi:softmax",
             "multi:softprob", "reg:absoluteerror", "reg:gamma", "reg:logistic",
             "reg:pseudohubererror", "reg:squarederror", "reg:squaredlogerror", "reg:tweedie",
             "gbtree", "dart", "gblinear"]
    with open(os.path.join(HERE, "xgb.dict"), "w") as f:
        f.write("# libFuzzer dictionary for fuzz_xgb (written by make_corpus.py)\n")
        for k in sorted(keys) + words:
            f.write('"\\"%s\\""\n' % k)
        for w in ["true", "false", "null", "NaN", "Infinity", "1e39", "-1", "[]", "{}", "\\\"", ":", ","]:
            f.write('"%s"\n' % w)


# ---- journal ---------------------------------------------------------------

FIXED_FP = ("model /data/m.h5 fnv64=00000000000000ff\n"
            "input /data/in.csv size=3 mtime_ns=4\n"
            "options --mini-batch-rows/--id-column/--delimiter/--dataset/--on-error rows=10 "
            "bytes=0 id=row_id delim=44 dataset=/features continue=0\n")


def fnv64(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def record(*v):
    body = "R " + " ".join(str(x) for x in v)
    return "%s %016x\n" % (body, fnv64(body.encode()))


def journal_seeds():
    head = "mpiscore-journal 1\n" + FIXED_FP + "end\n"
    r1 = record(1, 0, 120, 11, 10, 0, 230, 0, 1)
    r2 = record(2, 0, 240, 21, 20, 1, 460, 80, 2)
    put("journal", "header-only", head)
    put("journal", "records", head + r1 + r2)
    put("journal", "torn-tail", head + r1 + r2[:20])
    put("journal", "bad-checksum", head + r1 + r2.replace("460", "461"))
    put("journal", "extremes", head + record(2**64 - 1, 2**32 - 1, -2**63, 2**64 - 1, 0, 0,
                                               2**63, 1, 2**64 - 1))
    put("journal", "other-fingerprint",
        "mpiscore-journal 1\nmodel /other.h5 fnv64=0000000000000001\nend\n" + r1)
    put("journal", "no-end", "mpiscore-journal 1\n" + FIXED_FP + r1)
    put("journal", "not-a-journal", "R 1 2 3\n")


def journal_from_run(mpiscore, tmp):
    """A journal as a real run leaves it after SIGTERM (tests/mpi/test_resume.sh)."""
    py = sys.executable
    subprocess.run([py, os.path.join(ROOT, "scripts", "make_dataset.py"), "synthetic", "--rows",
                    "20000", "--features", "3", "--out", tmp, "--format", "csv"], check=True,
                   stdout=subprocess.DEVNULL)
    out = os.path.join(tmp, "scores.csv")
    p = subprocess.Popen([mpiscore, "run", "--model", os.path.join(tmp, "model.h5"), "--input",
                          os.path.join(tmp, "data.csv"), "--output", out, "--id-column", "row_id",
                          "--mini-batch-rows", "10", "--journal-every", "0.01"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    jpath = out + ".journal"
    for _ in range(500):
        if os.path.exists(jpath) and open(jpath).read().count("\nR ") >= 3:
            break
        time.sleep(0.01)
    p.send_signal(signal.SIGTERM)
    p.wait()
    if not os.path.exists(jpath):
        raise SystemExit("the run left no journal")
    with open(jpath, "rb") as f:
        data = f.read()
    # keep it small: the header and the first records
    lines = data.split(b"\n")
    keep = b"\n".join(lines[:lines.index(b"end") + 5]) + b"\n"
    put("journal", "run-sigterm", keep)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpiscore", help="mpiscore binary: also record a journal from a real run")
    args = ap.parse_args()
    csv_seeds()
    float_seeds()
    journal_seeds()
    with tempfile.TemporaryDirectory() as tmp:
        model_seeds(tmp)
        xgb_seeds(tmp)
        if args.mpiscore:
            journal_from_run(os.path.abspath(args.mpiscore), tmp)


if __name__ == "__main__":
    main()
