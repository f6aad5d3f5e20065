"""Reference evaluator of mpiscore's model container, in plain numpy.

Reads a container with h5py and predicts following docs/formats.md, and
nothing else: it never looks at the estimator that was exported, so
comparing its predictions with the estimator's proves the exporter right,
and comparing them with `mpiscore run` checks the C loader and kernels.

    from container_ref import load, predict
    model = load("model.h5")
    out, labels = predict(model, X)      # X: rows x n_features, model order

or  container_ref.py MODEL.h5 IN.csv     (prints the outputs as CSV; the input
columns are matched to the model's features by header name)

A container with a preprocessing program (/prep) is run on the raw table
(predict_table, or run_prep for the features alone): numeric inputs in
float64, categorical cells matched exactly against the stored categories.

Inputs are rounded to float32 first for a float32 model (root attribute
precision, float32 when absent), as mpiscore's readers do. A row that
mpiscore would report as bad (inf, beyond float32, or NaN for a model that
cannot take missing values) gets NaN outputs and the label None. Everything
after the input rounding is computed in float64 (a float32 accumulator for
trees with accumulate = "float32"); weights of linear models and MLPs are
rounded to float32 as the loader does.
"""
import sys

import h5py
import numpy as np


def _str(v):
    if isinstance(v, bytes):
        return v.decode().rstrip("\0 ")
    if isinstance(v, np.ndarray):  # a 1-element array is a scalar string too
        return _str(v.reshape(-1)[0])
    return str(v)


def _strs(v):
    return [_str(x) for x in np.asarray(v).reshape(-1)]


class Model:
    pass


def load(path):
    """The container at `path` as a Model (attributes as in docs/formats.md)."""
    m = Model()
    with h5py.File(path, "r") as f:
        a = f.attrs
        if _str(a["format"]) != "mpiscore-model" or int(a["format_version"]) != 1:
            raise ValueError(f"{path}: not an mpiscore model version 1")
        m.kind = _str(a["kind"])
        m.link = _str(a["link"])
        m.n_features = int(a["n_features"])
        m.feature_names = _strs(a["feature_names"])
        m.output_names = _strs(a["output_names"])
        m.class_labels = _strs(a["class_labels"]) if "class_labels" in a else None
        m.precision = _str(a["precision"]) if "precision" in a else "float32"
        m.prep = _load_prep(f, path) if "prep" in f else None
        if len(m.feature_names) != m.n_features:
            raise ValueError(f"{path}: n_features and feature_names disagree")
        if m.kind == "linear":
            w = np.float32 if m.precision == "float32" else np.float64
            m.coef = np.atleast_2d(f["/linear/coef"][...]).astype(w).astype(np.float64)
            m.intercept = f["/linear/intercept"][...].astype(w).astype(np.float64)
            m.n_raw = m.coef.shape[0]
            m.allows_missing = False
        elif m.kind == "tree_ensemble":
            g = f["/trees"]
            m.node_offset = g["node_offset"][...].astype(np.int64)
            m.feature = g["feature"][...].astype(np.int64)
            m.threshold = g["threshold"][...].astype(np.float64)
            m.left = g["left"][...].astype(np.int64)
            m.right = g["right"][...].astype(np.int64)
            m.missing_left = g["missing_left"][...].astype(bool)
            m.base_score = np.atleast_1d(g["base_score"][...].astype(np.float64))
            m.n_raw = len(m.base_score)
            value = g["value"][...].astype(np.float64)
            m.value = value.reshape(len(m.feature), -1)
            m.leaf_width = m.value.shape[1]
            m.n_trees = len(m.node_offset) - 1
            if m.leaf_width == 1:
                m.tree_output = g["tree_output"][...].astype(np.int64)
            elif m.leaf_width == m.n_raw:
                m.tree_output = None
            else:
                raise ValueError(f"{path}: leaf_width {m.leaf_width} is neither 1 nor n_raw")
            m.split_rule = _str(a["split_rule"])
            m.missing = _str(a["missing"])
            m.aggregate = _str(a["aggregate"])
            m.accumulate = _str(a["accumulate"])
            for attr, ok in (("split_rule", ("lt", "le")), ("missing", ("route", "error")),
                             ("aggregate", ("sum", "mean")),
                             ("accumulate", ("float32", "float64"))):
                if getattr(m, attr) not in ok:
                    raise ValueError(f"{path}: {attr} = {getattr(m, attr)!r}")
            m.allows_missing = m.missing == "route"
            # categorical splits (optional): a bitset per node, bit c set =
            # category c goes right; other values left or where missing goes
            m.is_cat = None
            if "split_type" in g:
                m.is_cat = g["split_type"][...].astype(bool)
                m.cat_offset = g["cat_offset"][...].astype(np.int64)
                m.cat_bits = g["cat_bits"][...].astype(np.uint64)
                m.cat_other = _str(a["categorical_other"])
                m.cat_uint8 = _str(a.get("category_cast", "trunc")) == "uint8"
                if m.cat_other not in ("left", "missing"):
                    raise ValueError(f"{path}: categorical_other = {m.cat_other!r}")
                if (m.cat_offset[0] != 0 or m.cat_offset[-1] != len(m.cat_bits)
                        or np.any(np.diff(m.cat_offset) < 0)
                        or np.any(np.diff(m.cat_offset) > 524288)):
                    raise ValueError(f"{path}: /trees/cat_offset is out of range")
        elif m.kind == "mlp":
            m.activation = _str(a["activation"])
            n_layers = int(a["n_layers"])
            w = np.float32 if m.precision == "float32" else np.float64
            m.weights = [f[f"/mlp/weight_{i}"][...].astype(w).astype(np.float64)
                         for i in range(n_layers)]
            m.biases = [f[f"/mlp/bias_{i}"][...].astype(w).astype(np.float64)
                        for i in range(n_layers)]
            width = m.n_features
            for w, b in zip(m.weights, m.biases):
                if w.shape != (len(b), width):
                    raise ValueError(f"{path}: MLP shapes do not chain")
                width = len(b)
            m.n_raw = width
            m.allows_missing = False
        else:
            raise ValueError(f"{path}: unknown kind {m.kind!r}")
    return m


