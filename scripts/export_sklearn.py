#!/usr/bin/env python3
"""Export a trained scikit-learn estimator to mpiscore's model container.

  /usr/bin/python3 scripts/export_sklearn.py MODEL.pkl|MODEL.joblib OUT.h5 [--feature-names a,b,c]

or, from Python:  from export_sklearn import export; export(estimator, "out.h5")

Supported: LogisticRegression (binary, multinomial, one-vs-rest),
LinearRegression, Ridge (single and multi-output), SGDClassifier (log_loss
gives probabilities; other losses the decision function and the label),
SGDRegressor; DecisionTree, RandomForest and ExtraTrees classifiers and
regressors, GradientBoosting and HistGradientBoosting classifiers and
regressors (kind tree_ensemble); MLPClassifier and MLPRegressor (kind mlp).
The container format is described in docs/formats.md.

Feature names: the estimator's feature_names_in_ (set when it was fitted on
a DataFrame), else --feature-names, else f0..f{n-1}. Weights are positional,
so --feature-names that contradict feature_names_in_ are refused rather than
silently used or ignored. Exit status 2 on any error (unsupported estimator,
unreadable file, non-finite weights).
"""
import argparse
import hashlib
import os
import pickle
import sys

import h5py
import numpy as np
import sklearn
from sklearn.base import is_classifier
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                              GradientBoostingClassifier, GradientBoostingRegressor,
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import (LinearRegression, LogisticRegression, Ridge, SGDClassifier,
                                  SGDRegressor)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.validation import check_is_fitted

FORMAT = "mpiscore-model"
FORMAT_VERSION = 1


class ExportError(Exception):
    pass


