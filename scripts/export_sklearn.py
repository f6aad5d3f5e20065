#!/usr/bin/env python3
"""Export a trained scikit-learn estimator to mpiscore's model container.

  /usr/bin/python3 scripts/export_sklearn.py MODEL.pkl|MODEL.joblib OUT.h5 [--feature-names a,b,c]

or, from Python:  from export_sklearn import export; export(estimator, "out.h5")

Supported: LogisticRegression (binary, multinomial, one-vs-rest),
LinearRegression, Ridge (single and multi-output), SGDClassifier (log_loss
gives probabilities; other losses the decision function and the label),
SGDRegressor; DecisionTree, RandomForest and ExtraTrees classifiers and
regressors, GradientBoosting and HistGradientBoosting classifiers and
regressors, Bagging of decision trees (kind tree_ensemble); MLPClassifier and MLPRegressor (kind mlp);
the other linear models with coef_ / intercept_ (LinearSVC, RidgeClassifier,
Perceptron, Lasso, ElasticNet and their CV forms, HuberRegressor, ...;
Poisson / Gamma / Tweedie regressors with their links); GridSearchCV and
RandomizedSearchCV export their best_estimator_; LinearDiscriminantAnalysis,
PCA (its transform) and TransformedTargetRegressor (inverse np.exp / expm1 /
square as the output link, or a scaler of y folded into a linear regressor).
A Pipeline ending in one of these exports with its preprocessing
(ColumnTransformer, StandardScaler, MinMaxScaler, MaxAbsScaler,
RobustScaler, SimpleImputer, OneHotEncoder, OrdinalEncoder,
KBinsDiscretizer, PolynomialFeatures, FunctionTransformer with a numpy
ufunc, Normalizer) as the container's preprocessing program; its last
step may also be an XGBClassifier / XGBRegressor (converted with
`mpiscore model import xgboost`: $MPISCORE or mpiscore on PATH).
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

    def add(self, feature, threshold, left, right, missing_left, value, output=0, cats=None):
        """cats: None, or per node None (numeric) or the categorical split's
        bitset, uint32 words (bit c set: category c goes right)."""
        t = len(self.trees)
        leaf = np.asarray(left) < 0
        feature = np.where(leaf, -1, feature).astype(np.int64)
        left = np.where(leaf, -1, left).astype(np.int64)
        right = np.where(leaf, -1, right).astype(np.int64)
        is_cat = np.array([c is not None for c in cats] if cats is not None else
                          np.zeros(len(feature), dtype=bool), dtype=bool)
        # a categorical split has no threshold (the container ignores it)
        threshold = np.where(leaf | is_cat, 0.0, np.asarray(threshold, dtype=np.float64))
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
        words = [np.zeros(0, np.uint32) if c is None else np.asarray(c, np.uint32)
                 for c in (cats if cats is not None else [None] * len(feature))]
        self.trees.append((feature, threshold, left, right,
                           np.asarray(missing_left, dtype=np.int64), value, output,
                           is_cat.astype(np.int64), words))

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
        if any(c.any() for c in cols[7]):
            words = [w for tree in cols[8] for w in tree]
            out["/trees/split_type"] = np.concatenate(cols[7])
            out["/trees/cat_offset"] = np.concatenate(
                [[0], np.cumsum([len(w) for w in words])]).astype(np.int64)
            out["/trees/cat_bits"] = (np.concatenate(words) if words else
                                      np.zeros(0)).astype(np.uint32)
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


def _bagging(est, path, names):
    # BaggingClassifier / BaggingRegressor of decision trees: the mean of
    # the trees' predict_proba / predict, each tree reading its own columns
    # (estimators_features_[i]), a forest whose split features are mapped
    # back to the model's; a tree that saw fewer classes adds to its own.
    name = type(est).__name__
    for e in est.estimators_:
        if not isinstance(e, (DecisionTreeClassifier, DecisionTreeRegressor)):
            raise ExportError(f"{name}: base estimator {type(e).__name__} is not supported "
                              "(decision trees only)")
        if e.n_outputs_ != 1:
            raise ExportError(f"{name} with {e.n_outputs_} outputs is not supported")
    classify = is_classifier(est)
    classes = [str(c) for c in est.classes_] if classify else None
    n = len(classes) if classify else 1
    forest = _Forest(est, n)
    for tree, feats in zip(est.estimators_, est.estimators_features_):
        t = tree.tree_
        feature = np.where(t.feature >= 0, np.asarray(feats)[np.maximum(t.feature, 0)], -1)
        if classify:
            v = np.array(t.value[:, 0, :], dtype=np.float64)
            norm = v.sum(axis=1)[:, np.newaxis]
            norm[norm == 0.0] = 1.0
            value = np.zeros((t.node_count, n))
            value[:, np.asarray(tree.classes_, dtype=np.int64)] = v / norm
        else:
            value = t.value[:, 0, 0]
        forest.add(feature, t.threshold, t.children_left, t.children_right,
                   np.zeros(t.node_count), value)
    outputs = _probability_outputs(classes) if classify else _score_outputs(1)
    write_container(path, "tree_ensemble", "identity", names, outputs, classes, _source(),
                    forest.arrays(np.zeros(n)), _tree_attrs("le", "error", "mean"))


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
    known, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
    for i, iteration in enumerate(est._predictors):
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            left = np.where(leaf, -1, nodes["left"].astype(np.int64))
            forest.add(nodes["feature_idx"], nodes["num_threshold"], left, nodes["right"],
                       nodes["missing_go_to_left"], nodes["value"], k,
                       _hgb_cat_bitsets(predictor, known, f_idx_map))
    attrs = _tree_attrs("le", "route", "sum")
    arrays = forest.arrays(est._baseline_prediction)
    if "/trees/split_type" in arrays:
        attrs["categorical_other"] = "missing"
        # the predictor casts the value to its uint8 bin type: 256 is category 0
        attrs["category_cast"] = "uint8"
    write_container(path, "tree_ensemble", link, names, outputs, classes, _source(), arrays,
                    attrs, precision="float64")


def _hgb_cat_bitsets(predictor, known, f_idx_map):
    # _predictor.pyx _predict_one_from_raw_data: a category in the node's
    # raw_left_cat_bitsets goes left, another known one (known_cat_bitsets
    # of its feature) right, an unknown one or a negative value where
    # missing values go. Over the 256 categories a bitset holds that is one
    # "goes right" bit each; values past them go where missing values go
    # (categorical_other = "missing").
    nodes = predictor.nodes
    cat = ~nodes["is_leaf"].astype(bool) & nodes["is_categorical"].astype(bool)
    if not cat.any():
        return None
    out = [None] * len(nodes)
    bit = np.arange(32, dtype=np.uint32)
    for n in np.flatnonzero(cat):
        left = predictor.raw_left_cat_bitsets[nodes["bitset_idx"][n]]
        kn = known[f_idx_map[nodes["feature_idx"][n]]]
        is_left = (left[:, None] >> bit) & 1
        is_known = (kn[:, None] >> bit) & 1
        right = np.where(is_left == 1, 0, np.where(is_known == 1, 1,
                                                   0 if nodes["missing_go_to_left"][n] else 1))
        out[n] = (right.astype(np.uint64) << bit).sum(axis=1).astype(np.uint32)
    return out


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


# --- more linear models, searches --------------------------------------------
#
# Every linear model whose prediction is X @ coef_.T + intercept_ (then a
# link) reuses _classifier / _regressor. Classifiers without probabilities
# export their decision function: the label follows from it as predict's
# does (binary: positive means classes_[1]; else the largest score).


def _decision_classifier(est, path, names):
    _classifier(est, path, names, False, True)


def _glm(est, path, names):
    # PoissonRegressor, GammaRegressor, TweedieRegressor: predict =
    # link^-1(X @ coef_ + intercept_); identity or log (-> exp) link.
    link_name = type(est._base_loss.link).__name__
    links = {"IdentityLink": "identity", "LogLink": "exp"}
    if link_name not in links:
        raise ExportError(f"{type(est).__name__}: link {link_name} is not supported")
    arrays = _linear_arrays(est.coef_, est.intercept_)
    write_container(path, "linear", links[link_name], names, ["score"], None, _source(), arrays,
                    precision="float64")


def _more_writers():
    from sklearn import linear_model as lm
    from sklearn.svm import LinearSVC, LinearSVR

    out = {c: _decision_classifier for c in (LinearSVC, lm.RidgeClassifier, lm.RidgeClassifierCV,
                                             lm.Perceptron, lm.PassiveAggressiveClassifier)}
    out.update({c: _regressor for c in (
        LinearSVR, lm.RidgeCV, lm.Lasso, lm.LassoCV, lm.ElasticNet, lm.ElasticNetCV, lm.Lars,
        lm.LarsCV, lm.LassoLars, lm.LassoLarsCV, lm.LassoLarsIC, lm.HuberRegressor,
        lm.BayesianRidge, lm.ARDRegression, lm.OrthogonalMatchingPursuit,
        lm.OrthogonalMatchingPursuitCV, lm.PassiveAggressiveRegressor, lm.QuantileRegressor,
        lm.TheilSenRegressor, lm.MultiTaskLasso, lm.MultiTaskElasticNet, lm.MultiTaskLassoCV,
        lm.MultiTaskElasticNetCV)})
    out.update({c: _glm for c in (lm.PoissonRegressor, lm.GammaRegressor, lm.TweedieRegressor)})
    return out


def _lda(est, path, names):
    # LinearDiscriminantAnalysis: decision = X @ coef_.T + intercept_;
    # predict_proba is expit of it (two classes) or its softmax.
    _classifier(est, path, names, True, False)


def _pca(est, path, names):
    # PCA.transform = (X - mean_) @ components_.T, / sqrt(explained_variance_)
    # when whitened: a linear model with one output per component.
    coef = np.asarray(est.components_, dtype=np.float64)
    if est.whiten:
        coef = coef / np.sqrt(est.explained_variance_)[:, None]
    mean = np.zeros(coef.shape[1]) if est.mean_ is None else np.asarray(est.mean_)
    arrays = _linear_arrays(coef, -(mean @ coef.T))
    write_container(path, "linear", "identity", names, [f"pc_{i}" for i in range(coef.shape[0])],
                    None, _source(), arrays, precision="float64")


# TransformedTargetRegressor: the inverse applied to the regressor's output.
# np.exp is the container's exp link; an affine scaler of y folds into a
# linear regressor's weights (its own outputs are then the scaled target).
_TTR_LINKS = {np.exp: "exp", np.expm1: "expm1", np.square: "square"}


def _transformed_target(est, path, names):
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

    what = "TransformedTargetRegressor"
    reg = _unwrap_search(est.regressor_)
    writer = _xgb_writer if _is_xgb(reg) else _writer_for(reg)
    if writer is None:
        raise ExportError(f"{what}: regressor {type(reg).__name__} is not supported")
    t = est.transformer_
    link, affine = None, None  # decided before anything is written
    if isinstance(t, FunctionTransformer):
        inv = t.inverse_func
        if inv is not None and inv not in _TTR_LINKS:
            raise ExportError(f"{what}: inverse_func {getattr(inv, '__name__', inv)!r} is not "
                              "supported (None, np.exp, np.expm1 or np.square, applied as the "
                              "output link)")
        link = _TTR_LINKS.get(inv)
    elif isinstance(t, (StandardScaler, MinMaxScaler)) and writer in (_regressor, _glm):
        if isinstance(t, StandardScaler):
            affine = (float(t.scale_[0]) if t.scale_ is not None else 1.0,
                      float(t.mean_[0]) if t.mean_ is not None else 0.0)
        else:  # inverse_transform: (y - min_) / scale_
            affine = (1.0 / float(t.scale_[0]), -float(t.min_[0]) / float(t.scale_[0]))
    else:
        raise ExportError(f"{what}: transformer {type(t).__name__} is not supported (a "
                          "FunctionTransformer with inverse_func np.exp, np.expm1 or np.square, "
                          "or a StandardScaler / MinMaxScaler of a linear regressor)")
    tmp = f"{path}.tmp{os.getpid()}.ttr"
    try:
        writer(reg, tmp, names)
        with h5py.File(tmp, "r+") as f:
            have = f.attrs["link"]
            have = have.decode() if isinstance(have, bytes) else str(have)
            if have != "identity" or len(f.attrs["output_names"]) != 1:
                raise ExportError(f"{what}: the regressor's output already has a link ({have})")
            if link:
                f.attrs["link"] = link
            if affine:
                f["/linear/coef"][...] = f["/linear/coef"][...] * affine[0]
                f["/linear/intercept"][...] = f["/linear/intercept"][...] * affine[0] + affine[1]
        _seal(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _extra_writers():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    from sklearn.ensemble import BaggingClassifier, BaggingRegressor

    return {LinearDiscriminantAnalysis: _lda, PCA: _pca, BaggingClassifier: _bagging,
            BaggingRegressor: _bagging,
            TransformedTargetRegressor: _transformed_target}


def _unwrap_search(est):
    """GridSearchCV / RandomizedSearchCV predict with best_estimator_."""
    from sklearn.model_selection._search import BaseSearchCV

    while isinstance(est, BaseSearchCV):
        if not hasattr(est, "best_estimator_"):
            raise ExportError(f"{type(est).__name__} has no best_estimator_ (refit=False, or "
                              "not fitted): export the estimator it found")
        est = est.best_estimator_
    return est


WRITERS.update(_more_writers())
WRITERS.update(_extra_writers())


def _writer_for(est):
    # Walk the MRO so user subclasses of a supported estimator export too.
    for cls in type(est).__mro__:
        if cls in WRITERS:
            return WRITERS[cls]
    return None


# --- pipelines and preprocessing programs (/prep) ---------------------------
#
# A Pipeline / ColumnTransformer becomes the container's preprocessing
# program (docs/formats.md "Preprocessing") in front of the final estimator,
# which its own writer exports as before. The transformers are first traced
# into a graph of column operations (_Prog), one node per step, on symbolic
# columns (_Ref); only then are kinds (number or category code), category
# dictionaries and slots decided, from what each column feeds: a raw column
# that reaches an encoder (through imputers only) is categorical, anything
# else is numeric. Encoders are not re-derived from their attributes: each
# fitted encoder is asked (transform) what it outputs for every category,
# for a missing value and for an unknown one, so drop / infrequent /
# handle_unknown / encoded_missing_value are the library's own answers.

_UNKNOWN_STR = "\x00mpiscore-unknown-category"
_FUNCS = {"log1p": np.log1p, "log": np.log, "sqrt": np.sqrt, "exp": np.exp, "expm1": np.expm1,
          "abs": np.abs}

class _Ref:
    """Column j of node `node`'s outputs."""

    def __init__(self, node, j):
        self.node, self.j = node, j


