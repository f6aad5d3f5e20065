"""Fidelity of scikit-learn pipelines: train here on a telco-like mixed table
(string categoricals with spaces and parentheses, Yes/No flags, blanks,
numbers with NaN, unseen categories at scoring time), export every
pipeline shape with export_sklearn.py, then check on the raw scoring table:

  - the container's program (tests/fidelity/container_ref.py, written from
    docs/formats.md) gives the features pipeline[:-1].transform gives;
  - the C program (ms_prep_apply, through the prep_features driver) gives
    the reference evaluator's features, bit for bit;
  - container_ref's outputs equal the pipeline's predict_proba: exactly for
    float32 trees (RandomForest), within 1e-12 for float64 models, 1e-6 for
    XGBClassifier (exported through `mpiscore model import xgboost`);
  - `mpirun -n 2 mpiscore run` on the raw CSV (string columns as they are,
    blanks, an id column) gives predict_proba and predict too, for every
    ISA (1e-12; `--precision float64` output); and on HDF5 input for a
    pipeline of number columns. Rows mpiscore must refuse (a missing cell
    a program does not impute, for an estimator that takes no missing
    values) are bad rows, exactly those.

Usage: fidelity_pipelines.py WORKDIR   (env MS_SRC, MS_BUILD)
Prints one line per case and ends with "N passed, M failed".
"""
import os
import subprocess
import sys

import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from xgboost import XGBClassifier
from sklearn.preprocessing import (FunctionTransformer, KBinsDiscretizer, MaxAbsScaler,
                                   MinMaxScaler, Normalizer, OneHotEncoder, OrdinalEncoder,
                                   PolynomialFeatures, RobustScaler, StandardScaler)

sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "tests"))
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "tests", "fidelity"))
sys.path.insert(0, os.path.join(os.environ["MS_SRC"], "scripts"))
import container_ref  # noqa: E402
from checks import finish, isas, report  # noqa: E402
from export_sklearn import ExportError, export  # noqa: E402

work = sys.argv[1]
mpiscore = os.environ["MPISCORE"]
# the encoders warn about the unseen categories the scoring table has on purpose
warnings.filterwarnings("ignore", category=UserWarning)
driver = os.path.join(os.environ["MS_BUILD"], "tests", "prep_features")
TOL = 1e-12

CATS = {
    "gender": ["Female", "Male"],
    "Partner": ["Yes", "No"],
    "PhoneService": ["Yes", "No"],
    "MultipleLines": ["Yes", "No", "No phone service"],
    "InternetService": ["DSL", "Fiber optic", "No"],
    "Contract": ["Month-to-month", "One year", "Two year"],
    "PaymentMethod": ["Electronic check", "Mailed check", "Bank transfer (automatic)",
                      "Credit card (automatic)"],
}
CAT_COLS = list(CATS)
NUM_COLS = ["tenure", "MonthlyCharges", "TotalCharges"]


def table(n, seed, unseen):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"customerID": [f"{rng.integers(1000, 9999)}-XKQ{i}" for i in range(n)]})
    for c, v in CATS.items():
        df[c] = pd.Series(rng.choice(v, n, p=None), dtype=object)
    df["SeniorCitizen"] = rng.integers(0, 2, n)
    df["tenure"] = rng.integers(0, 73, n).astype(np.float64)
    df["MonthlyCharges"] = np.round(rng.uniform(18.25, 118.75, n), 2)
    df["TotalCharges"] = np.round(df["tenure"] * df["MonthlyCharges"] * rng.uniform(0.9, 1.1, n),
                                  2)
    # blanks: new customers' TotalCharges, a few unrecorded payment methods
    df.loc[rng.uniform(size=n) < 0.03, "TotalCharges"] = np.nan
    df.loc[rng.uniform(size=n) < 0.05, "PaymentMethod"] = np.nan
    df.loc[rng.uniform(size=n) < 0.04, "MonthlyCharges"] = np.nan
    if unseen:
        df.loc[rng.uniform(size=n) < 0.05, "InternetService"] = "Satellite"
        df.loc[rng.uniform(size=n) < 0.05, "PaymentMethod"] = "Crypto wallet"
    z = (0.8 * (df["Contract"] == "Month-to-month") + 0.6 * (df["InternetService"] == "Fiber optic")
         - 0.03 * df["tenure"] + 0.01 * df["MonthlyCharges"].fillna(60) - 0.5)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    return df, y