def write_container(path, kind, link, feature_names, output_names, class_labels, source, arrays,
                    attrs=None, precision="float32"):
    """Write one container (docs/formats.md); shared by every exporter.

    arrays: {dataset path: numpy array}, e.g. {"/linear/coef": ...}.
    attrs: the kind's extra root attributes, e.g. {"split_rule": "le"}
    (str or int values). Strings go out as variable-length UTF-8, integers
    as int64, as the C loader reads them. The file appears under `path`
    only once complete, so a failed export never leaves a half-written
    model behind. precision: what the library predicts in (root attribute
    `precision`): "float64" for estimators that compute on float64 X
    (linear models, HistGradientBoosting, MLPs), "float32" for those that
    cast X to float32 themselves (DecisionTree, forests, GradientBoosting).
    """
    str_t = h5py.string_dtype("utf-8")
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        # the 1.8+ object header format: wide models carry more than ~4,000
        # feature names, too many for the default (64 KiB) attribute space
        with h5py.File(tmp, "w", libver=("v108", "latest"), userblock_size=512) as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = np.int64(FORMAT_VERSION)
            f.attrs["kind"] = kind
            f.attrs["link"] = link
            f.attrs["n_features"] = np.int64(len(feature_names))
            f.attrs.create("feature_names", [str(n) for n in feature_names], dtype=str_t)
            f.attrs.create("output_names", [str(n) for n in output_names], dtype=str_t)
            if class_labels is not None:
                f.attrs.create("class_labels", [str(c) for c in class_labels], dtype=str_t)
            f.attrs["source"] = source
            f.attrs["precision"] = precision
            for name, value in (attrs or {}).items():
                f.attrs[name] = np.int64(value) if isinstance(value, (int, np.integer)) else value
            for name, arr in arrays.items():
                f.create_dataset(name, data=np.asarray(arr))
        _seal(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _seal(path):
    """Write the checksum line into the 512-byte user block (docs/formats.md):
    mpiscore verifies it before libhdf5 reads a byte of the file."""
    with open(path, "r+b") as fp:
        body = fp.read()[512:]
        line = "mpiscore-model-checksum v1 sha256=%s length=%d\n" % (
            hashlib.sha256(body).hexdigest(), len(body))
        fp.seek(0)
        fp.write(line.encode("ascii").ljust(512, b"\0"))


def _names(est, feature_names):
    n = est.n_features_in_
    given = None if feature_names is None else [str(c) for c in feature_names]
    if hasattr(est, "feature_names_in_"):
        names = [str(c) for c in est.feature_names_in_]
        if given is not None and given != names:
            raise ExportError("--feature-names " + ",".join(given) + " differ from the names the "
                              "model was fitted with: " + ",".join(names))
    elif given is not None:
        names = given
    else:
        names = [f"f{i}" for i in range(n)]
    if len(names) != n:
        raise ExportError(f"{len(names)} feature names given but the model has {n} features")
    seen = set()
    for name in names:
        if not name:
            raise ExportError("empty feature name")
        if name in seen:
            raise ExportError(f'duplicate feature name "{name}"')
        seen.add(name)
    return names


def _source():
    return f"scikit-learn {sklearn.__version__}"


def _linear_arrays(coef, intercept):
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    intercept = np.broadcast_to(np.asarray(intercept, dtype=np.float64), (coef.shape[0],)).copy()
    # The loader refuses these too; saying so here points at the training
    # run (a diverged SGD) instead of at a container nobody can load.
    for name, a in (("coef_", coef), ("intercept_", intercept)):
        if not np.all(np.isfinite(a)):
            raise ExportError(f"{name} has NaN or infinite values (did training diverge?)")
        if np.any(np.abs(a) > np.finfo(np.float32).max):
            raise ExportError(f"{name} has values beyond float32's range")
    return {"/linear/coef": coef, "/linear/intercept": intercept}


def _classifier(est, path, names, probabilistic, ovr, scale=1.0):
    classes = [str(c) for c in est.classes_]
    arrays = _linear_arrays(np.asarray(est.coef_) * scale, np.asarray(est.intercept_) * scale)
    n_raw = arrays["/linear/coef"].shape[0]
    if probabilistic:
        outputs = [f"p_{c}" for c in classes]
        if n_raw == 1:
            link = "logistic"
        else:
            link = "ovr" if ovr else "softmax"
    else:
        link = "identity"
        outputs = ["decision"] if n_raw == 1 else [f"decision_{c}" for c in classes]
    write_container(path, "linear", link, names, outputs, classes, _source(), arrays,
                    precision="float64")


def _logistic_regression(est, path, names):
    # Mirrors LogisticRegression.predict_proba in scikit-learn 1.x.
    mc = getattr(est, "multi_class", "auto")
    binary = len(est.classes_) == 2
    ovr = mc == "ovr" or (mc == "auto" and (binary or est.solver == "liblinear"))
    if binary and not ovr:
        # Binary multinomial: predict_proba is softmax([-z, z]) = sigmoid(2z), so
        # doubling the weights lets the plain logistic link reproduce it.
        _classifier(est, path, names, True, False, scale=2.0)
    else:
        _classifier(est, path, names, True, ovr)


def _sgd_classifier(est, path, names):
    # SGD's predict_proba for log_loss is one-vs-rest normalised even with >2
    # classes; modified_huber probabilities use another formula, so every loss
    # but log_loss exports the decision function (the label still follows).
    probabilistic = est.loss in ("log_loss", "log")
    _classifier(est, path, names, probabilistic, True)


def _regressor(est, path, names):
    arrays = _linear_arrays(est.coef_, est.intercept_)
    n_raw = arrays["/linear/coef"].shape[0]
    outputs = ["score"] if n_raw == 1 else [f"score_{i}" for i in range(n_raw)]
    write_container(path, "linear", "identity", names, outputs, None, _source(), arrays,
                    precision="float64")


# --- tree ensembles (kind tree_ensemble) -----------------------------------

_F32_MAX = float(np.finfo(np.float32).max)


def _probability_outputs(classes):
    return [f"p_{c}" for c in classes]


def _score_outputs(n):
    return ["score"] if n == 1 else [f"score_{i}" for i in range(n)]


class _Forest:
    """Trees gathered in scoring order, flattened into the /trees/ arrays.

    Each tree comes as node arrays with local child indices (root = node 0)
    in the estimator's own numbers; add() turns them into the container's
    conventions (feature, left, right = -1 on leaves) and refuses what the
    loader would refuse, naming the tree and node, so the message points at
    the estimator rather than at a container nobody can load.
    """

    def __init__(self, est, leaf_width, precision="float32"):
        self.name = type(est).__name__
        self.leaf_width = leaf_width
        self.precision = precision
        self.trees = []

    def add(self, feature, threshold, left, right, missing_left, value, output=0):
        t = len(self.trees)
        leaf = np.asarray(left) < 0
        feature = np.where(leaf, -1, feature).astype(np.int64)
        left = np.where(leaf, -1, left).astype(np.int64)
        right = np.where(leaf, -1, right).astype(np.int64)
        threshold = np.where(leaf, 0.0, np.asarray(threshold, dtype=np.float64))
        value = np.asarray(value, dtype=np.float64).reshape(len(feature), self.leaf_width)
        value = np.where(leaf[:, None], value, 0.0)
        bad = np.flatnonzero(~leaf & np.isnan(threshold))
        if bad.size:
            raise ExportError(f"{self.name}: tree {t} node {bad[0]}: threshold is NaN")
        # float32 inputs: every threshold above float32's range (HGB's +inf
        # "split on missing" and 1e300 caps) sends every finite input left,
        # as FLT_MAX does with split rule le. Below the range no input goes
        # left, which no finite float32 threshold can say. float64 inputs
        # keep the thresholds as they are, +inf as DBL_MAX (same rule).
        top = _F32_MAX if self.precision == "float32" else np.finfo(np.float64).max
        bad = np.flatnonzero(~leaf & (threshold < -top))
        if bad.size:
            raise ExportError(f"{self.name}: tree {t} node {bad[0]}: threshold "
                              f"{threshold[bad[0]]:g} is below {self.precision}'s range")
        threshold = np.minimum(threshold, top)
        bad = np.flatnonzero(leaf & ~np.all(np.isfinite(value), axis=1))
        if bad.size:
            raise ExportError(f"{self.name}: tree {t} node {bad[0]}: leaf value is not finite "
                              "(did training diverge?)")
        self.trees.append((feature, threshold, left, right,
                           np.asarray(missing_left, dtype=np.int64), value, output))

    def arrays(self, base_score):
        base = np.atleast_1d(np.asarray(base_score, dtype=np.float64)).ravel()
        if not np.all(np.isfinite(base)):
            raise ExportError(f"{self.name}: the initial (base) score is not finite")
        if not self.trees:
            raise ExportError(f"{self.name} has no trees")
        cols = list(zip(*self.trees))
        sizes = [len(f) for f in cols[0]]
        value = np.concatenate(cols[5])
        out = {
            "/trees/node_offset": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            "/trees/feature": np.concatenate(cols[0]),
            "/trees/threshold": np.concatenate(cols[1]),
            "/trees/left": np.concatenate(cols[2]),
            "/trees/right": np.concatenate(cols[3]),
            "/trees/missing_left": np.concatenate(cols[4]),
            "/trees/value": value[:, 0] if self.leaf_width == 1 else value,
            "/trees/base_score": base,
        }
        if self.leaf_width == 1:
            out["/trees/tree_output"] = np.array(cols[6], dtype=np.int64)
        return out


def _tree_attrs(split_rule, missing, aggregate, accumulate="float64"):
    return {"split_rule": split_rule, "missing": missing, "aggregate": aggregate,
            "accumulate": accumulate}


def _add_sklearn_tree(forest, tree, value, output=0):
    # scikit-learn's tree_: children -1 on leaves (feature and threshold -2
    # there); the root is node 0 and X goes left when x <= threshold, with X
    # cast to float32 first, as mpiscore's inputs are. No missing values
    # before scikit-learn 1.3, hence missing = "error".
    t = tree.tree_
    forest.add(t.feature, t.threshold, t.children_left, t.children_right,
               np.zeros(t.node_count), value, output)


def _sklearn_trees(est, path, names):
    # A single tree, or a forest whose predict/predict_proba is the mean of
    # its trees' (forest predict_proba averages per-tree probabilities).
    trees = list(est.estimators_) if hasattr(est, "estimators_") else [est]
    aggregate = "mean" if hasattr(est, "estimators_") else "sum"
    name = type(est).__name__
    if is_classifier(est):
        if est.n_outputs_ != 1:
            raise ExportError(f"{name} with {est.n_outputs_} outputs (multi-output "
                              "classification) is not supported")
        classes = [str(c) for c in est.classes_]
        n = len(classes)
        forest = _Forest(est, n)
        for tree in trees:
            # tree_.value holds (weighted) class counts; predict_proba
            # divides each row by its sum (0 -> 1), done here per leaf.
            v = np.array(tree.tree_.value[:, 0, :n], dtype=np.float64)
            norm = v.sum(axis=1)[:, np.newaxis]
            norm[norm == 0.0] = 1.0
            _add_sklearn_tree(forest, tree, v / norm)
        write_container(path, "tree_ensemble", "identity", names, _probability_outputs(classes),
                        classes, _source(), forest.arrays(np.zeros(n)),
                        _tree_attrs("le", "error", aggregate))
        return
    n = est.n_outputs_
    forest = _Forest(est, n)
    for tree in trees:
        _add_sklearn_tree(forest, tree, tree.tree_.value[:, :, 0])
    write_container(path, "tree_ensemble", "identity", names, _score_outputs(n), None, _source(),
                    forest.arrays(np.zeros(n)), _tree_attrs("le", "error", aggregate))


def _gradient_boosting(est, path, names):
    # Mirrors BaseGradientBoosting._raw_predict in scikit-learn 1.2:
    # raw = init + sum over stages i of learning_rate * estimators_[i, k].
    from sklearn.ensemble._gb_losses import (BinomialDeviance, ExponentialLoss,
                                             MultinomialDeviance)

    name = type(est).__name__
    init = est.init_
    if not (isinstance(init, str) and init == "zero"):
        constant = isinstance(init, DummyRegressor) or (
            isinstance(init, DummyClassifier) and init.strategy != "stratified")
        if not constant:
            raise ExportError(f"{name}: the init estimator {type(init).__name__} does not predict "
                              "a constant (only init=None, 'zero' or a constant Dummy estimator "
                              "can be exported)")
    # The init prediction through the estimator's own code path (log-odds,
    # clipped priors, half log-odds for the exponential loss, ...).
    x0 = np.zeros((1, est.n_features_in_), dtype=np.float32)
    base = np.asarray(est._raw_predict_init(x0), dtype=np.float64)[0]
    scale = 1.0
    classes = None
    if is_classifier(est):
        classes = [str(c) for c in est.classes_]
        loss = est._loss
        if isinstance(loss, ExponentialLoss):
            # predict_proba = expit(2 raw): doubling is exact in binary, so
            # doubled leaves and base give the logistic link that raw.
            scale, link = 2.0, "logistic"
        elif isinstance(loss, BinomialDeviance):
            link = "logistic"
        elif isinstance(loss, MultinomialDeviance):
            link = "softmax"
        else:
            raise ExportError(f"{name}: loss {est.loss!r} is not supported")
        outputs = _probability_outputs(classes)
    else:
        link = "identity"  # every regression loss predicts the raw score
        outputs = ["score"]
    forest = _Forest(est, 1)
    lr = float(est.learning_rate)
    n_stages, n_raw = est.estimators_.shape
    for i in range(n_stages):
        for k in range(n_raw):
            tree = est.estimators_[i, k]
            # the product rounded as predict_stages rounds it, then doubled (exact)
            _add_sklearn_tree(forest, tree, (lr * tree.tree_.value[:, 0, 0]) * scale, k)
    write_container(path, "tree_ensemble", link, names, outputs, classes, _source(),
                    forest.arrays(base * scale), _tree_attrs("le", "error", "sum"))


def _hist_gradient_boosting(est, path, names):
    # Mirrors BaseHistGradientBoosting._raw_predict in scikit-learn 1.2: raw =
    # _baseline_prediction + sum of the predictors' leaf values (already
    # multiplied by the learning rate), iteration by iteration, tree k of an
    # iteration adding to score k; predictors compare x <= num_threshold in
    # float64 and send NaN where missing_go_to_left says.
    name = type(est).__name__
    link_name = type(est._loss.link).__name__
    links = {"IdentityLink": "identity", "LogLink": "exp", "LogitLink": "logistic",
             "MultinomialLogit": "softmax"}
    if link_name not in links:
        raise ExportError(f"{name}: loss {est.loss!r} ({link_name}) is not supported")
    link = links[link_name]
    classes = None
    if is_classifier(est):
        classes = [str(c) for c in est.classes_]
        outputs = _probability_outputs(classes)
    else:
        outputs = _score_outputs(est.n_trees_per_iteration_)
    forest = _Forest(est, 1, "float64")
    for i, iteration in enumerate(est._predictors):
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            cat = np.flatnonzero(~leaf & nodes["is_categorical"].astype(bool))
            if cat.size:
                f = names[nodes["feature_idx"][cat[0]]]
                raise ExportError(f'{name}: iteration {i} splits on categorical feature "{f}" '
                                  "(categorical splits are not supported)")
            left = np.where(leaf, -1, nodes["left"].astype(np.int64))
            forest.add(nodes["feature_idx"], nodes["num_threshold"], left, nodes["right"],
                       nodes["missing_go_to_left"], nodes["value"], k)
    write_container(path, "tree_ensemble", link, names, outputs, classes, _source(),
                    forest.arrays(est._baseline_prediction), _tree_attrs("le", "route", "sum"),
                    precision="float64")


# --- multi-layer perceptrons (kind mlp) -------------------------------------

def _mlp(est, path, names):
    # Mirrors BaseMultilayerPerceptron._forward_pass_fast: h = act(h @ W + b)
    # for hidden layers, then out_activation_, which the link takes over.
    name = type(est).__name__
    if est.activation not in ("identity", "logistic", "tanh", "relu"):
        raise ExportError(f"{name}: activation {est.activation!r} is not supported")
    arrays = {}
    for l, (w, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        for what, a in ((f"coefs_[{l}]", w), (f"intercepts_[{l}]", b)):
            a = np.asarray(a, dtype=np.float64)
            if not np.all(np.isfinite(a)):
                raise ExportError(f"{name}: {what} has NaN or infinite values "
                                  "(did training diverge?)")
            if np.any(np.abs(a) > _F32_MAX):
                raise ExportError(f"{name}: {what} has values beyond float32's range")
        # scikit-learn stores in x out; the container out x in
        arrays[f"/mlp/weight_{l}"] = np.ascontiguousarray(np.asarray(w, dtype=np.float64).T)
        arrays[f"/mlp/bias_{l}"] = np.asarray(b, dtype=np.float64)
    classes = None
    if is_classifier(est):
        y_type = est._label_binarizer.y_type_
        classes = [str(c) for c in est.classes_]
        if y_type == "multiclass" and est.out_activation_ == "softmax":
            link = "softmax"
        elif y_type == "binary" and est.out_activation_ == "logistic" and est.n_outputs_ == 1:
            link = "logistic"  # predict_proba = [1 - p, p]
        else:
            raise ExportError(f"{name} fitted on {y_type} targets is not supported "
                              "(multi-label)")
        outputs = _probability_outputs(classes)
    else:
        link = "identity"
        outputs = _score_outputs(est.n_outputs_)
    write_container(path, "mlp", link, names, outputs, classes, _source(), arrays,
                    {"activation": est.activation, "n_layers": len(est.coefs_)},
                    precision="float64")


# Estimator class -> writer(estimator, path, feature_names); new exporters
# add their entries here and reuse write_container.
WRITERS = {
    LogisticRegression: _logistic_regression,
    SGDClassifier: _sgd_classifier,
    LinearRegression: _regressor,
    Ridge: _regressor,
    SGDRegressor: _regressor,
    DecisionTreeClassifier: _sklearn_trees,
    DecisionTreeRegressor: _sklearn_trees,
    RandomForestClassifier: _sklearn_trees,
    RandomForestRegressor: _sklearn_trees,
    ExtraTreesClassifier: _sklearn_trees,
    ExtraTreesRegressor: _sklearn_trees,
    GradientBoostingClassifier: _gradient_boosting,
    GradientBoostingRegressor: _gradient_boosting,
    HistGradientBoostingClassifier: _hist_gradient_boosting,
    HistGradientBoostingRegressor: _hist_gradient_boosting,
    MLPClassifier: _mlp,
    MLPRegressor: _mlp,
}


def _writer_for(est):
    # Walk the MRO so user subclasses of a supported estimator export too.
    for cls in type(est).__mro__:
        if cls in WRITERS:
            return WRITERS[cls]
    return None


def export(estimator, path, feature_names=None):
    """Write `estimator` to the container at `path`; ExportError if it cannot."""
    writer = _writer_for(estimator)
    if writer is None:
        raise ExportError(f"{type(estimator).__name__} is not supported (supported: "
                          + ", ".join(sorted(c.__name__ for c in WRITERS)) + ")")
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise ExportError(f"{type(estimator).__name__} is not fitted") from None
    writer(estimator, path, _names(estimator, feature_names))


def _load(path):
    # Anything can go wrong unpickling (missing module, renamed class, a
    # protocol from a newer Python): all of it is "cannot load", exit 2.
    try:
        if path.endswith(".joblib"):
            import joblib

            return joblib.load(path)
        with open(path, "rb") as f:
            return pickle.load(f)
    except OSError as e:
        raise ExportError(e.strerror or str(e)) from None
    except Exception as e:  # noqa: BLE001 - reported, not swallowed
        raise ExportError(f"cannot load the estimator: {type(e).__name__}: {e}") from None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="pickled (.pkl) or joblib (.joblib) estimator")
    ap.add_argument("out", help="container to write (.h5)")
    ap.add_argument("--feature-names", help="comma-separated feature names")
    a = ap.parse_args()

    def fail(where, msg):
        print(f"export_sklearn: error: {where}: {msg}", file=sys.stderr)
        sys.exit(2)

    # Checked up front: h5py's own message for this names the temporary file.
    out_dir = os.path.dirname(a.out) or "."
    if not os.path.isdir(out_dir):
        fail(a.out, f"directory {out_dir} does not exist")
    try:
        est = _load(a.model)
        names = [n.strip() for n in a.feature_names.split(",")] if a.feature_names else None
        export(est, a.out, names)
    except ExportError as e:
        fail(a.model, e)
    except OSError as e:
        fail(a.out, e.strerror or e)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