class _Node:
    def __init__(self, op, ins, n_out, **par):
        self.op, self.ins, self.n_out, self.par = op, list(ins), n_out, par
        self.outs = [_Ref(self, j) for j in range(n_out)]


def _is_missing(v):
    return v is None or (isinstance(v, float) and np.isnan(v)) or (
        isinstance(v, np.floating) and np.isnan(v))


def _cat_value(v):
    """A category as the dictionary holds it: str, or float for numbers."""
    if isinstance(v, (str, np.str_)):
        return str(v)
    if isinstance(v, (bool, np.bool_)):
        raise ExportError(f"boolean category {v!r} is not supported")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ExportError(f"category {v!r} is neither a string nor a number") from None


class _Prog:
    def __init__(self, names):
        self.names = names
        self.inputs = [_Node("input", [], 1, col=i) for i in range(len(names))]
        self.nodes = []

    def add(self, op, ins, n_out, **par):
        node = _Node(op, ins, n_out, **par)
        self.nodes.append(node)
        return node.outs

    # -- from the graph to the container

    def _root(self, ref):
        while ref.node.op == "impute":
            ref = ref.node.ins[ref.j]
        return ref.node.par["col"] if ref.node.op == "input" else None

    def emit(self, outputs):
        used, order = set(), []

        def visit(node):
            if id(node) in used:
                return
            used.add(id(node))
            for r in node.ins:
                visit(r.node)
            order.append(node)

        for r in outputs:
            visit(r.node)
        steps = [n for n in order if n.op != "input"]
        inputs = sorted((n for n in order if n.op == "input"), key=lambda n: n.par["col"])
        # kinds, from the consumers backwards
        need = {}

        def require(ref, kind, why):
            key = (id(ref.node), ref.j)
            have = need.get(key)
            if have and have[0] != kind:
                col = self._root(ref)
                what = f'column "{self.names[col]}"' if col is not None else "a column"
                uses = {have[0]: have[1], kind: why}
                raise ExportError(f"{what} is used both as a number ({uses['num']}) and as a "
                                  f"category ({uses['cat']}): this cannot be exported")
            need[key] = (kind, why)

        for r in outputs:
            require(r, "num", "the estimator's input")
        for node in reversed(steps):
            for j, r in enumerate(node.ins):
                if node.op in ("onehot_cat", "ordinal_cat"):
                    require(r, "cat", node.par["what"])
                elif node.op == "impute":
                    got = need.get((id(node), j))
                    if got:
                        require(r, got[0], got[1])
                elif node.op != "indicator":
                    require(r, "num", node.par.get("what", node.op))

        def kind(ref):
            return need.get((id(ref.node), ref.j), ("num", ""))[0]

        # dictionaries: every category an encoder knows and every value an
        # imputer fills in, per raw column
        cats = {}
        encoders_first = sorted(steps, key=lambda n: n.op == "impute")
        for node in encoders_first:
            for j, r in enumerate(node.ins):
                if kind(r) != "cat":
                    continue
                col = self._root(r)
                vals = cats.setdefault(col, [])
                if node.op in ("onehot_cat", "ordinal_cat"):
                    vals.extend(node.par["known"])
                elif node.op == "impute":
                    vals.append(node.par["fill"][j])
        dicts, unknown_error = {}, {}
        for col, vals in cats.items():
            seen, d = set(), []
            for v in vals:
                v = _cat_value(v)
                if v not in seen:
                    seen.add(v)
                    d.append(v)
            kinds = {isinstance(v, str) for v in d}
            if len(kinds) > 1:
                raise ExportError(f'column "{self.names[col]}" has both text and number categories')
            dicts[col] = d
            unknown_error[col] = False
        for node in steps:
            if node.op in ("onehot_cat", "ordinal_cat") and node.par["unknown"] == "error":
                unknown_error[self._root(node.ins[0])] = True

        slot = {}
        for k, n in enumerate(inputs):
            slot[(id(n), 0)] = k
        nxt = len(inputs)
        out_steps = []
        for node in steps:
            ins = [slot[(id(r.node), r.j)] for r in node.ins]
            par = node.par
            op, ds, at = node.op, {}, {}
            if op in ("onehot_cat", "ordinal_cat"):
                col = self._root(node.ins[0])
                code = {v: i for i, v in enumerate(dicts[col])}
                res = {_cat_value(v): e for v, e in par["probe"].items()}
                unk = par["unknown_result"]
                table = [res.get(v, unk) for v in dicts[col]]
                if op == "onehot_cat":
                    op = "onehot"
                    ds["map"] = np.array(table, dtype=np.int64)
                    at = {"missing": int(par["missing_result"]), "unknown": int(unk)}
                else:
                    op = "lookup"
                    ds["table"] = np.array(table, dtype=np.float64)
                    ds["missing_value"] = np.array([par["missing_result"]], dtype=np.float64)
                    ds["unknown_value"] = np.array([unk], dtype=np.float64)
            elif op == "onehot":
                ds["map"] = np.asarray(par["map"], dtype=np.int64)
                at = {"missing": int(par["missing"]), "unknown": int(par["unknown"])}
            elif op == "impute":
                fill = []
                for j, r in enumerate(node.ins):
                    v = par["fill"][j]
                    if kind(r) == "cat":
                        fill.append(float(dicts[self._root(r)].index(_cat_value(v))))
                    elif isinstance(v, (str, np.str_)):
                        raise ExportError(f"{par['what']}: fills text {v!r} into a column used "
                                          "as a number")
                    else:
                        fill.append(float(v))
                ds["fill"] = np.array(fill, dtype=np.float64)
            elif op == "scale":
                for k in ("center", "divisor", "factor", "offset"):
                    ds[k] = np.asarray(par[k], dtype=np.float64)
            elif op == "bins":
                ds["n_edges"] = np.array([len(e) for e in par["edges"]], dtype=np.int64)
                ds["edges"] = np.concatenate([np.asarray(e, dtype=np.float64)
                                              for e in par["edges"]] + [np.zeros(0)])
            elif op == "poly":
                ds["powers"] = np.asarray(par["powers"], dtype=np.int64).reshape(-1)
            elif op == "func":
                at = {"name": par["name"]}
            elif op == "normalize":
                at = {"norm": par["norm"]}
            for name, v in ds.items():
                if v.dtype == np.float64 and name not in ("table", "missing_value",
                                                          "unknown_value") \
                        and not np.all(np.isfinite(v)):
                    raise ExportError(f"{par.get('what', op)}: {name} has NaN or infinite values")
            out_steps.append((op, ins, list(range(nxt, nxt + node.n_out)), ds, at))
            for j in range(node.n_out):
                slot[(id(node), j)] = nxt + j
            nxt += node.n_out
        for r in outputs:
            if kind(r) == "cat" or (r.node.op == "impute" and kind(r.node.ins[r.j]) == "cat"):
                raise ExportError("a categorical column reaches the estimator without an encoder")
        ins = []
        for n in inputs:
            col = n.par["col"]
            if col in dicts:
                ins.append((self.names[col], "categorical", dicts[col],
                            "error" if unknown_error[col] else "code"))
            else:
                ins.append((self.names[col], "numeric", None, None))
        return ins, out_steps, [slot[(id(r.node), r.j)] for r in outputs]


