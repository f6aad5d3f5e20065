"""Fidelity of the other linear models (issue 11, "More estimators"): every
model whose prediction is X @ coef_ + intercept_ and a link, and searches
(GridSearchCV / RandomizedSearchCV export their best_estimator_);
LinearDiscriminantAnalysis (predict_proba), PCA (transform, whitened too,
alone on standardised data or after a StandardScaler) and
TransformedTargetRegressor (log/exp, log1p/expm1, sqrt/square as the
output link; a StandardScaler /
MinMaxScaler of y folded into a linear regressor). Train
here, export, compare container_ref (docs/formats.md) and
`mpirun -n 2 mpiscore run` (every ISA, CSV in, --precision float64) with
the library's predict / decision_function: within 1e-12 relative, labels
equal.

Usage: fidelity_linear_more.py WORKDIR   (env MPISCORE, MS_SRC)
Prints one line per case and ends with "N passed, M failed".
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn import linear_model as lm
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import LinearSVC, LinearSVR

sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "tests"))
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "tests", "fidelity"))
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "scripts"))
import container_ref  # noqa: E402
from checks import finish, isas, report  # noqa: E402
from export_sklearn import ExportError, export  # noqa: E402

warnings.filterwarnings("ignore")  # convergence warnings of the small fits
work = sys.argv[1]
mpiscore = os.environ["MPISCORE"]
TOL = 1e-12


def close(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False, f"shapes {a.shape} != {b.shape}"
    bad = ~(np.abs(a - b) <= TOL * np.maximum(1.0, np.abs(b)))
    if bad.any():
        i = tuple(np.argwhere(bad)[0])
        return False, f"at {i}: {a[i]!r} != {b[i]!r}"
    return True, ""


def expected(est, x):
    final = getattr(est, "best_estimator_", est)
    final = final.steps[-1][1] if hasattr(final, "steps") else final
    if isinstance(final, PCA):
        return est.transform(x), None
    if hasattr(est, "classes_"):
        if isinstance(final, (lm.LogisticRegression, LinearDiscriminantAnalysis)):
            return est.predict_proba(x), [str(c) for c in est.predict(x)]
        d = est.decision_function(x)
        return d.reshape(len(x), -1), [str(c) for c in est.predict(x)]
    return np.asarray(est.predict(x)).reshape(len(x), -1), None


def check(name, est, x, names):
    model = os.path.join(work, name + ".h5")
    try:
        export(est, model, feature_names=names)
    except ExportError as e:
        report(False, f"{name}: export: {e}")
        return
    df = pd.DataFrame(x, columns=names)
    want, labels = expected(est, df if hasattr(est, "feature_names_in_") else x)
    m = container_ref.load(model)
    out, got_labels = container_ref.predict_table(m, df)
    ok, why = close(out, want)
    report(ok and m.precision == "float64" and got_labels == labels,
           f"{name}: container_ref = library ({m.link}) {why}")
    csv = os.path.join(work, name + ".csv")
    df.insert(0, "id", [f"r{i}" for i in range(len(x))])
    df.to_csv(csv, index=False, float_format="%.17g")
    for isa in isas():
        out_csv = os.path.join(work, f"{name}_{isa}.csv")
        cmd = ["mpirun", "-n", "2", mpiscore, "run", "--model", model, "--input", csv,
               "--output", out_csv, "--overwrite", "--id-column", "id", "--mini-batch-rows",
               "37", "--precision", "float64"]
        r = subprocess.run(cmd, env=dict(os.environ, MPISCORE_ISA=isa), capture_output=True,
                           text=True)
        if r.returncode != 0:
            report(False, f"{name} [{isa}]: exit {r.returncode}: {r.stderr.strip()}")
            continue
        res = pd.read_csv(out_csv, keep_default_na=False, dtype={"label": str})
        ok, why = close(res.iloc[:, 1:1 + want.shape[1]].to_numpy(dtype=np.float64), want)
        if ok and labels is not None:
            ok = list(res["label"].astype(str)) == labels
            why = "" if ok else "labels differ"
        report(ok, f"{name} [mpirun -n 2, {isa}]: = library {why}")


def main():
    rng = np.random.default_rng(3)
    names = ["sqft", "rooms", "age", "lat", "income"]
    xr, yr = make_regression(n_samples=400, n_features=5, noise=5.0, random_state=0)
    xr = xr * np.array([800.0, 2.0, 15.0, 0.1, 3e4]) + np.array([2000, 4, 30, 47.5, 6e4])
    yr = yr * 1e3 + 5e5
    xs = StandardScaler().fit_transform(xr)
    ypos = np.exp(0.3 * xs[:, 0] - 0.2 * xs[:, 1] + 0.1 * rng.normal(size=len(xs)))
    xc, yc = make_classification(n_samples=400, n_features=5, n_informative=4, n_redundant=0,
                                 n_classes=3, random_state=0)
    yb = (yc == 1).astype(int)
    regressors = [
        ("lasso", lm.Lasso(alpha=0.5)), ("lasso_cv", lm.LassoCV(cv=3)),
        ("elasticnet", lm.ElasticNet(alpha=0.1, l1_ratio=0.3)),
        ("elasticnet_cv", lm.ElasticNetCV(cv=3, l1_ratio=[0.2, 0.8])),
        ("ridge_cv", lm.RidgeCV(alphas=[0.1, 1.0, 10.0])),
        ("huber", lm.HuberRegressor(max_iter=500)), ("bayesian_ridge", lm.BayesianRidge()),
        ("lars", lm.Lars()), ("linear_svr", LinearSVR(max_iter=5000, random_state=0)),
    ]
    for name, est in regressors:
        x = xs if name in ("huber", "linear_svr") else xr
        check(name, est.fit(x, yr), x, names)
    for name, est in [("poisson", lm.PoissonRegressor(alpha=0.01)),
                      ("gamma", lm.GammaRegressor(alpha=0.01)),
                      ("tweedie_log", lm.TweedieRegressor(power=1.5, alpha=0.01)),
                      ("tweedie_identity", lm.TweedieRegressor(power=0, alpha=0.01))]:
        check(name, est.fit(xs, ypos), xs, names)
    for y, kind in ((yb, "binary"), (yc, "3class")):
        for name, est in [("linear_svc", LinearSVC(max_iter=5000, random_state=0)),
                          ("ridge_classifier", lm.RidgeClassifier()),
                          ("ridge_classifier_cv", lm.RidgeClassifierCV()),
                          ("perceptron", lm.Perceptron(random_state=0)),
                          ("passive_aggressive", lm.PassiveAggressiveClassifier(random_state=0))]:
            check(f"{name}_{kind}", est.fit(xc, y), xc, names)
    grid = GridSearchCV(lm.LogisticRegression(max_iter=1000), {"C": [0.1, 1.0]}, cv=3)
    check("grid_search", grid.fit(xc, yc), xc, names)
    rnd = RandomizedSearchCV(make_pipeline(StandardScaler(), lm.Ridge()),
                             {"ridge__alpha": [0.1, 1.0, 10.0]}, n_iter=2, cv=3, random_state=0)
    check("randomized_search_pipeline", rnd.fit(pd.DataFrame(xr, columns=names), yr), xr, names)
    for y, kind in ((yb, "binary"), (yc, "3class")):
        check(f"lda_{kind}", LinearDiscriminantAnalysis().fit(xc, y), xc, names)
    check("pca", PCA(n_components=3).fit(xs), xs, names)
    check("pca_whiten", PCA(n_components=4, whiten=True).fit(xs), xs, names)
    check("scaler_pca_pipeline", make_pipeline(StandardScaler(), PCA(n_components=5, whiten=True))
          .fit(pd.DataFrame(xr, columns=names)), xr, names)
    ttr = [("ttr_log_exp_ridge", lm.Ridge(), dict(func=np.log, inverse_func=np.exp), ypos),
           ("ttr_log_exp_mlp", MLPRegressor(hidden_layer_sizes=(8,), max_iter=500,
                                            random_state=0),
            dict(func=np.log, inverse_func=np.exp), ypos),
           ("ttr_log_exp_hgb", HistGradientBoostingRegressor(max_iter=20, random_state=0),
            dict(func=np.log, inverse_func=np.exp), ypos),
           ("ttr_log1p_expm1_ridge", lm.Ridge(), dict(func=np.log1p, inverse_func=np.expm1),
            ypos),
           ("ttr_sqrt_square_ridge", lm.Ridge(), dict(func=np.sqrt, inverse_func=np.square),
            ypos),
           ("ttr_standard_linear", lm.LinearRegression(), dict(transformer=StandardScaler()), yr),
           ("ttr_minmax_ridge", lm.Ridge(), dict(transformer=MinMaxScaler()), yr)]
    for name, reg, kw, y in ttr:
        est = TransformedTargetRegressor(regressor=reg, **kw).fit(xs, y)
        # the HGB and MLP containers are checked end to end, their /trees
        # and /mlp by their own tests
        check(name, est, xs, names)

    def refused(what, est, want):
        try:
            export(est, os.path.join(work, "refused.h5"), feature_names=names)
            report(False, f"{what}: exported")
        except ExportError as e:
            report(str(e) == want, f"{what} refused: {e}")

    refused("TransformedTargetRegressor(arctanh)",
            TransformedTargetRegressor(lm.Ridge(), func=np.arctanh, inverse_func=np.tanh,
                                       check_inverse=False).fit(xs, ypos / 10),
            "TransformedTargetRegressor: inverse_func 'tanh' is not supported (None, np.exp, "
            "np.expm1 or np.square, applied as the output link)")
    refused("TransformedTargetRegressor(StandardScaler, forest)",
            TransformedTargetRegressor(HistGradientBoostingRegressor(max_iter=5),
                                       transformer=StandardScaler()).fit(xs, yr),
            "TransformedTargetRegressor: transformer StandardScaler is not supported (a "
            "FunctionTransformer with inverse_func np.exp, np.expm1 or np.square, or a "
            "StandardScaler / MinMaxScaler of a linear regressor)")
    try:
        export(GridSearchCV(lm.Ridge(), {"alpha": [1.0]}, refit=False).fit(xr, yr),
               os.path.join(work, "refused.h5"))
        report(False, "search without refit: exported")
    except ExportError as e:
        report("has no best_estimator_" in str(e), f"search without refit refused: {e}")
    finish()


if __name__ == "__main__":
    main()