def num_pipe(*steps):
    return make_pipeline(SimpleImputer(strategy="median"), *steps)


def shapes():
    """(name, preprocessor builder, handles unknown categories)"""
    obj = make_column_selector(dtype_include=object)
    return [
        ("telco", lambda: ColumnTransformer([
            ("num", num_pipe(StandardScaler()), NUM_COLS),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore")), obj),
        ]), True),
        ("ordinal_passthrough", lambda: ColumnTransformer([
            ("ord", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                   encoded_missing_value=-2), CAT_COLS),
            ("imp", SimpleImputer(strategy="mean", add_indicator=True), ["TotalCharges",
                                                                        "MonthlyCharges"]),
        ], remainder="passthrough"), True),
        ("onehot_drop_first_error", lambda: ColumnTransformer([
            ("num", num_pipe(RobustScaler()), NUM_COLS),
            ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                  OneHotEncoder(drop="first", handle_unknown="error")), CAT_COLS),
            ("sen", OneHotEncoder(), ["SeniorCitizen"]),
        ]), False),
        ("onehot_infrequent", lambda: ColumnTransformer([
            ("num", num_pipe(MinMaxScaler()), NUM_COLS),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(drop="if_binary", min_frequency=0.3,
                                                handle_unknown="infrequent_if_exist")),
             CAT_COLS),
            ("few", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(max_categories=3,
                                                handle_unknown="infrequent_if_exist")),
             ["PaymentMethod"]),
        ]), True),
        ("bins_poly_func", lambda: ColumnTransformer([
            ("bins", make_pipeline(SimpleImputer(), KBinsDiscretizer(n_bins=4,
                                                                     encode="onehot-dense")),
             ["tenure"]),
            ("ordbins", make_pipeline(SimpleImputer(), KBinsDiscretizer(n_bins=5,
                                                                        encode="ordinal",
                                                                        strategy="uniform")),
             ["MonthlyCharges"]),
            ("poly", num_pipe(MaxAbsScaler(), PolynomialFeatures(degree=3)), ["tenure",
                                                                             "MonthlyCharges"]),
            ("log", make_pipeline(SimpleImputer(strategy="constant", fill_value=0),
                                  FunctionTransformer(np.log1p)), ["TotalCharges"]),
            ("norm", num_pipe(StandardScaler(), Normalizer()), NUM_COLS),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["Contract", "PaymentMethod"]),
        ]), True),
        ("funcs_norms", lambda: ColumnTransformer([
            ("log", num_pipe(FunctionTransformer(np.log)), ["MonthlyCharges"]),
            ("sqrt", num_pipe(FunctionTransformer(np.sqrt)), ["tenure"]),
            ("exp", num_pipe(StandardScaler(), FunctionTransformer(np.exp)), ["MonthlyCharges"]),
            ("expm1", num_pipe(MaxAbsScaler(), FunctionTransformer(np.expm1)), ["TotalCharges"]),
            ("l1", num_pipe(Normalizer(norm="l1")), NUM_COLS),
            ("max", num_pipe(RobustScaler(), Normalizer(norm="max")), NUM_COLS),
            ("cat", OneHotEncoder(handle_unknown="ignore", drop="if_binary"), ["Partner",
                                                                               "Contract"]),
        ]), True),
        ("nested", lambda: Pipeline([
            ("ct", ColumnTransformer([
                ("num", Pipeline([("inner", num_pipe(StandardScaler())),
                                  ("sq", FunctionTransformer(np.abs))]), NUM_COLS[:2]),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["InternetService", "Partner"]),
                ("drop", "drop", ["gender"]),
            ], remainder="drop")),
            ("pass", "passthrough"),
        ]), True),
    ]