def _write_prep(f, prog):
    ins, steps, outputs = prog
    str_t = h5py.string_dtype("utf-8")
    g = f.create_group("prep")
    g.attrs["n_inputs"] = np.int64(len(ins))
    g.attrs["n_steps"] = np.int64(len(steps))
    for k, (name, kind, cats, unknown) in enumerate(ins):
        gi = g.create_group(f"input_{k}")
        gi.attrs["name"] = name
        gi.attrs["kind"] = kind
        if kind == "categorical":
            gi.attrs["unknown"] = unknown
            if cats and isinstance(cats[0], str):
                gi.attrs.create("categories", cats, dtype=str_t)
            elif cats:
                gi.create_dataset("categories", data=np.array(cats, dtype=np.float64))
            else:
                gi.attrs.create("categories", [], dtype=str_t)
    for s, (op, si, so, ds, at) in enumerate(steps):
        gs = g.create_group(f"step_{s}")
        gs.attrs["op"] = op
        gs.create_dataset("inputs", data=np.array(si, dtype=np.int64))
        gs.create_dataset("outputs", data=np.array(so, dtype=np.int64))
        for name, v in ds.items():
            gs.create_dataset(name, data=v)
        for name, v in at.items():
            gs.attrs[name] = np.int64(v) if isinstance(v, int) else v
    g.create_dataset("outputs", data=np.array(outputs, dtype=np.int64))