def _load_prep(f, path):
    """/prep as docs/formats.md "Preprocessing" describes it: (inputs,
    steps, outputs); inputs are (name, kind, categories, unknown)."""
    g = f["prep"]
    ins = []
    for k in range(int(g.attrs["n_inputs"])):
        gi = g[f"input_{k}"]
        kind = _str(gi.attrs["kind"])
        cats, unknown = None, None
        if kind == "categorical":
            unknown = _str(gi.attrs["unknown"])
            if "categories" in gi.attrs:
                cats = _strs(gi.attrs["categories"]) if len(gi.attrs["categories"]) else []
            else:
                cats = [float(v) for v in gi["categories"][...]]
        elif kind != "numeric":
            raise ValueError(f"{path}: /prep input {k}: kind {kind!r}")
        ins.append((_str(gi.attrs["name"]), kind, cats, unknown))
    steps = []
    nxt = len(ins)
    for s in range(int(g.attrs["n_steps"])):
        gs = g[f"step_{s}"]
        st = {"op": _str(gs.attrs["op"]), "in": gs["inputs"][...].astype(np.int64),
              "out": gs["outputs"][...].astype(np.int64)}
        if np.any(st["in"] >= nxt) or list(st["out"]) != list(range(nxt, nxt + len(st["out"]))):
            raise ValueError(f"{path}: /prep step {s}: bad slots")
        nxt += len(st["out"])
        for name, v in gs.items():
            if name not in ("inputs", "outputs"):
                st[name] = v[...]
        for name, v in gs.attrs.items():
            if name != "op":
                st[name] = _str(v) if isinstance(v, (str, bytes)) else int(v)
        steps.append(st)
    return ins, steps, g["outputs"][...].astype(np.int64)


def _codes(col, cats, unknown, name):
    """A raw column's cells as category codes (NaN missing, -1 unknown)."""
    index = {c: i for i, c in enumerate(cats)}
    out = np.empty(len(col))
    for r, v in enumerate(col):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out[r] = np.nan
            continue
        if cats and isinstance(cats[0], float):
            try:
                v = float(v)
            except (TypeError, ValueError):
                v = None
        else:
            v = str(v)
        code = index.get(v, -1)
        if code == -1 and unknown == "error":
            raise ValueError(f"column {name}: row {r}: unknown category {v!r}")
        out[r] = code
    return out


def input_columns(m, df):
    """The program's input slots from a raw table (pandas DataFrame)."""
    cols = []
    for name, kind, cats, unknown in m.prep[0]:
        if kind == "numeric":
            cols.append(np.asarray(df[name], dtype=np.float64))
        else:
            cols.append(_codes(list(df[name]), cats, unknown, name))
    return cols