ESTIMATORS = [
    ("logreg", lambda: LogisticRegression(max_iter=2000), "float64"),
    ("hgb", lambda: HistGradientBoostingClassifier(max_iter=25, random_state=0), "float64"),
    ("forest", lambda: RandomForestClassifier(n_estimators=15, max_depth=8, random_state=0),
     "float32"),
    ("mlp", lambda: MLPClassifier(hidden_layer_sizes=(8,), max_iter=400, random_state=0),
     "float64"),
    # through `mpiscore model import xgboost`; XGBoost's sigmoid is its own
    # float32 one: probabilities within 1e-6 (its margins are bit-exact,
    # tests/fidelity/test_xgboost.sh)
    ("xgb", lambda: XGBClassifier(n_estimators=20, max_depth=3, random_state=0), "float32"),
]
# what predict_proba is held to: exact (float32 trees: their float32), 1e-12
PROBA_TOL = {"forest": 0.0, "xgb": 1e-6}


def c_features(model, m, df, name):
    cols = container_ref.input_columns(m, df)
    path = os.path.join(work, name + "_cols.txt")
    with open(path, "w") as f:
        f.write(f"{len(df)}\n")
        for (iname, kind, _c, _u), c in zip(m.prep[0], cols):
            if kind == "numeric":
                f.write(" ".join("nan" if np.isnan(v) else repr(float(v)) for v in c) + "\n")
            else:  # the readers' codes: -1 missing, -2 unknown
                f.write(" ".join("-1" if np.isnan(v) else "-2" if v < 0 else str(int(v))
                                 for v in c) + "\n")
    out = os.path.join(work, name + "_features.txt")
    r = subprocess.run([driver, model, path, out], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"prep_features exited {r.returncode}: {r.stderr.strip()}")
    return np.loadtxt(out, delimiter=",", ndmin=2)


def same(a, b, rel):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False, f"shapes {a.shape} != {b.shape}"
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    bound = rel * np.maximum(1.0, np.abs(b))
    bad = ~(diff <= bound)
    if bad.any():
        i = np.argwhere(bad)[0]
        return False, f"at {tuple(i)}: {a[tuple(i)]!r} != {b[tuple(i)]!r}"
    return True, ""