# -- tracing transformers


def _probe_frame(enc, col, values, cats):
    """Rows that vary column `col` over `values`, the other columns fixed at
    a known category, shaped as the encoder was fitted (names or not)."""
    import pandas as pd

    cols = []
    for i, c in enumerate(cats):
        if i == col:
            v = list(values)
        else:
            known = [x for x in c if not _is_missing(x)]
            v = [known[0] if known else np.nan] * len(values)
        cols.append(np.array(v, dtype=object if c.dtype == object else np.float64))
    names = getattr(enc, "feature_names_in_", None)
    if names is not None:
        return pd.DataFrame({n: v for n, v in zip(names, cols)})
    if any(v.dtype == object for v in cols):
        return np.column_stack([v.astype(object) for v in cols])
    return np.column_stack(cols)


def _probe(enc, col, values, cats, block, onehot):
    """The encoder's output for each value of column `col`: the one-hot
    position (-1 none), or the ordinal value; "error" if it raises."""
    try:
        out = enc.transform(_probe_frame(enc, col, values, cats))
    except ValueError:
        return "error"
    if hasattr(out, "toarray"):
        out = out.toarray()
    out = np.asarray(out, dtype=np.float64)[:, block]
    if not onehot:
        return list(out[:, 0])
    res = []
    for row in out:
        hot = np.flatnonzero(row == 1.0)
        res.append(int(hot[0]) if hot.size == 1 and np.count_nonzero(row) == 1 else
                   (-1 if not np.any(row) else "bad"))
    if "bad" in res:
        raise ExportError(f"{type(enc).__name__}: column {col}: not a one-hot output")
    return res