def _entry(v, n, missing, unknown, table):
    if np.isnan(v):
        return missing
    if 0 <= v < n and v == np.floor(v):
        return table[int(v)]
    return unknown


def run_prep(m, cols):
    """Slots per docs/formats.md, from input columns (input_columns): the
    estimator's features as float64, rows x n_features."""
    ins, steps, outputs = m.prep
    slots = [np.asarray(c, dtype=np.float64) for c in cols]
    n = len(slots[0]) if slots else 0
    with np.errstate(all="ignore"):
        for st in steps:
            op, x = st["op"], [slots[i] for i in st["in"]]
            k, n_out = len(x), len(st["out"])
            if op == "scale":
                y = [((x[j] - st["center"][j]) / st["divisor"][j]) * st["factor"][j]
                     + st["offset"][j] for j in range(k)]
            elif op == "impute":
                y = [np.where(np.isnan(x[j]), st["fill"][j], x[j]) for j in range(k)]
            elif op == "indicator":
                y = [np.isnan(x[j]).astype(np.float64) for j in range(k)]
            elif op == "onehot":
                mp = st["map"]
                e = np.array([_entry(v, len(mp), st["missing"], st["unknown"], mp) for v in x[0]],
                             dtype=np.int64)
                y = [np.where(e == -2, np.nan, (e == o).astype(np.float64)) for o in range(n_out)]
            elif op == "lookup":
                t = st["table"]
                y = [np.array([_entry(v, len(t), st["missing_value"][0], st["unknown_value"][0], t)
                               for v in x[0]], dtype=np.float64)]
            elif op == "bins":
                off = np.concatenate([[0], np.cumsum(st["n_edges"])]).astype(int)
                y = []
                for j in range(k):
                    e = st["edges"][off[j]:off[j + 1]]
                    b = np.searchsorted(e, x[j], side="right").astype(np.float64)
                    y.append(np.where(np.isnan(x[j]), np.nan, b))
            elif op == "poly":
                p = st["powers"].reshape(n_out, k)
                y = []
                for t in range(n_out):
                    fac = [j for j in range(k) for _ in range(int(p[t, j]))]
                    v = np.ones(n)
                    for q, j in enumerate(reversed(fac)):
                        v = x[j].copy() if q == 0 else x[j] * v
                    y.append(v)
            elif op == "func":
                f = {"log1p": np.log1p, "log": np.log, "sqrt": np.sqrt, "exp": np.exp,
                     "expm1": np.expm1, "abs": np.abs}[st["name"]]
                y = [f(x[j]) for j in range(k)]
            elif op == "normalize":
                a = np.column_stack(x)
                if st["norm"] == "l1":
                    nr = np.zeros(n)
                    for j in range(k):
                        nr = nr + np.abs(x[j])
                elif st["norm"] == "l2":
                    nr = np.zeros(n)
                    for j in range(k):
                        nr = nr + x[j] * x[j]
                    nr = np.sqrt(nr)
                else:
                    nr = np.max(np.abs(a), axis=1)
                nr = np.where(nr == 0, 1.0, nr)
                y = [x[j] / nr for j in range(k)]
            else:
                raise ValueError(f"unknown op {op!r}")
            slots.extend(y)
    return np.column_stack([slots[i] for i in outputs]) if len(outputs) else np.zeros((n, 0))


def predict_table(m, df):
    """predict() from a raw table: through the program when there is one."""
    if m.prep is None:
        return predict(m, df[m.feature_names].to_numpy(dtype=np.float64))
    return predict(m, run_prep(m, input_columns(m, df)))