def run(model, inp, out, isa, id_col):
    env = dict(os.environ, MPISCORE_ISA=isa)
    cmd = ["mpirun", "-n", "2", mpiscore, "run", "--model", model, "--input", inp, "--output",
           out, "--overwrite", "--id-column", id_col, "--mini-batch-rows", "37", "--precision",
           "float64", "--on-error", "continue", "--max-errors", "100%"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")


def takes_missing(model):
    r = subprocess.run([mpiscore, "model", "info", model], capture_output=True, text=True)
    return "imputes every missing value" in r.stdout or "missing:   route" in r.stdout or \
        "routes missing" in r.stdout


def end_to_end(name, model, m, pipe, rows, ids, allows_missing, tol=TOL, h5=False):
    """mpiscore on the raw rows, every ISA; bad rows exactly those with a
    missing number when the model takes none."""
    proba = pipe.predict_proba(rows)
    labels = [str(c) for c in pipe.predict(rows)]
    # without a program that imputes every missing value, a missing number
    # is a bad row for an estimator that takes none (docs/formats.md); a
    # missing category is the program's to encode
    # (a missing cell the program imputes is scored; one that reaches a
    # feature is refused, row by row)
    feats = container_ref.run_prep(m, container_ref.input_columns(m, rows))
    bad = np.zeros(len(rows), dtype=bool) if allows_missing else \
        ~np.isfinite(feats).all(axis=1)
    if h5:
        inp = os.path.join(work, f"{name}_{h5}_in.h5")
        write_h5(inp, rows, m, ids, h5)
        id_col = "ids"
    else:
        inp = os.path.join(work, name + "_in.csv")
        df = rows.copy()
        df.insert(0, "customerID", ids)
        df.to_csv(inp, index=False)
        id_col = "customerID"
    # string columns from HDF5 run on one ISA: the kernels' ISAs are the CSV runs' to cover
    got = None
    for isa in isas() if h5 in (False, "numbers") else isas()[-1:]:
        out = os.path.join(work, f"{name}_{isa}_{h5 or 'csv'}_out.csv")
        what = f"{name} [mpirun -n 2, {isa}, {h5 + ' h5' if h5 else 'csv'} in]"
        try:
            run(model, inp, out, isa, id_col)
            res = pd.read_csv(out, keep_default_na=False, dtype=str)
            vals = res.iloc[:, 1:1 + proba.shape[1]].replace("", "nan").to_numpy(dtype=np.float64)
            got_bad = np.isnan(vals).all(axis=1)
            ok = list(res.iloc[:, 0]) == [str(i) for i in ids] and np.array_equal(got_bad, bad)
            why = "" if ok else f"bad rows {np.flatnonzero(got_bad)[:5]} != {np.flatnonzero(bad)[:5]}"
            if ok and m.precision == "float32" and tol == 0:
                # a float32 model computes and writes float32 scores
                ok, why = same(vals[~bad], proba[~bad].astype(np.float32), 0.0)
            elif ok:
                ok, why = same(vals[~bad], proba[~bad], tol)
            if ok:
                ok = list(res["label"][~bad]) == [lab for lab, b in zip(labels, bad) if not b]
                why = "" if ok else "labels differ"
            report(ok, f"{what}: = predict_proba, {int(bad.sum())} bad rows {why}")
            got = res.iloc[:, 1:]
        except (RuntimeError, ValueError) as e:
            report(False, f"{what}: {e}")
    if not h5:
        parquet_same(name, model, inp, os.path.join(work, f"{name}_{isas()[-1]}_csv_out.csv"), id_col)
    return got


def parquet_same(name, model, csv, csv_out, id_col):
    """The same rows as Parquet (DuckDB writes it: string columns, nulls)
    score byte for byte as the CSV did."""
    pq = csv[:-4] + ".parquet"
    sql = (f"SELECT * FROM read_csv('{csv}', auto_type_candidates = ['BIGINT', 'DOUBLE', "
           "'VARCHAR'], sample_size = -1)")
    subprocess.run(["node", os.environ["MS_DUCKDB_ORACLE"], "write", pq, sql,
                    "compression zstd, row_group_size 2048"], check=True)
    out = os.path.join(work, f"{name}_parquet_out.csv")
    what = f"{name} [mpirun -n 2, parquet in]"
    try:
        run(model, pq, out, isas()[-1], id_col)
        with open(out, "rb") as a, open(csv_out, "rb") as b:
            ok = a.read() == b.read()
        report(ok, f"{what}: output = the CSV input's, byte for byte")
    except (RuntimeError, OSError) as e:
        report(False, f"{what}: {e}")


def write_h5(path, rows, m, ids, layout):
    """rows as HDF5: "numbers" a float64 /features matrix of every input;
    "fixed" the numeric inputs in /features and each string column a 1-D
    dataset of NUL-padded fixed-length strings (numpy "S"); "vlen" a table
    of 1-D datasets only (variable-length UTF-8 strings, numbers in their
    own dtype). A missing string is written "" (missing for mpiscore)."""
    import h5py

    names = [i[0] for i in m.prep[0]]
    strs = [c for c in names if rows[c].dtype == object]
    with h5py.File(path, "w") as f:
        mat = names if layout == "numbers" else [c for c in names if c not in strs]
        if layout != "vlen":
            d = f.create_dataset("features", data=rows[mat].to_numpy(dtype=np.float64))
            d.attrs["feature_names"] = mat
        for c in names if layout == "vlen" else strs:
            v = rows[c]
            if c in strs:
                v = v.fillna("").astype(str)
                data = (np.asarray(v, dtype=h5py.string_dtype()) if layout == "vlen"
                        else np.asarray(v, dtype="S30"))
            else:
                data = v.to_numpy()
            f.create_dataset(c, data=data)
        f.create_dataset("ids", data=np.asarray(ids, dtype=h5py.string_dtype() if
                                                isinstance(ids[0], str) else np.int64))


def unknown_rows(name, model, score, ids, known):
    """handle_unknown='error': an unseen category is a row error naming the
    file, line and column, as scikit-learn raises on it."""
    inp = os.path.join(work, name + "_unknown.csv")
    df = score.copy()
    df.insert(0, "customerID", list(ids))
    df.to_csv(inp, index=False)
    out = os.path.join(work, name + "_unknown_out.csv")
    try:
        run(model, inp, out, isas()[-1], "customerID")
        errs = pd.read_csv(out + ".errors.csv", keep_default_na=False, dtype=str)
        want = [i + 2 for i in np.flatnonzero(~known.to_numpy())]  # header is line 1
        unk = errs[errs["reason"].str.contains("unknown category")]
        lines = sorted(int(v) for v in unk["line"])
        cols = set(unk["column"])
        ok = lines == want and cols <= {"InternetService", "PaymentMethod"}
        report(ok, f"{name}: {len(want)} rows with unseen categories are row errors "
               f"(line, column) {'' if ok else (lines[:5], want[:5], cols)}")
        # the same rows as Parquet: the same errors, at the row within the
        # file (the CSV's line - 1), with the same columns and reasons
        parquet_same(name + "_unknown", model, inp, out, "customerID")
        perrs = pd.read_csv(os.path.join(work, name + "_unknown_parquet_out.csv.errors.csv"),
                            keep_default_na=False, dtype=str)
        got = [(int(ln), c, r) for ln, c, r in zip(perrs["line"], perrs["column"],
                                                   perrs["reason"])]
        exp = [(int(ln) - 1, c, r) for ln, c, r in zip(errs["line"], errs["column"],
                                                       errs["reason"])]
        report(got == exp and len(got) > 0, f"{name} [parquet in]: {len(got)} row errors at the "
               f"CSV's rows, columns and reasons {'' if got == exp else (got[:3], exp[:3])}")
    except (RuntimeError, ValueError, KeyError) as e:
        report(False, f"{name}: unknown categories: {type(e).__name__}: {e}")


def main():
    train, y = table(1500, 1, unseen=False)
    score, _ = table(600, 2, unseen=True)
    train = train.drop(columns="customerID")
    ids_all = score.pop("customerID")
    known = ~score["InternetService"].eq("Satellite") & ~score["PaymentMethod"].eq("Crypto wallet")
    for sname, build, handles_unknown in shapes():
        rows = score if handles_unknown else score[known].reset_index(drop=True)
        ids = list(ids_all if handles_unknown else ids_all[known])
        for ename, make, prec in ESTIMATORS:
            name = f"{sname}_{ename}"
            pipe = Pipeline([("prep", build()), ("model", make())]).fit(train, y)
            model = os.path.join(work, name + ".h5")
            try:
                export(pipe, model)
                m = container_ref.load(model)
                ok = m.precision == prec
                report(ok, f"{name}: precision {m.precision}")
                feats = container_ref.run_prep(m, container_ref.input_columns(m, rows))
                want = pipe[:-1].transform(rows)
                want = want.toarray() if hasattr(want, "toarray") else np.asarray(want)
                # numpy's own log/exp/sqrt and its summation order may differ
                # from the format's by an ulp
                inexact = sname in ("bins_poly_func", "funcs_norms")
                ok, why = same(feats, want, TOL if inexact else 0.0)
                report(ok, f"{name}: reference program = pipeline transform {why}")
                cf = c_features(model, m, rows, name)
                ok, why = same(cf, feats, 1e-15 if inexact else 0.0)
                report(ok, f"{name}: C program = reference program {why}")
                out, labels = container_ref.predict_table(m, rows)
                proba = pipe.predict_proba(rows)
                tol = PROBA_TOL.get(ename, TOL)
                ok, why = same(out, proba, tol)
                report(ok, f"{name}: container_ref = predict_proba {why}")
                lab_ok = list(labels) == [str(c) for c in pipe.predict(rows)]
                # a tie between probabilities within TOL may pick either label
                report(lab_ok or tol > 0, f"{name}: labels")
                missing_ok = ename in ("hgb", "xgb") or takes_missing(model)
                by_csv = end_to_end(name, model, m, pipe, rows, ids, missing_ok, tol)
                for layout in ("vlen", "fixed"):
                    by_h5 = end_to_end(name, model, m, pipe, rows, ids, missing_ok, tol, layout)
                    ok = by_csv is not None and by_h5 is not None and by_h5.equals(by_csv)
                    report(ok, f"{name}: {layout} strings from HDF5 = the CSV run, byte for byte")
                if not handles_unknown and ename == "logreg":
                    unknown_rows(name, model, score, ids_all, known)
            except (ExportError, RuntimeError, ValueError) as e:
                report(False, f"{name}: {type(e).__name__}: {e}")
    numeric_h5(train, y, score, ids_all)
    h5_bad_inputs(train, y, score)
    refusals(train, y)
    finish()


def numeric_h5(train, y, score, ids_all):
    """HDF5 input holds numbers: a pipeline of number columns (numeric
    categories included), scored from HDF5 as from CSV."""
    cols = NUM_COLS + ["SeniorCitizen"]
    pre = ColumnTransformer([("num", num_pipe(StandardScaler()), NUM_COLS),
                             ("sen", OneHotEncoder(handle_unknown="ignore"), ["SeniorCitizen"])])
    rows = score[cols].copy()
    rows.loc[rows.index[::13], "SeniorCitizen"] = 2  # unseen number category
    ids = list(range(len(rows)))
    for ename, make, _prec in ESTIMATORS:
        name = f"numeric_{ename}"
        pipe = Pipeline([("prep", pre), ("model", make())]).fit(train[cols], y)
        model = os.path.join(work, name + ".h5")
        try:
            export(pipe, model)
            m = container_ref.load(model)
            out, _ = container_ref.predict_table(m, rows)
            tol = PROBA_TOL.get(ename, TOL)
            ok, why = same(out, pipe.predict_proba(rows), tol)
            report(ok, f"{name}: container_ref = predict_proba {why}")
            end_to_end(name, model, m, pipe, rows, ids, True, tol, h5="numbers")
            end_to_end(name, model, m, pipe, rows, ids, True, tol)
        except (ExportError, RuntimeError, ValueError) as e:
            report(False, f"{name}: {type(e).__name__}: {e}")


def h5_bad_inputs(train, y, score):
    """HDF5 string columns a model cannot take, each refused with one exact
    line and exit 2, nothing written: a data set of the wrong length, a
    number where the model's strings go (tests/unit/test_h5_reader.c has
    the rest of the open errors); an unseen category under handle_unknown='error' stops the run at its row
    and column (and with --on-error continue is that row's error)."""
    import h5py

    name = "h5_bad"
    pipe = Pipeline([("prep", shapes()[2][1]()), ("model", LogisticRegression(max_iter=2000))])
    pipe.fit(train, y)
    model = os.path.join(work, name + ".h5")
    export(pipe, model)
    m = container_ref.load(model)
    rows = score.reset_index(drop=True)
    first = int(np.flatnonzero(rows["InternetService"].eq("Satellite") |
                               rows["PaymentMethod"].eq("Crypto wallet"))[0])
    col = "InternetService" if rows["InternetService"][first] == "Satellite" else "PaymentMethod"
    val = rows[col][first]

    def variant(tag, edit):
        path = os.path.join(work, f"{name}_{tag}.h5")
        write_h5(path, rows, m, list(range(len(rows))), "fixed")
        with h5py.File(path, "r+") as f:
            edit(f)
        return path

    def shorter(f):
        v = f["Contract"][:10]
        del f["Contract"]
        f["Contract"] = v

    def numeric(f):
        del f["Contract"]
        f["Contract"] = np.zeros(len(rows))

    n_mat = len([i for i in m.prep[0] if rows[i[0]].dtype != object])
    names = [i[0] for i in m.prep[0] if rows[i[0]].dtype == object]
    cases = [
        ("short", shorter, f"/Contract has 10 rows but /features has {len(rows)}"),
        ("numeric", numeric, '/Contract is a numeric dataset but the model\'s column "Contract" '
                             "holds string categories"),
        ("unknown", lambda f: None,
         f':{first + 1}:{n_mat + names.index(col) + 1}: unknown category "{val}" in column '
         f'"{col}"'),
    ]
    for tag, edit, want in cases:
        path = variant(tag, edit)
        out = os.path.join(work, f"{name}_{tag}_out.csv")
        r = subprocess.run([mpiscore, "run", "--model", model, "--input", path, "--output", out,
                            "--overwrite"], capture_output=True, text=True)
        line = f"mpiscore: error: {path}{'' if want.startswith(':') else ': '}{want}"
        ok = r.returncode == 2 and r.stderr.strip() == line and not os.path.exists(out)
        report(ok, f"HDF5 {tag}: exit {r.returncode}, {r.stderr.strip()!r}"
               + ("" if ok else f" (expected {line!r})"))
    try:
        run(model, variant("unknown", lambda f: None), os.path.join(work, name + "_cont.csv"),
            isas()[-1], "ids")
        errs = pd.read_csv(os.path.join(work, name + "_cont.csv.errors.csv"),
                           keep_default_na=False, dtype=str)
        known = ~rows["InternetService"].eq("Satellite") & ~rows["PaymentMethod"].eq(
            "Crypto wallet")
        want = [str(i + 1) for i in np.flatnonzero(~known.to_numpy())]
        ok = list(errs["line"]) == want and set(errs["column"]) <= {"InternetService",
                                                                      "PaymentMethod"}
        report(ok, f"HDF5 unseen categories with --on-error continue: {len(want)} row errors "
               "at their rows and columns")
    except (RuntimeError, ValueError, KeyError) as e:
        report(False, f"HDF5 unseen categories: {type(e).__name__}: {e}")


def refusals(train, y):
    from sklearn.preprocessing import SplineTransformer

    def refused(what, est, want, names=None):
        try:
            export(est, os.path.join(work, "refused.h5"), feature_names=names)
            report(False, f"refused: {what}: exported")
        except ExportError as e:
            report(want in str(e), f"refused: {what}: {e}")

    ct = ColumnTransformer([("num", num_pipe(SplineTransformer()), ["tenure"])])
    refused("unsupported step", Pipeline([("prep", ct), ("m", LogisticRegression())]).fit(train, y),
            'step 0 ("prep") > "num" > step 1 ("splinetransformer"): SplineTransformer is not '
            "supported")
    pipe = Pipeline([("prep", ColumnTransformer([("num", num_pipe(StandardScaler()), NUM_COLS)])),
                     ("m", LogisticRegression())]).fit(train, y)
    refused("bare last step", pipe[-1], 'feature "num__tenure" is an output of a '
            'ColumnTransformer step ("num")', names=list(pipe[:-1].get_feature_names_out()))
    pipe.set_output(transform="pandas")
    pipe.fit(train, y)
    refused("bare last step (pandas output)", pipe[-1], "export the whole Pipeline")
    refused("function", Pipeline([("f", FunctionTransformer(np.tanh)),
                                  ("m", LogisticRegression())]).fit(train[NUM_COLS].fillna(0), y),
            'step 0 ("f") (FunctionTransformer): only FunctionTransformer(func=np.log1p')
    both = ColumnTransformer([("num", StandardScaler(), ["SeniorCitizen"]),
                              ("cat", OneHotEncoder(), ["SeniorCitizen"])])
    refused("number and category", Pipeline([("prep", both), ("m", LogisticRegression())])
            .fit(train, y), 'column "SeniorCitizen" is used both as a number (step 0 ("prep") > '
            '"num" (StandardScaler)) and as a category (step 0 ("prep") > "cat" '
            "(OneHotEncoder))")
    # fitted on a numpy array: the inputs take --feature-names
    xs = train[NUM_COLS].fillna(0).to_numpy()
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(xs, y)
    path = os.path.join(work, "numpy_names.h5")
    export(pipe, path, feature_names=["t", "mc", "tc"])
    m = container_ref.load(path)
    out, _ = container_ref.predict_table(m, pd.DataFrame(xs, columns=["t", "mc", "tc"]))
    ok, why = same(out, pipe.predict_proba(xs), TOL)
    report(ok and [i[0] for i in m.prep[0]] == ["t", "mc", "tc"],
           f"a pipeline fitted on numpy takes --feature-names as its inputs {why}")
    # a table's own double-underscore names are not a transformer's outputs
    own = pd.DataFrame({"plan__tier": train["tenure"].fillna(0), "age": train["MonthlyCharges"]
                        .fillna(0)})
    try:
        export(LogisticRegression().fit(own, y), os.path.join(work, "own_names.h5"))
        report(True, "a column named plan__tier beside others exports")
    except ExportError as e:
        report(False, f"a column named plan__tier beside others: {e}")
    refused("no estimator", ColumnTransformer([("n", StandardScaler(), NUM_COLS)]).fit(train),
            "has no estimator to score with")


if __name__ == "__main__":
    main()