def _encoder(enc, refs, prog, where, onehot):
    cats = [np.asarray(c) for c in enc.categories_]
    if onehot:
        sizes = list(enc._compute_n_features_outs())
    else:
        sizes = [1] * len(cats)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    outs = []
    for i, (c, r) in enumerate(zip(cats, refs)):
        block = slice(starts[i], starts[i + 1])
        known = [v for v in c if not _is_missing(v)]
        unknown = _UNKNOWN_STR if c.dtype == object and all(isinstance(v, str) for v in known) \
            else (float(np.max(np.asarray(known, dtype=np.float64))) + 12345.5 if known else 0.5)
        res = _probe(enc, i, known, cats, block, onehot) if known else []
        if res == "error":
            raise ExportError(f"{where}: cannot encode its own categories of column {i}")
        miss = _probe(enc, i, [np.nan], cats, block, onehot)
        unk = _probe(enc, i, [unknown], cats, block, onehot)
        err = -2 if onehot else np.nan
        what = where
        if sizes[i] == 0:
            continue
        outs += prog.add("onehot_cat" if onehot else "ordinal_cat", [r], sizes[i], what=what,
                         known=known, probe=dict(zip([_cat_value(v) for v in known], res)),
                         missing_result=err if miss == "error" else miss[0],
                         unknown_result=err if unk == "error" else unk[0],
                         unknown="error" if unk == "error" else "code")
    return outs