def _cat_go(m, nd, v, go):
    """go (left) for the categorical splits among nodes nd at values v."""
    c = m.is_cat[nd]
    lo = m.cat_offset[nd[c]]
    width = 32 * (m.cat_offset[nd[c] + 1] - lo)
    vc = v[c]
    if m.cat_uint8:  # scikit-learn's cast to uint8 (x86-64: int32 truncation, low byte)
        with np.errstate(invalid="ignore"):
            big = vc >= 2.0**31
            vc = np.where((vc >= 0) & ~big, np.trunc(np.where(big, 0, vc)) % 256,
                          np.where(big, 0.0, vc))
    with np.errstate(invalid="ignore"):
        inside = (vc >= 0) & (vc < width)
    code = np.where(inside, vc, 0).astype(np.int64)
    word = m.cat_bits[np.where(inside, lo + code // 32, 0)] if len(m.cat_bits) else 0
    right = inside & (((word >> (code % 32).astype(np.uint64)) & 1) == 1)
    other = m.missing_left[nd[c]] if m.cat_other == "missing" else True
    go[c] = np.where(inside, ~right, other)


def _tree_raw(m, x):
    n = len(x)
    rows = np.arange(n)
    kr = m.n_raw
    acc = np.zeros((n, kr))
    acc32 = np.tile(m.base_score.astype(np.float32), (n, 1))
    count = np.zeros(kr)
    for t in range(m.n_trees):
        base = m.node_offset[t]
        node = np.full(n, base)
        while True:
            f = m.feature[node]
            split = f >= 0
            if not split.any():
                break
            r, nd = rows[split], node[split]
            v = x[r, f[split]].astype(np.float64)
            thr = m.threshold[nd]
            with np.errstate(invalid="ignore"):
                go = v <= thr if m.split_rule == "le" else v < thr
            if m.is_cat is not None:
                _cat_go(m, nd, v, go)
            nan = np.isnan(v)
            go[nan] = m.missing_left[nd[nan]]
            node[split] = base + np.where(go, m.left[nd], m.right[nd])
        leaf = m.value[node]
        if m.tree_output is None:
            acc += leaf
            acc32 += leaf.astype(np.float32)
            count += 1
        else:
            k = m.tree_output[t]
            acc[:, k] += leaf[:, 0]
            acc32[:, k] += leaf[:, 0].astype(np.float32)
            count[k] += 1
    if m.accumulate == "float32":
        return acc32.astype(np.float64)
    if m.aggregate == "mean":
        acc = acc / np.maximum(count, 1)
    return m.base_score + acc


_ACT = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
}


def _raw(m, x):
    if m.kind == "linear":
        return x.astype(np.float64) @ m.coef.T + m.intercept
    if m.kind == "tree_ensemble":
        return _tree_raw(m, x)
    h = x.astype(np.float64)
    for i, (w, b) in enumerate(zip(m.weights, m.biases)):
        h = h @ w.T + b
        if i < len(m.weights) - 1:
            h = _ACT[m.activation](h)
    return h


def _expit(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _link(m, raw):
    if m.link == "identity":
        return raw
    if m.link == "logistic":
        s = _expit(raw)
        if m.n_raw == 1 and m.class_labels is not None and len(m.class_labels) == 2:
            return np.hstack([1.0 - s, s])
        return s
    if m.link == "softmax":
        e = np.exp(raw - raw.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if m.link == "ovr":
        s = _expit(raw)
        return s / s.sum(axis=1, keepdims=True)
    if m.link == "exp":
        return np.exp(raw)
    if m.link == "expm1":
        return np.expm1(raw)
    if m.link == "square":
        return np.square(raw)
    raise ValueError(f"unknown link {m.link!r}")


def predict(m, x):
    """(outputs, labels) for rows x (float values in the model's feature
    order): outputs float64 rows x n_outputs, NaN for bad rows; labels a
    list of class labels (None for bad rows), or None for a model without
    class_labels."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        x32 = x.astype(np.float32) if m.precision == "float32" else x
    bad = np.any(np.isinf(x32), axis=1)
    if not m.allows_missing:
        bad |= np.any(np.isnan(x32), axis=1)
    out = _link(m, _raw(m, x32))
    if out.shape[1] != len(m.output_names):
        raise ValueError(f"the model gives {out.shape[1]} outputs but names "
                         f"{len(m.output_names)}")
    out[bad] = np.nan
    labels = None
    if m.class_labels is not None:
        if out.shape[1] == 1 and len(m.class_labels) == 2:  # binary decision function
            idx = (out[:, 0] > 0).astype(int)
        else:
            idx = np.argmax(out, axis=1)
        labels = [None if b else m.class_labels[i] for i, b in zip(idx, bad)]
    return out, labels


def main():
    import pandas as pd

    if len(sys.argv) != 3:
        sys.exit("usage: container_ref.py MODEL.h5 IN.csv")
    m = load(sys.argv[1])
    df = pd.read_csv(sys.argv[2])
    out, labels = predict_table(m, df)
    res = pd.DataFrame(out, columns=m.output_names)
    if labels is not None:
        res["label"] = labels
    res.to_csv(sys.stdout, index=False, float_format="%.9g")


if __name__ == "__main__":
    main()