def _trace(est, refs, prog, where):
    """The output columns of transformer `est` applied to columns `refs`."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (FunctionTransformer, KBinsDiscretizer, MaxAbsScaler,
                                       MinMaxScaler, Normalizer, OneHotEncoder, OrdinalEncoder,
                                       PolynomialFeatures, RobustScaler, StandardScaler)

    k = len(refs)
    name = type(est).__name__
    if est is None or (isinstance(est, str) and est == "passthrough"):
        return list(refs)
    if isinstance(est, Pipeline):
        for i, (sname, step) in enumerate(est.steps):
            refs = _trace(step, refs, prog, f'{where} > step {i} ("{sname}")')
        return refs
    if isinstance(est, ColumnTransformer):
        outs = []
        for tname, trans, _cols in est.transformers_:
            idx = list(est._transformer_to_input_indices.get(tname, []))
            if not idx or (isinstance(trans, str) and trans == "drop"):
                continue
            outs += _trace(trans, [refs[i] for i in idx], prog, f'{where} > "{tname}"')
        return outs
    zeros, ones = np.zeros(k), np.ones(k)
    what = f"{where} ({name})"
    if isinstance(est, StandardScaler):
        return prog.add("scale", refs, k, what=what,
                        center=est.mean_ if est.with_mean else zeros,
                        divisor=est.scale_ if est.with_std else ones, factor=ones, offset=zeros)
    if isinstance(est, RobustScaler):
        return prog.add("scale", refs, k, what=what,
                        center=est.center_ if est.with_centering else zeros,
                        divisor=est.scale_ if est.with_scaling else ones, factor=ones,
                        offset=zeros)
    if isinstance(est, MaxAbsScaler):
        return prog.add("scale", refs, k, what=what, center=zeros, divisor=est.scale_,
                        factor=ones, offset=zeros)
    if isinstance(est, MinMaxScaler):
        if est.clip:
            raise ExportError(f"{what}: clip=True is not supported")
        return prog.add("scale", refs, k, what=what, center=zeros, divisor=ones,
                        factor=est.scale_, offset=est.min_)
    if isinstance(est, SimpleImputer):
        if not _is_missing(est.missing_values):
            raise ExportError(f"{what}: missing_values={est.missing_values!r} is not supported "
                              "(only NaN / None)")
        stats = list(est.statistics_)
        keep = [j for j in range(k) if est.strategy == "constant" or
                getattr(est, "keep_empty_features", False) or not _is_missing(stats[j])]
        fill = [0.0 if _is_missing(stats[j]) else stats[j] for j in keep]
        outs = prog.add("impute", [refs[j] for j in keep], len(keep), what=what, fill=fill)
        if est.add_indicator:
            feats = list(est.indicator_.features_)
            outs += prog.add("indicator", [refs[j] for j in feats], len(feats), what=what)
        return outs
    if isinstance(est, OneHotEncoder):
        return _encoder(est, refs, prog, what, True)
    if isinstance(est, OrdinalEncoder):
        return _encoder(est, refs, prog, what, False)
    if isinstance(est, KBinsDiscretizer):
        edges = [np.asarray(e, dtype=np.float64)[1:-1] for e in est.bin_edges_]
        b = prog.add("bins", refs, k, what=what, edges=edges)
        if est.encode == "ordinal":
            return b
        outs = []
        for j in range(k):
            n = int(est.n_bins_[j])
            outs += prog.add("onehot", [b[j]], n, what=what, map=list(range(n)), missing=-2,
                             unknown=-2)
        return outs
    if isinstance(est, PolynomialFeatures):
        p = np.asarray(est.powers_)
        return prog.add("poly", refs, p.shape[0], what=what, powers=p)
    if isinstance(est, FunctionTransformer):
        fn = [n for n, f in _FUNCS.items() if est.func is f]
        if est.func is None:
            return list(refs)
        if not fn or est.kw_args:
            raise ExportError(f"{what}: only FunctionTransformer(func=np.log1p, np.log, np.sqrt, "
                              "np.exp, np.expm1 or np.abs) without kw_args can be exported")
        return prog.add("func", refs, k, what=what, name=fn[0])
    if isinstance(est, Normalizer):
        return prog.add("normalize", refs, k, what=what, norm=est.norm)
    raise ExportError(f"{where}: {name} is not supported (supported steps: ColumnTransformer, "
                      "Pipeline, StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, "
                      "SimpleImputer, OneHotEncoder, OrdinalEncoder, KBinsDiscretizer, "
                      "PolynomialFeatures, FunctionTransformer (numpy ufuncs), Normalizer, "
                      "passthrough, drop)")


def _is_xgb(est):
    try:
        from xgboost.sklearn import XGBModel
    except ImportError:
        return False
    return isinstance(est, XGBModel)


def _xgb_writer(est, path, names):
    """An XGBClassifier / XGBRegressor as a pipeline's last step: its JSON
    through mpiscore's own importer (`mpiscore model import xgboost`, found
    as $MPISCORE, on PATH, or in the build tree next to this script)."""
    import shutil
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    exe = os.environ.get("MPISCORE") or shutil.which("mpiscore") or next(
        (p for p in (os.path.join(here, "..", "build", "mpiscore"),
                     os.path.join(here, "..", "..", "..", "bin", "mpiscore"))
         if os.access(p, os.X_OK)), None)
    if not exe:
        raise ExportError(f"{type(est).__name__}: exporting an XGBoost model needs the mpiscore "
                          "binary ($MPISCORE or on PATH)")
    js = f"{path}.json"
    try:
        est.save_model(js)
        cmd = [exe, "model", "import", "xgboost", js, "-o", path]
        if all("," not in n for n in names):
            cmd += ["--feature-names", ",".join(names)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise ExportError(f"{type(est).__name__}: {r.stderr.strip()}")
    finally:
        if os.path.exists(js):
            os.unlink(js)


def _is_pipeline(est):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    return isinstance(est, (Pipeline, ColumnTransformer))


def _export_pipeline(pipe, path, feature_names):
    from sklearn.pipeline import Pipeline

    if not isinstance(pipe, Pipeline):
        raise ExportError(f"a bare {type(pipe).__name__} has no estimator to score with: export "
                          "the Pipeline that ends with one")
    try:
        check_is_fitted(pipe)
    except NotFittedError:
        raise ExportError("the Pipeline is not fitted") from None
    steps = [(n, s) for n, s in pipe.steps]
    final_name, final = steps[-1]
    final = _unwrap_search(final)
    writer = _xgb_writer if _is_xgb(final) else _writer_for(final)
    if final is None or isinstance(final, str) or writer is None:
        raise ExportError(f'step {len(steps) - 1} ("{final_name}"): '
                          f"{type(final).__name__} is not a supported final estimator "
                          "(supported: " + ", ".join(sorted(c.__name__ for c in WRITERS)) + ")")
    names = _names(pipe, feature_names)
    prog = _Prog(names)
    refs = [n.outs[0] for n in prog.inputs]
    for i, (sname, step) in enumerate(steps[:-1]):
        refs = _trace(step, refs, prog, f'step {i} ("{sname}")')
    if len(refs) != final.n_features_in_:
        raise ExportError(f"the preprocessing gives {len(refs)} columns but {final_name} takes "
                          f"{final.n_features_in_}")
    try:
        est_names = [str(n) for n in pipe[:-1].get_feature_names_out()]
    except Exception:  # noqa: BLE001 - names are cosmetic, f0.. will do
        est_names = []
    if len(est_names) != len(refs) or len(set(est_names)) != len(est_names) or "" in est_names:
        est_names = [f"f{i}" for i in range(len(refs))]
    program = prog.emit(refs)
    tmp = f"{path}.tmp{os.getpid()}.est"
    try:
        writer(final, tmp, est_names)
        with h5py.File(tmp, "r+") as f:
            _write_prep(f, program)
        _seal(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _refuse_inner_step(est, feature_names):
    """A pipeline's last step alone scores its inputs as if raw (issue 11):
    names that all read "transformer__column" ("num__age") are a
    ColumnTransformer's outputs. All of them, so that a table with a few
    double-underscore column names of its own still exports."""
    fitted = getattr(est, "feature_names_in_", None)
    for names in (list(fitted) if fitted is not None else [], list(feature_names or [])):
        heads = []
        for n in (str(n) for n in names):
            head, sep, tail = n.partition("__")
            if not (sep and head and tail and head.replace("_", "a").isalnum()):
                break
            heads.append((n, head))
        else:
            if heads:
                n, head = heads[0]
                raise ExportError(f'feature "{n}" is an output of a ColumnTransformer step '
                                  f'("{head}"), as are all the others: {type(est).__name__} is '
                                  "the last step of a pipeline; export the whole Pipeline so its "
                                  "preprocessing runs too")


def export(estimator, path, feature_names=None):
    """Write `estimator` to the container at `path`; ExportError if it cannot."""
    estimator = _unwrap_search(estimator)
    if _is_pipeline(estimator):
        return _export_pipeline(estimator, path, feature_names)
    _refuse_inner_step(estimator, feature_names)
    writer = _xgb_writer if _is_xgb(estimator) else _writer_for(estimator)
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
